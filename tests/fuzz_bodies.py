"""Seeded generator of hostile SQS bodies, and an independent check of what may reach the vendor.

Used by the pure parser fuzz (tests/unit/messaging/test_parser_fuzz.py) and by the fuzz through
the real handler (tests/integration/test_fuzz.py). Bodies start from the real samples in
events/requests and are mutated: wrong types, Unicode digits, trailing newlines, unpaired
surrogates, control characters, deep nesting, huge strings, NaN/Infinity and huge numbers,
duplicate keys, base64 with line breaks, URLs with spaces or NUL, MIME types with a newline,
numeric media fields, extra fields, envelopes (EventBridge, SNS, S3 pointer) wrapping garbage,
and raw text damage (truncation, flipped characters, a BOM).

`vendor_payload_problems` re-validates a vendor request with checks written apart from the
parser's (character loops and the standard library's own base64/URL code, no shared regexes).
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"
MEDIA_BUCKET_PLACEHOLDER = "{{MEDIA_BUCKET}}"
S3_POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"

# Unknown field names. The send-time options of issue 10 are known fields now: they have their own
# mutation ("send_time") with hostile and valid values. Those values are fixed strings (the fuzz stays
# deterministic): SendAt in the past or too far ahead, never one that would be scheduled.
EXTRA_FIELDS = ["Colour", "to", "BODY", "body", "Number", "MessageId", "__proto__", "", "Mms", "MmsBase64 "]

DIGIT_SETS = [
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",  # Arabic-Indic
    "\u09e6\u09e7\u09e8\u09e9\u09ea\u09eb\u09ec\u09ed\u09ee\u09ef",  # Bengali
    "\u0966\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f",  # Devanagari
    "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",  # fullwidth
]
CONTROL_CHARS = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f"]
UNICODE_SPACES = ["\u00a0", "\u1680", "\u2003", "\u2028", "\u2029", "\u3000", "\ufeff", "\u200b"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
INSTANTS = [
    "2020-01-01T00:00:00Z",  # past: sent now (SendAt), expired (ValidUntil)
    "2999-01-01T00:00:00+02:00",  # far ahead: rejected (SendAt), never expires (ValidUntil)
    "2020-01-01T00:00:00",  # naive
    "2020-01-01",
    "2020-13-01T00:00:00Z",
    "2020-01-01T00:00:00Z\n",
    "\u0662020-01-01T00:00:00Z",
    "",
    "now",
    1_800_000_000,
    None,
    ["2020-01-01T00:00:00Z"],
]
SEND_TIME_FIELDS = ["SendAt", "ValidUntil", "ValiditySeconds", "Priority", "DryRun", "FirstEnqueuedAt"]


def _raw(text: str) -> str:
    """A marker that `_dumps` replaces by raw JSON text (what json.dumps cannot produce)."""
    return f"\x00RAW\x00{text}\x00RAW\x00"


def _dumps(value: Any) -> str:
    """json.dumps (ASCII, NaN allowed as Python writes it), then raw fragments spliced in."""
    text = json.dumps(value)
    while '"\\u0000RAW\\u0000' in text:
        start = text.index('"\\u0000RAW\\u0000')
        end = text.index('\\u0000RAW\\u0000"', start + 1)
        fragment = json.loads(text[start : end + len('\\u0000RAW\\u0000"')])[len("\x00RAW\x00") : -len("\x00RAW\x00")]
        text = text[:start] + fragment + text[end + len('\\u0000RAW\\u0000"') :]
    return text


# Samples whose request the relay sends as it is (the others are refused by design).
VALID_SAMPLES = ("sms", "sms_without_key", "mms_url", "mms_base64", "mms_s3", "eventbridge", "sns")


def load_requests(media_bucket: str, names: tuple[str, ...] = VALID_SAMPLES) -> list[dict[str, Any]]:
    """The send requests of the named samples, envelopes peeled (EventBridge detail, SNS Message)."""
    requests: list[dict[str, Any]] = []
    for path in sorted((EVENTS / "requests").glob("*.json")):
        if path.stem not in names:
            continue
        data = json.loads(path.read_text().replace(MEDIA_BUCKET_PLACEHOLDER, media_bucket))
        if isinstance(data, dict) and "detail" in data:
            data = data["detail"]
        elif isinstance(data, dict) and data.get("Type") == "Notification":
            data = json.loads(data["Message"])
        if isinstance(data, dict) and "To" in data:
            requests.append(data)
    return requests


def sample_payloads() -> dict[str, bytes]:
    """Objects under events/s3, keyed as upload_media puts them in the media bucket."""
    root = EVENTS / "s3"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# Offloaded payloads the fuzz may point at (uploaded to the media bucket by the integration test).
GARBAGE_PAYLOADS: dict[str, bytes] = {
    "mms/fuzz/not-utf8.json": b"\xff\xfe\x00\xd8garbage\xff",
    "mms/fuzz/deep.json": b"[" * 5000 + b"]" * 5000,
    "mms/fuzz/nan.json": b'{"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": NaN}',
    "mms/fuzz/number.json": b"42",
    "mms/fuzz/pointer-loop.json": json.dumps(
        [S3_POINTER_CLASS, {"s3BucketName": "{{MEDIA_BUCKET}}", "s3Key": "mms/fuzz/pointer-loop.json"}]
    ).encode(),
    "mms/fuzz/surrogate.json": b'{"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "\\ud800"}',
}


def payload_objects(media_bucket: str) -> dict[str, bytes]:
    objects = {**sample_payloads(), **GARBAGE_PAYLOADS}
    return {
        key: data.replace(MEDIA_BUCKET_PLACEHOLDER.encode(), media_bucket.encode()) for key, data in objects.items()
    }


class BodyFuzzer:
    """Hostile SQS bodies from one seed. Every body is a str; `sqs_safe` keeps it to what SQS accepts."""

    def __init__(self, seed: int, media_bucket: str, *, sqs_safe: bool = False, max_string: int = 300_000) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.media_bucket = media_bucket
        self.sqs_safe = sqs_safe
        self.max_string = max_string
        self.bases = load_requests(media_bucket)
        self.count = 0

    # ---------------------------------------------------------------- values

    def unique_key(self) -> str:
        self.count += 1
        return f"fuzz-{self.seed}-{self.count}"

    def number(self) -> str:
        return "+1801" + "".join(self.rng.choice(string.digits) for _ in range(7))

    def hostile_number(self) -> Any:
        rng, valid = self.rng, self.number()
        digits = rng.choice(DIGIT_SETS)
        options: list[Callable[[], Any]] = [
            lambda: valid + rng.choice(["\n", "\r", "\r\n", " ", "\t", "\x00"]),
            lambda: rng.choice([" ", "\n", "\u00a0"]) + valid,
            lambda: "+1" + "".join(digits[int(c)] for c in valid[2:]),
            lambda: valid[:5] + digits[int(valid[5])] + valid[6:],
            lambda: "\uff0b" + valid[1:],
            lambda: valid[:5] + " " + valid[5:],
            lambda: valid[:5] + "-" + valid[5:],
            lambda: valid[1:],
            lambda: "+0" + valid[2:],
            lambda: "+12",
            lambda: valid + "1234",
            lambda: valid[:4] + rng.choice(SURROGATES) + valid[4:],
            lambda: int(valid[1:]),
            lambda: float(valid[1:]),
            lambda: [valid],
            lambda: {"Number": valid},
            self.hostile_value,
        ]
        return rng.choice(options)()

    def hostile_text(self) -> str:
        rng = self.rng
        options: list[Callable[[], str]] = [
            lambda: "Hello " + rng.choice(SURROGATES) + " there",
            lambda: "Hello" + rng.choice(CONTROL_CHARS),
            lambda: rng.choice(CONTROL_CHARS) + "Hello",
            lambda: "Hello" + rng.choice(UNICODE_SPACES),
            lambda: "".join(rng.choice([*UNICODE_SPACES, " ", "\t", "\n"]) for _ in range(rng.randint(0, 5))),
            lambda: "x" * rng.choice([1599, 1600, 1601, 5000, min(self.max_string, 150_000)]),
            lambda: "\U0001f600" * rng.randint(1, 900),
            lambda: "Caf\u00e9 \u201cquoted\u201d \u2014 \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d",
            lambda: "Line1\r\nLine2\tTabbed",
            lambda: "\ud83d",  # the first half of an emoji, alone
            lambda: "\ude00\ud83d",  # an emoji's halves, reversed
            lambda: "",
        ]
        return rng.choice(options)()

    def hostile_base64(self) -> Any:
        rng = self.rng
        raw = rng.randbytes(rng.choice([1, 2, 3, 4, 57, 58, 59, 100]))
        valid = base64.b64encode(raw).decode()
        options: list[Callable[[], Any]] = [
            lambda: valid,
            lambda: base64.encodebytes(raw * 3).decode(),  # MIME style: line breaks
            lambda: valid + "\n",
            lambda: valid[:4] + "\n" + valid[4:],
            lambda: valid[:4] + " " + valid[4:],
            lambda: valid.rstrip("="),
            lambda: valid + "=",
            lambda: valid + "====",
            lambda: base64.urlsafe_b64encode(b"\xfb\xff\xfe" * 5).decode(),
            lambda: valid[:-1] + rng.choice(DIGIT_SETS[0]),
            lambda: "QR==",  # non-canonical: unused bits set
            lambda: "QUJ=",
            lambda: "=" * 4,
            lambda: "",
            lambda: len(valid),
            lambda: rng.choice([True, None, 3.5, [valid], {"Base64": valid}]),
        ]
        return rng.choice(options)()

    def hostile_mime(self) -> Any:
        rng = self.rng
        options = [
            "image/png",
            "image/png\n",
            "image/png\r\n",
            "image/png ",
            " image/png",
            "image/png; charset=binary",
            "image/",
            "/png",
            "image//png",
            "image/png/x",
            "image/p\u00f1g",
            "image/png\x00",
            "*/*",
            "png",
            "image/" + "x" * 200,
            "IMAGE/PNG",
            5,
            True,
            ["image/png"],
            {"type": "image"},
        ]
        return rng.choice(options)

    def hostile_url(self) -> Any:
        rng = self.rng
        good = "https://example.com/receipt.png"
        options = [
            good,
            "https://example.com/a b.png",
            "https://example.com/a\x00.png",
            "https://example.com/a\t.png",
            "\thttps://example.com/a.png",
            "https://example.com/a.png\n",
            "https://example.com/a\x7f.png",
            "https://example.com/a" + rng.choice(UNICODE_SPACES) + ".png",
            "https://exa mple.com/a.png",
            "https://example.com:99999/a.png",
            "https://example.com:-1/a.png",
            "https://example.com:http/a.png",
            "http://:80/a.png",
            "http:///a.png",
            "http://user@/a.png",
            "http://[::1/a.png",
            "//example.com/a.png",
            "/a.png",
            "ftp://example.com/a.png",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://\u4f8b\u3048.jp/a.png",
            "https://example.com/%zz",
            "https://example.com/" + "a" * rng.choice([100, 5000]),
            "https://example.com/" + rng.choice(SURROGATES),
            "",
            42,
            None,
            ["https://example.com/a.png"],
        ]
        return rng.choice(options)

    def hostile_s3(self) -> dict[str, Any]:
        rng = self.rng
        item: dict[str, Any] = {"Bucket": self.media_bucket, "Key": "mms/boarding-pass.png"}
        target = rng.choice(["Bucket", "Key", "BaseType", "extra", "none"])
        if target == "Bucket":
            item["Bucket"] = rng.choice(
                ["Media_Bucket", "", "someone-elses-bucket", self.media_bucket + "\n", 5, None, "a" * 70]
            )
        elif target == "Key":
            item["Key"] = rng.choice(
                [
                    "mms/../secret.png",
                    "mms/%2e%2e/secret.png",
                    "mms/a\n.png",
                    "mms/\x00",
                    "mms/" + rng.choice(SURROGATES),
                    "mms/" + "a" * 1100,
                    "private/a.png",
                    "mms/does-not-exist.png",
                    "",
                    12,
                    ["mms/a.png"],
                ]
            )
        elif target == "BaseType":
            item["BaseType"] = self.hostile_mime()
        elif target == "extra":
            item[rng.choice(EXTRA_FIELDS)] = self.hostile_value()
        return item

    def hostile_value(self, depth: int = 0) -> Any:
        rng = self.rng
        options: list[Callable[[], Any]] = [
            lambda: rng.choice([0, -1, 1.5, 1e308, -0.0, True, False, None]),
            lambda: float(rng.choice(["nan", "inf", "-inf"])),
            lambda: _raw(rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" * 40, "9" * 5000])),
            self.hostile_text,
            self.hostile_number,
            lambda: rng.choice(SURROGATES),
            lambda: "x" * rng.choice([0, 1, 257, 10_000]),
            lambda: [] if depth > 2 else [self.hostile_value(depth + 1) for _ in range(rng.randint(0, 3))],
            lambda: {} if depth > 2 else {rng.choice(EXTRA_FIELDS): self.hostile_value(depth + 1)},
            lambda: _raw("[" * rng.choice([33, 1200, 20_000])),  # unbalanced: not JSON at all
            lambda: _raw("[" * (n := rng.choice([33, 40, 1200, 20_000])) + "]" * n),
            lambda: _raw('{"a": 1, "a": 2}'),
        ]
        return rng.choice(options)()

    # ---------------------------------------------------------------- requests

    def valid_request(self) -> dict[str, Any]:
        """A sample that the relay accepts as it is, with a key of its own (so outcomes are attributable)."""
        base: dict[str, Any] = json.loads(json.dumps(self.rng.choice(self.bases)))
        base["IdempotencyKey"] = self.unique_key()
        base["To"] = [{"Number": self.number()}]
        return base

    def mutated_request(self) -> dict[str, Any]:
        rng = self.rng
        request = self.valid_request()
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            field = rng.choice(
                [
                    "To",
                    "To",
                    "From",
                    "Owner",
                    "Body",
                    "Body",
                    "CampaignId",
                    "IdempotencyKey",
                    "MmsMedia",
                    "MmsBase64",
                    "MmsBase64",
                    "MmsS3",
                    "send_time",
                    "extra",
                    "delete",
                ]
            )
            if field == "To":
                request["To"] = rng.choice(
                    [
                        lambda: [{"Number": self.hostile_number()}],
                        lambda: [{"Number": self.number()}, {"Number": self.number()}],
                        lambda: [{"Number": self.number(), rng.choice(EXTRA_FIELDS): 1}],
                        lambda: [{}],
                        lambda: [],
                        lambda: [self.hostile_value()],
                        self.hostile_value,
                        lambda: [{"Number": self.number()}] * rng.choice([2, 500]),
                    ]
                )()
            elif field in ("From", "Owner"):
                request[field] = self.hostile_number()
            elif field == "Body":
                request["Body"] = rng.choice([self.hostile_text, self.hostile_value])()
            elif field == "CampaignId":
                request["CampaignId"] = rng.choice(
                    ["JCID-1\n", "JCID\x00", "", "c" * 129, "JCID-" + rng.choice(SURROGATES), 5, None, "JCID-ok"]
                )
            elif field == "IdempotencyKey":
                # Only invalid keys or none: a valid key stays unique to this body.
                request["IdempotencyKey"] = rng.choice(
                    ["k\n", "k\x00", "", "k" * 257, 7, ["k"], rng.choice(SURROGATES), "k\u2028"]
                )
                if rng.random() < 0.2:
                    del request["IdempotencyKey"]
            elif field == "MmsMedia":
                request["MmsMedia"] = rng.choice(
                    [
                        lambda: [{"MediaUrl": self.hostile_url()}],
                        lambda: [{"MediaUrl": "https://example.com/a.png"}] * 11,
                        lambda: [{"Url": "https://example.com/a.png"}],
                        self.hostile_value,
                    ]
                )()
            elif field == "MmsBase64":
                request["MmsBase64"] = rng.choice(
                    [
                        lambda: [{"Base64": self.hostile_base64(), "BaseType": self.hostile_mime()}],
                        lambda: [{"Base64": self.hostile_base64(), "BaseType": "image/png"}],
                        lambda: [{"Base64": "QUJD", "BaseType": self.hostile_mime()}],
                        lambda: [{"Base64": "QUJD"}],
                        lambda: rng.choice([5, 0, True, 1.5, "QUJD", {"Base64": "QUJD"}]),
                        self.hostile_value,
                    ]
                )()
            elif field == "MmsS3":
                request["MmsS3"] = rng.choice(
                    [lambda: [self.hostile_s3()], lambda: rng.choice([7, False, "mms/a.png", {"Bucket": "b"}])]
                )()
            elif field == "send_time":
                name = rng.choice(SEND_TIME_FIELDS)
                if name in ("SendAt", "ValidUntil", "FirstEnqueuedAt"):
                    request[name] = rng.choice(INSTANTS)
                elif name == "ValiditySeconds":
                    request[name] = rng.choice([60, 0, -1, 1.5, 60.0, "60", True, 10**30, float("nan"), None])
                    if rng.random() < 0.2:
                        request["ValidUntil"] = "2999-01-01T00:00:00Z"  # both: refused
                elif name == "Priority":
                    request[name] = rng.choice(["high", "normal", "HIGH", "urgent", "", 1, None, ["high"]])
                else:
                    request[name] = rng.choice([True, False, "true", 1, 0, None, {}])
            elif field == "extra":
                request[rng.choice([*EXTRA_FIELDS, rng.choice(SURROGATES), "x" * 300])] = self.hostile_value()
            else:
                request.pop(rng.choice(["To", "From", "Body", "Owner", "IdempotencyKey"]), None)
        return request

    # ---------------------------------------------------------------- envelopes and text

    def wrap_valid(self, inner: Any) -> Any:
        """One or two well-formed envelopes (the relay peels up to three)."""
        for _ in range(self.rng.choice([1, 1, 2])):
            if self.rng.random() < 0.5:
                inner = {"version": "0", "detail-type": "telegent.sms.send", "source": "fuzz", "detail": inner}
            else:
                inner = {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:0:t", "Message": _dumps(inner)}
        return inner

    def wrap(self, inner: Any) -> Any:
        """Put a request (or garbage) in an envelope, sometimes several."""
        rng = self.rng
        for _ in range(rng.choice([1, 1, 1, 2, 4])):
            kind = rng.choice(["eventbridge", "eventbridge-string", "sns", "sns-bad"])
            if kind == "eventbridge":
                inner = {"version": "0", "detail-type": "telegent.sms.send", "source": "fuzz", "detail": inner}
            elif kind == "eventbridge-string":
                inner = {"detail-type": "telegent.sms.send", "source": "fuzz", "detail": _dumps(inner)}
            elif kind == "sns":
                inner = {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:0:t", "Message": _dumps(inner)}
            else:
                inner = {"Type": "Notification", "TopicArn": "arn", "Message": rng.choice(["not json", "", "[" * 3000])}
        return inner

    def pointer(self) -> Any:
        rng = self.rng
        key = rng.choice(
            [*GARBAGE_PAYLOADS, "mms/payloads/large-request.json", "mms/missing.json", "mms/a\n", "../x", ""]
        )
        bucket = rng.choice([self.media_bucket] * 4 + ["other-bucket", "Bad Bucket", 5])
        pointer: list[Any] = [S3_POINTER_CLASS, {"s3BucketName": bucket, "s3Key": key}]
        if rng.random() < 0.1:
            pointer.append("extra")
        return pointer

    def damaged_text(self) -> str:
        rng = self.rng
        text = _dumps(self.valid_request())
        choice = rng.randrange(7)
        if choice == 0:
            return text[: rng.randrange(len(text))]
        if choice == 1:
            at = rng.randrange(len(text))
            return text[:at] + rng.choice(['"', "{", "]", ",", ":", "\\", "\x00", "\ud800", "\u00e9"]) + text[at + 1 :]
        if choice == 2:
            return '{"Body": "first", ' + text[1:]  # duplicate key
        if choice == 3:
            return "\ufeff" + text
        if choice == 4:
            return text.replace(
                '"Body": ', '"Body": ' + rng.choice(["NaN", "1e400", "-Infinity", "1" * 30]) + ', "B": ', 1
            )
        if choice == 5:
            return rng.choice(["", " ", "null", "42", '"text"', "[]", "{}", "order 1001 shipped", "[" * 100_000])
        return text + rng.choice(["\n", " ", "x", "}", "\x00"])

    def body(self) -> str:
        """One SQS body."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            data: Any = self.valid_request()
            text = _dumps(self.wrap_valid(data) if rng.random() < 0.3 else data)
        elif roll < 0.70:
            data = self.mutated_request()
            text = _dumps(self.wrap(data) if rng.random() < 0.25 else data)
        elif roll < 0.80:
            text = _dumps(self.wrap(self.hostile_value()) if rng.random() < 0.5 else self.pointer())
        else:
            text = self.damaged_text()
        return self._sqs_safe(text) if self.sqs_safe else text

    def bodies(self, count: int) -> Iterator[str]:
        for _ in range(count):
            yield self.body()

    def _sqs_safe(self, text: str) -> str:
        """SQS refuses characters outside XML's set and bodies over 256 KiB: keep within both."""
        if len(text.encode("utf-8", "surrogatepass")) > 250_000:
            text = text[:200_000]
        return "".join(c if _sqs_char(c) else "\ufffd" for c in text)


