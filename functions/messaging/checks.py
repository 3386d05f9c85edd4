"""Strict, total checks of the strings a send request carries (DESIGN.md section 2, issue 8 defect 4).

Every check takes any value and never raises. Problem texts name what is wrong without echoing
the value (it may be a message body or a phone number): they end up in rows, DLQ attributes and
logs. All patterns are ASCII-only and used with ``fullmatch`` (``$`` would let a trailing newline
through, ``\\d`` would accept Bengali or Devanagari digits).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import Any

# E.164: '+', a country code not starting with 0, at most 15 digits in all. At least 7 digits:
# no shorter number exists, and the Telegent sandbox (our model of the vendor) refuses shorter.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
E164_HINT = "an E.164 number like +18015551234 ('+' then 7-15 ASCII digits, no spaces)"

# RFC 6838 restricted-name "/" restricted-name, no parameters.
MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")

_BASE64_BODY = re.compile(r"[A-Za-z0-9+/]*")
_BASE64_INDEX = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}

# S3 bucket names (general purpose buckets) and object keys.
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_KEY_MAX_BYTES = 1024

URL_MAX_CHARS = 4096
# RFC 3986: unreserved, reserved and percent-encoded octets; nothing else (no spaces, no controls).
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
_TEXT_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def json_type(value: Any) -> str:
    """The JSON name of a value's type, with its article, for 'must be a string (got a number)'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def field_name(name: Any, limit: int = 40) -> str:
    """A field name that is safe to show: plain names as they are, anything else escaped and cut."""
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_.$@-]{1,40}", name):
        return name
    text = ascii(name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_e164(value: Any) -> bool:
    return isinstance(value, str) and E164.fullmatch(value) is not None


def is_mime_type(value: Any) -> bool:
    return isinstance(value, str) and MIME_TYPE.fullmatch(value) is not None


def base64_problem(value: Any) -> str | None:
    """Why a value is not strict, canonical standard base64 (RFC 4648 section 4), or None.

    Same acceptance as ``base64.b64decode(value, validate=True)`` (no whitespace or newlines, no
    other alphabet, correct padding), and the unused bits before the padding must be zero, so each
    byte string has exactly one accepted encoding. Checked without decoding: no second copy.
    """
    if not isinstance(value, str):
        return f"must be a base64 string (got {json_type(value)})"
    if not value:
        return "must not be empty"
    if len(value) % 4:
        return "is not valid base64: its length must be a multiple of 4 (no line breaks or spaces)"
    padding = 2 if value.endswith("==") else 1 if value.endswith("=") else 0
    if _BASE64_BODY.fullmatch(value, 0, len(value) - padding) is None:
        return "is not valid base64: only A-Z, a-z, 0-9, '+', '/' and final '=' padding are allowed"
    if padding:
        # The last data character carries 4 (==) or 2 (=) unused bits, which must be zero.
        last = _BASE64_INDEX[value[-padding - 1]]
        if last & (0b1111 if padding == 2 else 0b11):
            return "is not valid base64: non-zero bits before the padding (not canonical)"
    return None


def base64_decoded_size(value: str) -> int:
    """Decoded length of a value that passed base64_problem."""
    padding = 2 if value.endswith("==") else 1 if value.endswith("=") else 0
    return len(value) // 4 * 3 - padding


def url_problem(value: Any) -> str | None:
    """Why a value is not an absolute http(s) URL we may hand to the vendor, or None."""
    if not isinstance(value, str):
        return f"must be an absolute http(s) URL string (got {json_type(value)})"
    if not value:
        return "must be an absolute http(s) URL (got an empty string)"
    if len(value) > URL_MAX_CHARS:
        return f"must be an absolute http(s) URL of at most {URL_MAX_CHARS} characters (got {len(value)})"
    if _URI_CHARS.fullmatch(value) is None:
        return (
            "must be an absolute http(s) URL of printable ASCII: no spaces or control characters, "
            "other characters percent-encoded"
        )
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # raises ValueError when not a number in 0-65535
    except ValueError:
        return "must be an absolute http(s) URL (its host or port is malformed)"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an absolute http(s) URL (the scheme must be http or https)"
    host = parts.hostname or ""
    if not host:
        return "must be an absolute http(s) URL with a host"
    if port == 0:
        return "must be an absolute http(s) URL (port 0 is not a port)"
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "must be an absolute http(s) URL (the bracketed host is not an IPv6 address)"
    elif len(host) > 253 or _HOST_NAME.fullmatch(host) is None:
        return "must be an absolute http(s) URL (the host is not a valid host name)"
    return None


def text_problem(value: str) -> str | None:
    """Why message text cannot be sent: unpaired surrogates and control characters other than
    tab, line feed and carriage return (an SMS carries text; neither encoding has the others)."""
    if (found := _SURROGATE.search(value)) is not None:
        return (
            f"contains an unpaired surrogate (U+{ord(found.group()):04X} at index {found.start()}): "
            "not valid Unicode text"
        )
    if (found := _TEXT_CONTROL.search(value)) is not None:
        return (
            f"contains a control character (U+{ord(found.group()):04X} at index {found.start()}); "
            "only tab, line feed and carriage return are allowed"
        )
    return None


def has_unpaired_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def printable_problem(value: Any, max_chars: int) -> str | None:
    """Why a value is not a printable string of 1..max_chars characters (no control characters,
    line breaks, format characters or unpaired surrogates), or None."""
    if not isinstance(value, str):
        return f"must be a string (got {json_type(value)})"
    if not 0 < len(value) <= max_chars:
        return f"must be 1-{max_chars} characters (got {len(value)})"
    if not value.isprintable():
        return "must contain only printable characters (no control characters, line breaks or unpaired surrogates)"
    return None


def s3_bucket_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string (got {json_type(value)})"
    if S3_BUCKET.fullmatch(value) is None:
        return "must be an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')"
    return None


def s3_key_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string (got {json_type(value)})"
    if not value:
        return "must not be empty"
    if (problem := text_problem(value)) is not None:
        return problem
    if "\t" in value or "\n" in value or "\r" in value:
        return "must not contain tabs or line breaks"
    if len(value.encode("utf-8")) > S3_KEY_MAX_BYTES:
        return f"must be at most {S3_KEY_MAX_BYTES} bytes in UTF-8"
    return None
