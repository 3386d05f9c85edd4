"""Reading `GET /message/search` answers tolerantly (telegent-api.md section 4, DESIGN.md section 6b).

Documented shape: `{PhoneNumber, ResultsTotalRecords, ResultsPages, Results: [{MessageID, Direction,
Type, CampaignID, Cost: "$0.0045", Status, To: [{Number}], From, Owner, Body, ...}]}`. Field names
in any case, the body flat or wrapped in `Data`, `To` as an array of objects, of strings, or one
comma-separated string. The example shows no creation time; when one is there (`CreatedOn` as in
the send and details answers, or a similar name) it is read, in the two formats the vendor is
known to use; a time without a zone is taken as UTC (the vendor's token expiry is UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from messaging.ambiguity import SearchPage, VendorMessage
from telegent.reading import ci_get, parse_cost, unwrap_data

TIME_FIELDS = ("CreatedOn", "CreatedAt", "DateCreated", "Created", "CreatedDate", "Timestamp")
RESULT_FIELDS = ("Results", "Messages", "Items")
# "16:45:59 MST 2025-01-23": a US zone abbreviation between time and date.
_ZONED_TIME = re.compile(r"(\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)\s+([A-Za-z]{1,5})\s+(\d{4}-\d{2}-\d{2})")
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AKST": -9,
    "AKDT": -8,
    "HST": -10,
}


def parse_vendor_time(value: Any) -> datetime | None:
    """A timezone-aware time from the vendor's `CreatedOn` spellings, else None."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    zoned = _ZONED_TIME.fullmatch(text)
    if zoned:
        clock, zone, day = zoned.groups()
        offset = _ZONES.get(zone.upper())
        if offset is None:
            return None
        try:
            naive = datetime.fromisoformat(f"{day}T{clock}")
        except ValueError:
            return None
        return naive.replace(tzinfo=timezone(timedelta(hours=offset)))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _numbers(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        return ()
    numbers: list[str] = []
    for item in value:
        number = ci_get(item, "Number") if isinstance(item, Mapping) else item
        if isinstance(number, str) and number.strip():
            numbers.append(number.strip())
    return tuple(numbers)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _message(item: Any) -> VendorMessage | None:
    if not isinstance(item, Mapping):
        return None
    message_id = ci_get(item, "MessageId")
    if isinstance(message_id, bool) or not isinstance(message_id, str | int) or not str(message_id).strip():
        return None
    created = next((parse_vendor_time(ci_get(item, name)) for name in TIME_FIELDS if ci_get(item, name)), None)
    message_type = _text(ci_get(item, "MessageType"))
    return VendorMessage(
        message_id=str(message_id).strip(),
        direction=_text(ci_get(item, "Direction")),
        sender=_text(ci_get(item, "From")),
        to=_numbers(ci_get(item, "To")),
        body=_text(ci_get(item, "Body")),
        created_at=created,
        status=_text(ci_get(item, "Status")),
        cost=parse_cost(ci_get(item, "Cost")),
        message_type=message_type.lower() if message_type else None,
    )


def read_search_page(data: Any) -> SearchPage | None:
    """The page's messages (unreadable entries skipped), or None when the answer is not a search answer."""
    data = unwrap_data(data)
    results: Any = data if isinstance(data, list) else None
    if isinstance(data, Mapping):
        results = next((ci_get(data, name) for name in RESULT_FIELDS if ci_get(data, name) is not None), None)
        if results is None and ci_get(data, "ResultsTotalRecords") in (0, "0"):
            results = []
    if not isinstance(results, list):
        return None
    pages = ci_get(data, "ResultsPages") if isinstance(data, Mapping) else None
    try:
        page_count = int(pages) if pages is not None and not isinstance(pages, bool) else None
    except (TypeError, ValueError):
        page_count = None
    messages = tuple(message for message in map(_message, results) if message is not None)
    return SearchPage(messages=messages, pages=page_count)
