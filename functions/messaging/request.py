"""The producer's send request (DESIGN.md section 2): parsing, validation and the vendor payload.

Validation is strict (what reaches the vendor is exactly the seed's shape with well-formed values)
and total: any decoded JSON value gives a SendRequest or a PermanentError naming every field that
is wrong, never another exception. The string checks live in messaging.checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from messaging import names
from messaging.checks import (
    E164_HINT,
    base64_decoded_size,
    base64_problem,
    field_name,
    is_e164,
    is_mime_type,
    json_type,
    printable_problem,
    s3_bucket_problem,
    s3_key_problem,
    text_problem,
    url_problem,
)
from messaging.errors import PermanentError, RejectCode
from messaging.media import allowed_location, media_location_allowed
from messaging.segments import SegmentInfo, count_segments, smart_encode
from messaging.send_options import check_validity_fields, parse_instant, parse_validity_seconds
from messaging.settings import Limits

__all__ = [
    "InlineMedia",
    "S3Media",
    "SendRequest",
    "is_e164",
    "parse_send_request",
    "peek_dry_run",
    "peek_idempotency_key",
]

VENDOR_FIELDS = frozenset({"To", "From", "Owner", "Body", "CampaignId", "MmsMedia", "MmsBase64", "MmsS3"})
# Ours, never forwarded to Telegent (DESIGN.md sections 2 and 9).
SEND_TIME_FIELDS = frozenset(
    {
        names.FIELD_SEND_AT,
        names.FIELD_VALID_UNTIL,
        names.FIELD_VALIDITY_SECONDS,
        names.FIELD_PRIORITY,
        names.FIELD_DRY_RUN,
        names.FIELD_FIRST_ENQUEUED_AT,
    }
)
TOP_LEVEL_FIELDS = VENDOR_FIELDS | SEND_TIME_FIELDS | {names.FIELD_IDEMPOTENCY_KEY}
IDEMPOTENCY_KEY_MAX = 256
CAMPAIGN_ID_MAX = 128
PRIORITIES = (names.PRIORITY_HIGH, names.PRIORITY_NORMAL)
VALIDITY_SECONDS_MAX = 365 * 86_400  # a year; longer is no validity at all (and keeps the arithmetic finite)


@dataclass(frozen=True)
class InlineMedia:
    base64: str = field(repr=False)
    base_type: str
    size: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.base64.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class S3Media:
    bucket: str
    key: str
    base_type: str | None


@dataclass(frozen=True)
class SendRequest:
    to: tuple[str, ...]
    sender: str
    owner: str
    body: str = field(repr=False)
    campaign_id: str | None = None
    media_urls: tuple[str, ...] = ()
    inline_media: tuple[InlineMedia, ...] = ()
    s3_media: tuple[S3Media, ...] = ()
    idempotency_key: str | None = None
    # Send-time options (DESIGN.md section 9): ours, never part of the vendor payload nor of the fingerprint.
    send_at: datetime | None = None
    valid_until: datetime | None = None
    validity_seconds: int | None = None
    priority: str | None = None
    dry_run: bool = False
    first_enqueued_at: datetime | None = None  # set by the relay on the copies it schedules
    # The Body as it goes to the vendor (smart encoding may have replaced typographic characters) and its cost.
    sent_body: str | None = field(default=None, repr=False)
    segment_info: SegmentInfo | None = None

    @property
    def body_as_sent(self) -> str:
        return self.body if self.sent_body is None else self.sent_body

    @property
    def segments(self) -> SegmentInfo:
        return self.segment_info if self.segment_info is not None else count_segments(self.body_as_sent)

    @property
    def message_type(self) -> str:
        return "mms" if (self.media_urls or self.inline_media or self.s3_media) else "sms"

    @property
    def inline_media_bytes(self) -> int:
        return sum(m.size for m in self.inline_media)

    def fingerprint(self) -> dict[str, Any]:
        """What two requests must share to count as the same one (hashed by the idempotency layer).

        Inline media is represented by its digest so that large payloads are not serialised twice. The
        send-time options are left out: a schedule's copy (which carries FirstEnqueuedAt) and a redelivery
        of the original are the same request, and the first one to be sent is the one that counts.
        """
        return {
            "To": list(self.to),
            "From": self.sender,
            "Owner": self.owner,
            "Body": self.body,
            "CampaignId": self.campaign_id,
            "MmsMedia": list(self.media_urls),
            "MmsBase64": [{"Sha256": m.digest, "BaseType": m.base_type} for m in self.inline_media],
            "MmsS3": [{"Bucket": m.bucket, "Key": m.key, "BaseType": m.base_type} for m in self.s3_media],
        }

    def vendor_payload(self, fetched_media: list[tuple[bytearray, str]] | None = None) -> dict[str, Any]:
        """The seed's request shape, exactly; S3 media arrive as extra (base64, mime) pairs.

        Fetched base64 stays a bytearray: the client splices it into the body without copying.
        """
        payload: dict[str, Any] = {
            "To": [{"Number": number} for number in self.to],
            "From": self.sender,
            "Owner": self.owner,
            "Body": self.body_as_sent,
        }
        if self.campaign_id:
            payload["CampaignId"] = self.campaign_id
        if self.media_urls:
            payload["MmsMedia"] = [{"MediaUrl": url} for url in self.media_urls]
        inline: list[dict[str, Any]] = [{"Base64": m.base64, "BaseType": m.base_type} for m in self.inline_media]
        inline += [{"Base64": data, "BaseType": mime} for data, mime in fetched_media or []]
        if inline:
            payload["MmsBase64"] = inline
        return payload


MAX_PROBLEMS_SHOWN = 10
MAX_NAMES_SHOWN = 5

TO_HINT = '[{"Number": "+18015551234"}]'
MIME_HINT = "a MIME type like image/png (ASCII type/subtype, no parameters or spaces)"


class _Problems:
    """Every problem found, of which the first few are shown: a reason stays short and bounded."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.count = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.shown) < MAX_PROBLEMS_SHOWN:
            self.shown.append(text)

    def __bool__(self) -> bool:
        return self.count > 0

    def text(self) -> str:
        hidden = self.count - len(self.shown)
        return "; ".join(self.shown) + (f"; and {hidden} more problem(s)" if hidden else "")


