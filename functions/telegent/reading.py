"""Tolerant reading of Telegent responses (DESIGN.md section 6b): any case, flat or wrapped, any error envelope."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

TOKEN_EXPIRY_FORMAT = "%m/%d/%Y %I:%M:%S %p"
ERROR_TEXT_MAX = 500


def ci_get(data: Any, name: str) -> Any:
    """Field lookup ignoring case: the vendor spells MessageId/MessageID, successful/Successful."""
    if not isinstance(data, Mapping):
        return None
    if name in data:
        return data[name]
    lowered = name.lower()
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def unwrap_data(data: Any) -> Any:
    """Some docs promise {"Successful": true, "Data": {...}}; most examples are flat. Accept both."""
    inner = ci_get(data, "Data")
    return inner if isinstance(inner, Mapping) else data


def parse_cost(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip().lstrip("$").replace(",", ""))
        except InvalidOperation:
            return None
    return None


def parse_token_expiry(text: Any) -> datetime | None:
    """`tokenExpiry` is `MM/dd/yyyy hh:mm:ss AM/PM` with no zone; the vendor's sample JWT shows it is UTC."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip(), TOKEN_EXPIRY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def jwt_expiry(token: str) -> datetime | None:
    """`exp` from the token's payload, used when tokenExpiry is missing or unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def error_text(status: int, raw: bytes) -> str:
    """A readable message from any of the vendor's three error envelopes, else the raw text."""
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        message = ci_get(data, "Message") or ci_get(data, "error") or ci_get(data, "Title")
        errors = ci_get(data, "Errors")
        if isinstance(errors, Mapping) and errors:
            details = "; ".join(
                f"{field_name}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for field_name, msgs in errors.items()
            )
            message = f"{message}: {details}" if message else details
        if message:
            return str(message)[:ERROR_TEXT_MAX]
    text = raw.decode("utf-8", "replace").strip() if raw else ""
    return (text or f"HTTP {status}")[:ERROR_TEXT_MAX]
