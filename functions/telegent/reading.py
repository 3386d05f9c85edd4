"""Tolerant reading of Telegent responses (DESIGN.md section 6b): any case, flat or wrapped, any error envelope."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from messaging.rows import storable_number

TOKEN_EXPIRY_FORMAT = "%m/%d/%Y %I:%M:%S %p"
COST_TEXT_MAX = 100
COST_LOG_MAX = 40
# The standard library logger: the vendor client stays free of Powertools (Lambda's root handler prints it).
_log = logging.getLogger(__name__)
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
    """The vendor's Cost (a number or a "$0.0045" string) as a number DynamoDB can store, else None.

    Whatever the vendor sends (NaN, Infinity, 1e400, 60 digits, 1e-400) must never fail the row
    after the message was sent: unstorable values are dropped with a log line.
    """
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            number = Decimal(str(value))
        elif isinstance(value, str):
            text = value.strip().removeprefix("$").replace(",", "")
            if len(text) > COST_TEXT_MAX:  # no 100 kB numeric strings through Decimal
                raise InvalidOperation
            number = Decimal(text)
        else:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        _log.warning("vendor Cost is not a number; dropped", extra={"cost": repr(value)[:COST_LOG_MAX]})
        return None
    stored = storable_number(number)
    if stored is None:
        _log.warning("vendor Cost cannot be stored; dropped", extra={"cost": repr(value)[:COST_LOG_MAX]})
    return stored


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