def peek_idempotency_key(data: Any) -> str | None:
    """The producer's key from a request that failed validation, if it is usable as a row key.

    Never raises: it runs while a rejection is being recorded, whatever the input was.
    """
    try:
        if isinstance(data, Mapping):
            key = data.get("IdempotencyKey")
            if isinstance(key, str) and printable_problem(key, IDEMPOTENCY_KEY_MAX) is None:
                return key
    except Exception:  # a best-effort peek must not turn a rejection into a crash
        return None
    return None


def _number_problem(value: Any) -> str:
    got = "" if isinstance(value, str) else f" (got {json_type(value)})"
    return f"must be {E164_HINT}{got}"


def _unknown_fields(where: str, mapping: Mapping[Any, Any], allowed: frozenset[str], problems: _Problems) -> None:
    extra = sorted(field_name(name) for name in mapping if not (isinstance(name, str) and name in allowed))
    if extra:
        shown = ", ".join(extra[:MAX_NAMES_SHOWN])
        more = f" and {len(extra) - MAX_NAMES_SHOWN} more" if len(extra) > MAX_NAMES_SHOWN else ""
        prefix = f"{where} has unknown" if where else "unknown"
        problems.add(f"{prefix} field(s): {shown}{more}")


def _objects(
    data: Mapping[str, Any], name: str, allowed: frozenset[str], hint: str, problems: _Problems, *, required: bool
) -> list[tuple[int, Mapping[str, Any]]]:
    """The (index, object) items of an array-of-objects field; problems with its shape are added."""
    value = data.get(name)
    if value is None:
        if required:
            problems.add(f"{name} is required: an array like {hint}")
        return []
    if not isinstance(value, list):
        problems.add(f"{name} must be an array like {hint} (got {json_type(value)})")
        return []
    if required and not value:
        problems.add(f"{name} must not be empty: an array like {hint}")
    items: list[tuple[int, Mapping[str, Any]]] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            problems.add(f"{name}[{index}] must be an object (got {json_type(item)})")
            continue
        _unknown_fields(f"{name}[{index}]", item, allowed, problems)
        items.append((index, item))
    return items


