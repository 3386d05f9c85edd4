"""Result rows (DESIGN.md section 3): one item per request, the record of what became of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from messaging.lifecycle import Status


@dataclass(frozen=True)
class ResultRow:
    request_id: str
    status: Status
    rank: int
    updated_at: datetime
    source_message_id: str
    attempts: int
    to: tuple[str, ...] = ()
    sender: str | None = None
    campaign_id: str | None = None
    message_type: str | None = None
    message_id: str | None = None
    vendor_status: str | None = None
    cost: Decimal | None = None
    error_code: str | None = None
    error_message: str | None = None

    def attributes(self, ttl_days: int) -> dict[str, Any]:
        """Row attributes, without the key and without empty values."""
        return {name: value for name, value in self.attribute_values(ttl_days).items() if value is not None}

    def attribute_values(self, ttl_days: int) -> dict[str, Any]:
        """Every row attribute, None where this state has no value (a store replacing a row removes those).

        `CreatedAt` is the time of this write; the store keeps the first write's value when the
        row already exists.
        """
        updated = self.updated_at.astimezone(UTC)
        values: dict[str, Any] = {
            "Status": self.status.value,
            "StatusRank": self.rank,
            "UpdatedAt": iso(updated),
            "CreatedAt": iso(updated),
            "ExpiresAt": int((updated + timedelta(days=ttl_days)).timestamp()),
            "Attempts": self.attempts,
            "SourceMessageId": self.source_message_id,
            "To": self.to[0] if len(self.to) == 1 else (list(self.to) or None),
            "From": self.sender,
            "CampaignId": self.campaign_id,
            "MessageType": self.message_type,
            "MessageId": self.message_id,
            "VendorStatus": self.vendor_status,
            "Cost": self.cost,
            "ErrorCode": self.error_code,
            "ErrorMessage": self.error_message,
        }
        return values

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe form, stored as the idempotency record's outcome so a replay can rewrite the row."""
        record = asdict(self)
        record.update(
            status=self.status.value,
            updated_at=iso(self.updated_at),
            to=list(self.to),
            cost=str(self.cost) if self.cost is not None else None,
        )
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ResultRow:
        cost = record.get("cost")
        return cls(
            request_id=record["request_id"],
            status=Status(record["status"]),
            rank=int(record["rank"]),
            updated_at=parse_iso(record["updated_at"]),
            source_message_id=record["source_message_id"],
            attempts=int(record["attempts"]),
            to=tuple(record.get("to") or ()),
            sender=record.get("sender"),
            campaign_id=record.get("campaign_id"),
            message_type=record.get("message_type"),
            message_id=record.get("message_id"),
            vendor_status=record.get("vendor_status"),
            cost=Decimal(cost) if cost is not None else None,
            error_code=record.get("error_code"),
            error_message=record.get("error_message"),
        )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_utc() -> datetime:
    return datetime.now(UTC)
