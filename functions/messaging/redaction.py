"""What may reach a log line: phone numbers only as their last 4 digits, never a message Body."""

from __future__ import annotations

import hashlib
import json
import re

# Seven or more digits, optionally after a "+", with single spaces, dots, dashes or brackets between
# them: "+18015737111", "+1 801-573-7111", "(801) 573 7111".
PHONE_LIKE = re.compile(r"\+?\(?\d(?:[ ().-]{0,2}\d){6,}")
_SEPARATORS = re.compile(r"[ ().-]")
BODY_MARK = "[body]"
# An echoed piece of the Body this long (or the whole Body when shorter) is removed; a Body shorter
# than ECHO_MIN_CHARS ("ok", "hi") says nothing and would only blank out ordinary words.
ECHO_MIN_CHARS = 4
ECHO_MATCH_CHARS = 12
ECHO_SCAN_MAX = 4000  # longer texts are cut first (log reasons are short anyway)
ECHO_BODY_MAX = 20_000
KEY_HASH_CHARS = 12


def redact_numbers(text: str) -> str:
    """Vendor error texts may quote a number; logs keep only its last 4 digits."""
    return PHONE_LIKE.sub(lambda match: mask_number(_SEPARATORS.sub("", match.group())), text)


def mask_number(number: object) -> str:
    """Phone numbers appear in logs only as their last 4 digits."""
    text = str(number or "")
    return "*" * max(0, len(text) - 4) + text[-4:] if len(text) > 4 else "****"


def redact_body(text: str, body: str | None) -> str:
    """`text` without any echo of `body`: the whole Body (raw or JSON-escaped) and any piece of it
    of ECHO_MATCH_CHARS or more (a vendor may quote a truncated Body) become "[body]"."""
    if not body or len(body.strip()) < ECHO_MIN_CHARS:
        return text
    text = text[:ECHO_SCAN_MAX]
    for form in (body, json.dumps(body)[1:-1], json.dumps(body, ensure_ascii=False)[1:-1]):
        text = text.replace(form, BODY_MARK)
    width = min(len(body), ECHO_MATCH_CHARS)
    pieces = {body[i : i + width] for i in range(min(len(body), ECHO_BODY_MAX) - width + 1)}
    echoed = [False] * len(text)
    for start in range(len(text) - width + 1):
        if text[start : start + width] in pieces:
            echoed[start : start + width] = [True] * width
    if not any(echoed):
        return text
    kept: list[str] = []
    for position, character in enumerate(text):
        if not echoed[position]:
            kept.append(character)
        elif position == 0 or not echoed[position - 1]:
            kept.append(BODY_MARK)
    return "".join(kept)


def redact(text: str, body: str | None = None) -> str:
    """What may be logged of a free text (a vendor error, an exception message): no Body, masked numbers."""
    return redact_numbers(redact_body(text, body))


def log_key(key: str | None) -> str | None:
    """The idempotency key as logs show it (`correlation_id`): as is, unless it holds a phone-like
    number; then masked, with a short hash so the same key always logs the same value."""
    if key is None or not PHONE_LIKE.search(key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:KEY_HASH_CHARS]
    return f"{redact_numbers(key)}#{digest}"