def _array_length(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    return len(value) if isinstance(value, list) else 0


def _required_field(
    problems: _Problems, label: str, value: Any, check: Callable[[Any], str | None], what_is_needed: str = ""
) -> bool:
    """Add the problem with a required field (missing, or refused by `check`); True when it is fine."""
    if value is None:
        problems.add(f"{label} is required{what_is_needed}")
        return False
    if (problem := check(value)) is not None:
        problems.add(f"{label} {problem}")
        return False
    return True


def _mime_problem(value: Any) -> str | None:
    return None if is_mime_type(value) else f"must be {MIME_HINT} (got {json_type(value)})"


def parse_send_request(data: Any, limits: Limits) -> SendRequest:
    """Validate a decoded request; raises PermanentError naming every problem found (and nothing else)."""
    if not isinstance(data, Mapping):
        raise PermanentError(RejectCode.VALIDATION_ERROR, f"the request must be a JSON object (got {json_type(data)})")
    problems = _Problems()
    _unknown_fields("", data, TOP_LEVEL_FIELDS, problems)

    key = data.get("IdempotencyKey")
    if key is not None and (problem := printable_problem(key, IDEMPOTENCY_KEY_MAX)) is not None:
        problems.add(f"IdempotencyKey {problem}")

    recipients: list[str] = []
    for index, item in _objects(data, "To", frozenset({"Number"}), TO_HINT, problems, required=True):
        number = item.get("Number")
        if number is None:
            problems.add(f"To[{index}].Number is required: {E164_HINT}")
        elif not is_e164(number):
            problems.add(f"To[{index}].Number {_number_problem(number)}")
        else:
            recipients.append(number)
    if (count := _array_length(data, "To")) > limits.max_recipients:
        problems.add(
            f"To has {count} recipients; at most {limits.max_recipients} per message (send one message per recipient)"
        )

    sender = data.get("From")
    if sender is None:
        problems.add(f"From is required: {E164_HINT}")
    elif not is_e164(sender):
        problems.add(f"From {_number_problem(sender)}")
    owner = data.get("Owner")
    if owner is not None and not is_e164(owner):
        problems.add(f"Owner {_number_problem(owner)} (or leave it out: it defaults to From)")

    body = data.get("Body")
    if body is None:
        problems.add("Body is required (the vendor requires it for MMS too)")
    elif not isinstance(body, str):
        problems.add(f"Body must be a string (got {json_type(body)})")
    elif len(body) > limits.body_max_chars:
        problems.add(f"Body has {len(body)} characters; at most {limits.body_max_chars}")
    elif (problem := text_problem(body)) is not None:
        problems.add(f"Body {problem}")
    elif not body.strip():
        problems.add("Body must not be empty or only whitespace")

    campaign = data.get("CampaignId")
    if campaign is not None and (problem := printable_problem(campaign, CAMPAIGN_ID_MAX)) is not None:
        problems.add(f"CampaignId {problem}")

    media_urls: list[str] = []
    url_hint = '[{"MediaUrl": "https://example.com/a.png"}]'
    for index, item in _objects(data, "MmsMedia", frozenset({"MediaUrl"}), url_hint, problems, required=False):
        url = item.get("MediaUrl")
        if url is None:
            problems.add(f"MmsMedia[{index}].MediaUrl is required: an absolute http(s) URL")
        elif (problem := url_problem(url)) is not None:
            problems.add(f"MmsMedia[{index}].MediaUrl {problem}")
        else:
            media_urls.append(url)

    inline: list[InlineMedia] = []
    b64_hint = '[{"Base64": "<standard base64>", "BaseType": "image/png"}]'
    for index, item in _objects(
        data, "MmsBase64", frozenset({"Base64", "BaseType"}), b64_hint, problems, required=False
    ):
        encoded, mime = item.get("Base64"), item.get("BaseType")
        valid = _required_field(
            problems, f"MmsBase64[{index}].Base64", encoded, base64_problem, ": standard base64 of the media"
        )
        valid &= _required_field(problems, f"MmsBase64[{index}].BaseType", mime, _mime_problem, f": {MIME_HINT}")
        if valid and isinstance(encoded, str) and isinstance(mime, str):
            inline.append(InlineMedia(encoded, mime, base64_decoded_size(encoded)))

    s3_media: list[S3Media] = []
    s3_hint = '[{"Bucket": "media-bucket", "Key": "mms/a.mp4", "BaseType": "video/mp4"}]'
    for index, item in _objects(
        data, "MmsS3", frozenset({"Bucket", "Key", "BaseType"}), s3_hint, problems, required=False
    ):
        bucket, object_key, mime = item.get("Bucket"), item.get("Key"), item.get("BaseType")
        valid = _required_field(problems, f"MmsS3[{index}].Bucket", bucket, s3_bucket_problem)
        valid &= _required_field(problems, f"MmsS3[{index}].Key", object_key, s3_key_problem)
        if mime is not None and not is_mime_type(mime):
            problems.add(f"MmsS3[{index}].BaseType must be {MIME_HINT} (got {json_type(mime)}), or left out")
            valid = False
        if valid and isinstance(bucket, str) and isinstance(object_key, str):
            s3_media.append(S3Media(bucket, object_key, mime))

    media_count = sum(_array_length(data, name) for name in ("MmsMedia", "MmsBase64", "MmsS3"))
    if media_count > limits.max_media_items:
        problems.add(f"{media_count} media items; at most {limits.max_media_items}")

    options = _send_time_options(data, problems)

    if problems:
        raise PermanentError(RejectCode.VALIDATION_ERROR, problems.text())

    for index, media in enumerate(s3_media):
        if not media_location_allowed(media.bucket, media.key, limits):
            raise PermanentError(
                RejectCode.MEDIA_NOT_ALLOWED,
                f"MmsS3[{index}] s3://{media.bucket}/{media.key} is outside the allowed media location "
                f"{allowed_location(limits)}",
            )
    inline_bytes = sum(m.size for m in inline)
    if inline_bytes > limits.max_media_bytes:
        raise PermanentError(
            RejectCode.MEDIA_TOO_LARGE, f"inline media is {inline_bytes} bytes; at most {limits.max_media_bytes}"
        )

    # No problem was found, so each of these passed its check above and is a string.
    sender, body = cast(str, sender), cast(str, body)
    sent_body = smart_encode(body) if limits.smart_encoding else body
    cost = count_segments(sent_body)
    if cost.segments > limits.max_segments:
        raise PermanentError(
            RejectCode.TOO_MANY_SEGMENTS,
            f"Body is {cost.segments} segments ({cost.encoding}, {cost.units} "
            f"{'septets' if cost.encoding == 'GSM-7' else 'UTF-16 units'}); at most {limits.max_segments} "
            "(MAX_SEGMENTS)",
        )
    return SendRequest(
        to=tuple(recipients),
        sender=sender,
        owner=cast(str, owner) if owner is not None else sender,
        body=body,
        campaign_id=campaign,
        media_urls=tuple(media_urls),
        inline_media=tuple(inline),
        s3_media=tuple(s3_media),
        idempotency_key=key,
        send_at=options.send_at,
        valid_until=options.valid_until,
        validity_seconds=options.validity_seconds,
        priority=options.priority,
        dry_run=options.dry_run,
        first_enqueued_at=options.first_enqueued_at,
        sent_body=sent_body if sent_body != body else None,
        segment_info=cost,
    )


@dataclass(frozen=True)
class _Options:
    send_at: datetime | None = None
    valid_until: datetime | None = None
    validity_seconds: int | None = None
    priority: str | None = None
    dry_run: bool = False
    first_enqueued_at: datetime | None = None


def _instant(data: Mapping[str, Any], name: str, problems: _Problems) -> datetime | None:
    """An ISO 8601 time with an offset or Z; a naive or malformed one is a problem (its text is not echoed)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(f"{name} must be an ISO 8601 date-time string like 2030-01-31T09:30:00Z (got {json_type(value)})")
        return None
    try:
        return parse_instant(value, field=name)
    except ValueError:
        if _naive(value):
            problems.add(f"{name} has no UTC offset: add Z or +hh:mm (e.g. 2030-01-31T09:30:00Z)")
        else:
            problems.add(f"{name} must be an ISO 8601 date-time with a UTC offset, like 2030-01-31T09:30:00Z")
        return None


def _naive(text: str) -> bool:
    """A well-formed date-time that only lacks its offset (the relay cannot know which zone was meant)."""
    try:
        parse_instant(text + "Z")
    except ValueError:
        return False
    return True


def _send_time_options(data: Mapping[str, Any], problems: _Problems) -> _Options:
    """SendAt, ValidUntil / ValiditySeconds, Priority, DryRun and FirstEnqueuedAt (DESIGN.md section 9)."""
    send_at = _instant(data, names.FIELD_SEND_AT, problems)
    valid_until = _instant(data, names.FIELD_VALID_UNTIL, problems)
    first_enqueued_at = _instant(data, names.FIELD_FIRST_ENQUEUED_AT, problems)

    raw_seconds = data.get(names.FIELD_VALIDITY_SECONDS)
    validity_seconds: int | None = None
    if raw_seconds is not None:
        try:
            validity_seconds = parse_validity_seconds(raw_seconds)
        except ValueError:
            problems.add(f"ValiditySeconds must be a positive whole number of seconds (got {json_type(raw_seconds)})")
        else:
            if validity_seconds > VALIDITY_SECONDS_MAX:
                problems.add(f"ValiditySeconds must be at most {VALIDITY_SECONDS_MAX} (365 days)")
                validity_seconds = None
    try:
        check_validity_fields(data.get(names.FIELD_VALID_UNTIL), raw_seconds)
    except ValueError:
        problems.add("give ValidUntil or ValiditySeconds, not both")

    priority = data.get(names.FIELD_PRIORITY)
    if priority is not None and not (isinstance(priority, str) and priority in PRIORITIES):
        got = f" (got {json_type(priority)})" if not isinstance(priority, str) else ""
        problems.add(f'Priority must be "high" or "normal"{got}')
        priority = None

    dry_run = data.get(names.FIELD_DRY_RUN)
    if dry_run is not None and not isinstance(dry_run, bool):
        problems.add(f"DryRun must be true or false (got {json_type(dry_run)})")
        dry_run = None
    return _Options(
        send_at=send_at,
        valid_until=valid_until,
        validity_seconds=validity_seconds,
        priority=priority,
        dry_run=bool(dry_run),
        first_enqueued_at=first_enqueued_at,
    )


def peek_dry_run(data: Any) -> bool:
    """Whether a request that failed validation asked for a dry run (`DryRun: true`); never raises."""
    try:
        return isinstance(data, Mapping) and data.get(names.FIELD_DRY_RUN) is True
    except Exception:
        return False
