"""Status updates of result rows in DynamoDB (DESIGN.md sections 3 and 8), the lifecycle rule as conditions.

Every tracking write sets StatusRank = RANK_FINAL, so a replayed send outcome (rank 1) never
hides it; among tracking writes the ladder decides, as a condition on the current Status
(`messaging.lifecycle.statuses_replaceable_by`). A condition that fails means "changes nothing":
duplicates and out-of-order receipts are no-ops by construction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aws_adapters.calls import CONDITION_FAILED, aws_call, aws_call_unless, error_code, failed
from messaging import names
from messaging.lifecycle import RANK_FINAL, Status, statuses_replaceable_by
from messaging.rows import iso, parse_iso
from messaging.tracking import PollCandidate, StatusChange, StatusUpdate, sent_at_of


def _plain(attribute: dict[str, Any] | None) -> Any:
    if not attribute:
        return None
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        return attribute["N"]
    return None


def _plain_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in item.items()}


def _status(text: Any) -> Status | None:
    try:
        return Status(text)
    except ValueError:
        return None


class DynamoStatusStore:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def request_id_for(self, message_id: str) -> str | None:
        items = self._query(
            "looking up the MessageId",
            names.MESSAGES_MESSAGE_ID_INDEX,
            "#mid = :mid",
            {"#mid": names.MESSAGES_MESSAGE_ID_ATTRIBUTE},
            {":mid": {"S": message_id}},
            limit=1,
        )
        return _plain(items[0].get(names.MESSAGES_PARTITION_KEY)) if items else None

    def apply(self, request_id: str, update: StatusUpdate) -> StatusChange | None:
        allowed = statuses_replaceable_by(update.status)
        if not allowed:
            return None
        attribute_names = {
            "#pk": names.MESSAGES_PARTITION_KEY,
            "#status": "Status",
            "#rank": "StatusRank",
            "#statusAt": "StatusAt",
            "#source": "StatusSource",
            "#updated": "UpdatedAt",
            "#shard": names.MESSAGES_POLL_SHARD_ATTRIBUTE,
            "#pollAt": names.MESSAGES_POLL_AT_ATTRIBUTE,
        }
        values: dict[str, Any] = {
            ":status": {"S": update.status.value},
            ":rank": {"N": str(RANK_FINAL)},
            ":statusAt": {"S": iso(update.status_at)},
            ":source": {"S": update.source},
            ":updated": {"S": iso(update.written_at)},
        }
        sets = ["#status = :status", "#rank = :rank", "#statusAt = :statusAt", "#source = :source"]
        sets.append("#updated = :updated")
        optional = {
            "VendorStatus": update.vendor_status,
            "ErrorCode": update.error_code,
            "DeliveredAt": iso(update.delivered_at) if update.delivered_at else None,
        }
        for index, (name, value) in enumerate(optional.items()):
            if value is not None:
                attribute_names[f"#o{index}"] = name
                values[f":o{index}"] = {"S": value}
                sets.append(f"#o{index} = :o{index}")
        placeholders = []
        for index, status in enumerate(allowed):
            values[f":from{index}"] = {"S": status.value}
            placeholders.append(f":from{index}")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={names.MESSAGES_PARTITION_KEY: {"S": request_id}},
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE #shard, #pollAt",
                ConditionExpression=f"attribute_exists(#pk) AND #status IN ({', '.join(placeholders)})",
                ExpressionAttributeNames=attribute_names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED:
                return None
            raise failed("updating the status", exc) from None
        except BotoCoreError as exc:
            raise failed("updating the status", exc) from None
        old = _plain_item(response.get("Attributes") or {})
        return StatusChange(request_id=request_id, previous=_status(old.get("Status")), sent_at=sent_at_of(old))

    def refresh_vendor_status(self, request_id: str, vendor_status: str, status_at: datetime) -> bool:
        return self._conditional(
            "refreshing the vendor status",
            Key={names.MESSAGES_PARTITION_KEY: {"S": request_id}},
            UpdateExpression="SET #vs = :vs, #statusAt = :at",
            ConditionExpression="#status = :sent AND (attribute_not_exists(#statusAt) OR #statusAt < :at)",
            ExpressionAttributeNames={"#vs": "VendorStatus", "#statusAt": "StatusAt", "#status": "Status"},
            ExpressionAttributeValues={
                ":vs": {"S": vendor_status},
                ":at": {"S": iso(status_at)},
                ":sent": {"S": Status.SENT.value},
            },
        )

    def due_for_poll(self, now: datetime, limit: int) -> list[PollCandidate]:
        if limit <= 0:
            return []
        due = self._query(
            "reading the poll index",
            names.MESSAGES_POLL_INDEX,
            "#shard = :shard AND #pollAt <= :now",
            {"#shard": names.MESSAGES_POLL_SHARD_ATTRIBUTE, "#pollAt": names.MESSAGES_POLL_AT_ATTRIBUTE},
            {":shard": {"S": names.POLL_SHARD}, ":now": {"S": iso(now)}},
            limit=limit,
        )
        candidates = []
        for raw in due:
            item = _plain_item(raw)
            poll_at = item.get(names.MESSAGES_POLL_AT_ATTRIBUTE)
            try:
                poll_at_time = parse_iso(poll_at) if poll_at else None
            except ValueError:
                poll_at_time = None
            candidates.append(
                PollCandidate(
                    request_id=item[names.MESSAGES_PARTITION_KEY],
                    message_id=item.get(names.MESSAGES_MESSAGE_ID_ATTRIBUTE),
                    status=_status(item.get("Status")),
                    sent_at=sent_at_of(item),
                    poll_at=poll_at_time,
                    poll_count=int(item.get(names.MESSAGES_POLL_COUNT_ATTRIBUTE) or 0),
                )
            )
        return candidates

    def reschedule_poll(self, request_id: str, poll_at: datetime, poll_count: int) -> bool:
        return self._conditional(
            "rescheduling the poll",
            Key={names.MESSAGES_PARTITION_KEY: {"S": request_id}},
            UpdateExpression="SET #pollAt = :pollAt, #count = :count",
            ConditionExpression="#status = :sent AND attribute_exists(#shard)",
            ExpressionAttributeNames={
                "#pollAt": names.MESSAGES_POLL_AT_ATTRIBUTE,
                "#count": names.MESSAGES_POLL_COUNT_ATTRIBUTE,
                "#status": "Status",
                "#shard": names.MESSAGES_POLL_SHARD_ATTRIBUTE,
            },
            ExpressionAttributeValues={
                ":pollAt": {"S": iso(poll_at)},
                ":count": {"N": str(poll_count)},
                ":sent": {"S": Status.SENT.value},
            },
        )

    # -- internals

    def _query(
        self,
        what: str,
        index: str,
        condition: str,
        attribute_names: dict[str, str],
        values: dict[str, Any],
        *,
        limit: int,
    ) -> list[dict[str, Any]]:
        response = aws_call(
            what,
            self._client.query,
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=attribute_names,
            ExpressionAttributeValues=values,
            Limit=limit,
        )
        return list(response.get("Items") or [])

    def _conditional(self, what: str, **request: Any) -> bool:
        return aws_call_unless(what, {CONDITION_FAILED}, self._client.update_item, TableName=self._table, **request)
