"""Delivery receipts and inbound messages from Telegent's route webhook (DESIGN.md section 8).

The receipt payload is undocumented (telegent-api.md section 5): field names are matched
case-insensitively and without separators (`MessageId`, `MessageID`, `Message_ID`, `messageId`
are one name), the body may be JSON, form-encoded or a GET query, and a JSON body may wrap the
receipt or carry a list of them. Pure: standard library only.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from messaging.lifecycle import Status
from messaging.rows import iso, parse_iso

# ---------------------------------------------------------------- the queued envelope

# What the webhook puts on the status queue (never the credential or any header but Content-Type).
ENVELOPE_VERSION = 1


def receipt_envelope(
    method: str, content_type: str | None, query: str, body: str | None, received_at: datetime, *, body_base64: bool
) -> str:
    return json.dumps(
        {
            "Version": ENVELOPE_VERSION,
            "Method": method.upper(),
            "ContentType": content_type or "",
            "Query": query or "",
            "Body": body or "",
            "BodyBase64": body_base64,
            "ReceivedAt": iso(received_at),
        },
        separators=(",", ":"),
    )


# ---------------------------------------------------------------- status mapping

_STATUS_MAP: dict[str, Status] = {
    "delivered": Status.DELIVERED,
    "failed": Status.FAILED,
    "undelivered": Status.UNDELIVERABLE,
    "undeliverable": Status.UNDELIVERABLE,
    "rejected": Status.UNDELIVERABLE,
    "queued": Status.SENT,
    "sent": Status.SENT,
    "accepted": Status.SENT,
}


def map_vendor_status(vendor_status: str | None) -> Status | None:
    """Our status for a vendor status string, case-insensitively; None when we do not know it."""
    if not vendor_status:
        return None
    return _STATUS_MAP.get(vendor_status.strip().lower())


# ---------------------------------------------------------------- parsed values


@dataclass(frozen=True)
class Receipt:
    message_id: str
    vendor_status: str | None  # as sent by the vendor
    status: Status | None  # mapped; None for a status we do not know (kept as VendorStatus, not final)
    occurred_at: datetime | None  # the vendor's time, when the receipt carries one
    received_at: datetime
    error_code: str | None = None

    @property
    def final(self) -> bool:
        return self.status in (Status.DELIVERED, Status.FAILED, Status.UNDELIVERABLE)

    @property
    def status_at(self) -> datetime:
        return self.occurred_at or self.received_at


@dataclass(frozen=True)
class Inbound:
    """A message a handset sent to one of our numbers (not a receipt)."""

    message_id: str | None
    sender: str | None  # From, E.164
    to: str | None
    owner: str | None
    body: str | None
    segments: int | None
    received_at: datetime

    def event_detail(self) -> dict[str, Any]:
        """The telegent.sms.inbound detail. It carries `From` and `Body` because the opt-out rules
        (DESIGN.md section 10) act on them; consumers must treat it as personal data."""
        return {
            "MessageId": self.message_id,
            "From": self.sender,
            "To": self.to,
            "Owner": self.owner,
            "Body": self.body,
            "Segments": self.segments,
            "ReceivedAt": iso(self.received_at),
        }


@dataclass(frozen=True)
class Unrecognised:
    """Neither a receipt nor an inbound message; `problem` never quotes the payload."""

    problem: str
    message_id: str | None = None


Parsed = Receipt | Inbound | Unrecognised

# ---------------------------------------------------------------- parsing

_MESSAGE_ID = ("messageid",)
_STATUS = ("status", "deliverystatus", "messagestatus")
_TIME = ("deliveredon", "deliveredat", "statusat", "timestamp", "donedate", "datetime", "updatedon", "date")
_ERROR = ("errorcode", "error", "reason")
_WRAPPERS = ("data", "payload", "message", "receipt", "result", "detail")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def _norm(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in data.items():
        fields.setdefault(_norm(str(name)), value)
    return fields


def _first(fields: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (naive means UTC) or epoch seconds/milliseconds; None when unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value)):
        number = float(value)
        if number > 1e11:
            number /= 1000
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    # .NET writes seven fractional digits; Python reads at most six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = parse_iso(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _payload_objects(envelope: Mapping[str, Any]) -> list[Any]:
    """The objects the request carried: JSON (object or list), form fields, and the query string."""
    raw_body = envelope.get("Body") or ""
    if envelope.get("BodyBase64"):
        raw_body = base64.b64decode(raw_body).decode("utf-8", errors="replace")
    content_type = str(envelope.get("ContentType") or "").lower()
    query = _form(str(envelope.get("Query") or ""))
    body: Any = None
    if raw_body.strip():
        if "json" in content_type:
            body = _json(raw_body)
        elif "form" in content_type:
            body = _form(raw_body)
        else:
            body = _json(raw_body)
            if body is None and "=" in raw_body:
                body = _form(raw_body)
    if isinstance(body, list):
        return [item if not isinstance(item, Mapping) else {**query, **item} for item in body]
    if isinstance(body, Mapping):
        return [{**query, **body}]
    if query:
        return [query]
    return [body] if body is not None else []


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _form(text: str) -> dict[str, str]:
    return {name: values[0] for name, values in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def _unwrapped(fields: dict[str, Any]) -> dict[str, Any]:
    """One level of wrapping ({"data": {...}}) when the outer object names no message."""
    if _first(fields, _MESSAGE_ID) is not None or "messagebody" in fields:
        return fields
    for name in _WRAPPERS:
        inner = fields.get(name)
        if isinstance(inner, Mapping):
            return _fields(inner)
    return fields


def _one(item: Any, received_at: datetime) -> Parsed:
    if not isinstance(item, Mapping):
        return Unrecognised("payload is not an object")
    fields = _unwrapped(_fields(item))
    message_id = _text(_first(fields, _MESSAGE_ID))
    direction = (_text(fields.get("direction")) or "").lower()
    if direction == "inbound" or ("messagebody" in fields and direction != "outbound"):
        segments = _text(_first(fields, ("segment", "segments")))
        return Inbound(
            message_id=message_id,
            sender=_text(fields.get("from")),
            to=_text(fields.get("to")),
            owner=_text(fields.get("owner")),
            body=_text(_first(fields, ("messagebody", "body"))),
            segments=int(segments) if segments and segments.isdigit() else None,
            received_at=received_at,
        )
    if message_id is None:
        return Unrecognised("no message id")
    vendor_status = _text(_first(fields, _STATUS))
    if vendor_status is None:
        return Unrecognised("no status", message_id)
    return Receipt(
        message_id=message_id,
        vendor_status=vendor_status,
        status=map_vendor_status(vendor_status),
        occurred_at=parse_time(_first(fields, _TIME)),
        received_at=received_at,
        error_code=_text(_first(fields, _ERROR)),
    )


def parse_envelope(text: str) -> list[Parsed]:
    """Everything one queued webhook call carried (usually one receipt)."""
    envelope = _json(text)
    if not isinstance(envelope, Mapping):
        return [Unrecognised("not a webhook envelope")]
    received_at = parse_time(envelope.get("ReceivedAt")) or datetime.now(UTC)
    try:
        objects = _payload_objects(envelope)
    except ValueError:
        return [Unrecognised("body is not decodable")]
    if not objects:
        return [Unrecognised("empty payload")]
    return [_one(item, received_at) for item in objects]
