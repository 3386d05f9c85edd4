"""The telegent.sms.status event of a row change (DESIGN.md section 8). Pure: plain dicts in, a detail out.

No Body and no phone numbers: the detail is built from an allow-list, never from the row as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from messaging.names import DRY_RUN_PREFIX

DETAIL_FIELDS = ("RequestId", "MessageId", "VendorStatus", "ErrorCode", "CampaignId", "StatusAt", "Segments", "Cost")


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def status_event_detail(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The detail when the row's Status changed (a new row counts as a change); None otherwise."""
    if not new or "Status" not in new:
        return None
    if str(new.get("RequestId", "")).startswith(DRY_RUN_PREFIX):
        return None  # a dry run's row (DESIGN.md 9) is its answer, not a status change of a request
    previous = (old or {}).get("Status")
    if previous == new["Status"]:
        return None
    detail = {name: _json_value(new.get(name)) for name in DETAIL_FIELDS}
    detail["Status"] = new["Status"]
    detail["PreviousStatus"] = previous
    return detail