def _sqs_char(c: str) -> bool:
    o = ord(c)
    return o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


# ---------------------------------------------------------------- the independent check

VENDOR_FIELDS = {"To", "From", "Owner", "Body", "CampaignId", "MmsMedia", "MmsBase64"}
ASCII_DIGITS = set("0123456789")
MIME_CHARS = set(string.ascii_letters + string.digits + "!#$&^_.+-")


def _e164(value: Any) -> bool:
    if not isinstance(value, str) or len(value) < 8 or value[0] != "+":
        return False
    digits = value[1:]
    return all(c in ASCII_DIGITS for c in digits) and len(digits) <= 15 and digits[0] != "0"


def _clean_text(value: Any, *, allow_breaks: bool) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    allowed = {"\t", "\n", "\r"} if allow_breaks else set()
    return all(c in allowed or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in value)


def _mime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = value.split("/")
    return len(parts) == 2 and all(
        0 < len(p) <= 127 and p[0].isascii() and p[0].isalnum() and set(p) <= MIME_CHARS for p in parts
    )


def _url(value: Any) -> bool:
    if not isinstance(value, str) or not value or not all(0x21 <= ord(c) <= 0x7E for c in value):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _canonical_base64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return base64.b64encode(decoded).decode("ascii") == value


def vendor_payload_problems(payload: Any, body_max_chars: int = 1600) -> list[str]:
    """What is wrong with a vendor request body (empty: it is exactly the seed's shape, well formed)."""
    if not isinstance(payload, dict):
        return ["not an object"]
    problems = [f"unknown field {name!r}" for name in set(payload) - VENDOR_FIELDS]
    to = payload.get("To")
    if not isinstance(to, list) or not to:
        problems.append("To is not a non-empty array")
    else:
        for item in to:
            if not isinstance(item, dict) or set(item) != {"Number"} or not _e164(item["Number"]):
                problems.append("a To item is not {Number: E.164}")
    for name in ("From", "Owner"):
        if name in payload and not _e164(payload[name]):
            problems.append(f"{name} is not E.164")
    if "From" not in payload:
        problems.append("From is missing")
    body = payload.get("Body")
    if not isinstance(body, str) or not _clean_text(body, allow_breaks=True) or not body.strip():
        problems.append("Body is not clean non-empty text")
    elif len(body) > body_max_chars:
        problems.append("Body is over the limit")
    if "CampaignId" in payload:
        campaign = payload["CampaignId"]
        if not _clean_text(campaign, allow_breaks=False) or not 0 < len(campaign) <= 128 or not campaign.isprintable():
            problems.append("CampaignId is not printable text of 1-128 characters")
    for item in payload.get("MmsMedia", []):
        if not isinstance(item, dict) or set(item) != {"MediaUrl"} or not _url(item["MediaUrl"]):
            problems.append("an MmsMedia item is not {MediaUrl: http(s) URL}")
    for item in payload.get("MmsBase64", []):
        if not isinstance(item, dict) or set(item) != {"Base64", "BaseType"}:
            problems.append("an MmsBase64 item is not {Base64, BaseType}")
        elif not _canonical_base64(item["Base64"]) or not _mime(item["BaseType"]):
            problems.append("an MmsBase64 item has bad base64 or MIME type")
    try:
        json.dumps(payload, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, TypeError):
        problems.append("not strict JSON in UTF-8")
    return problems
