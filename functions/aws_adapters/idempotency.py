"""At most one send per idempotency key: Powertools idempotency on DynamoDB, with the result row
committed in the same transaction as the outcome.

`RowCommittingPersistenceLayer` is a subclass of Powertools' `DynamoDBPersistenceLayer` (its
documented extension point for persistence stores). Its "completed" write carries the outcome's
result row: both go out as one TransactWriteItems, so a fresh send costs two DynamoDB requests
(in-progress put + this) and the outcome and its row land together.

If the row cannot be written (the messages table is gone, unreachable, or the row refused), the
idempotency record is still completed on its own: the vendor has the message, and that fact must
be durable before anything else. The outcome holds the row, so the next receive replays it and
writes the row then, without sending again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import BotoCoreError, ClientError

from aws_adapters.calls import error_code
from aws_adapters.result_rows import DynamoResultStore
from messaging.errors import IdempotencyConflict, TransientError, TransientKind
from messaging.lifecycle import Status
from messaging.ports import Once
from messaging.rows import ResultRow
from observability import logger

# Longer than SQS's 14-day maximum retention, so no redelivery can outlive its record.
IDEMPOTENCY_EXPIRY_SECONDS = 15 * 24 * 3600
COMMIT_ATTEMPTS = 5
COMMIT_BACKOFF = 0.025  # seconds, doubled per attempt
RETRYABLE_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# Fixed so records stay valid across code refactors and function renames.
KEY_PREFIX = "telegent-sms#send"
ROW = "Row"  # the outcome's field holding the result row


class RowCommittingPersistenceLayer(DynamoDBPersistenceLayer):
    def __init__(self, table_name: str, client: Any, rows: DynamoResultStore) -> None:
        super().__init__(table_name=table_name, boto3_client=client)
        self._rows = rows
        self._row_written: dict[str, bool] = {}
        self._lock = threading.Lock()

    def take_row_written(self, request_id: str) -> bool:
        """Whether the last completion for this request also wrote its row (asked once, then forgotten)."""
        with self._lock:
            return self._row_written.pop(request_id, False)

    def _update_record(self, data_record: DataRecord) -> None:
        stored = json.loads(data_record.response_data) if data_record.response_data else None
        if not (isinstance(stored, Mapping) and isinstance(stored.get(ROW), Mapping)):
            super()._update_record(data_record)
            return
        row = ResultRow.from_record(stored[ROW])
        written = self._commit_with_row(data_record, row)
        with self._lock:
            self._row_written[row.request_id] = written

    def _completion(self, data_record: DataRecord) -> dict[str, Any]:
        """The same "completed" update as the parent's, as a transaction item."""
        names = {"#expiry": self.expiry_attr, "#response_data": self.data_attr, "#status": self.status_attr}
        values: dict[str, Any] = {
            ":expiry": {"N": str(data_record.expiry_timestamp)},
            ":response_data": {"S": data_record.response_data},
            ":status": {"S": data_record.status},
        }
        expression = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
        if self.payload_validation_enabled:
            expression += ", #validation_key = :validation_key"
            names["#validation_key"] = self.validation_key_attr
            values[":validation_key"] = {"S": data_record.payload_hash}
        return {
            "TableName": self.table_name,
            "Key": {self.key_attr: {"S": data_record.idempotency_key}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _commit_with_row(self, data_record: DataRecord, row: ResultRow) -> bool:
        """True when the row went out with the completion; False when the completion went alone."""
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                items: Any = [{"Update": self._completion(data_record)}, {"Put": self._rows.put_new_request(row)}]
                self.client.transact_write_items(TransactItems=items)
                return True
            except ClientError as exc:
                reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                retryable = bool(RETRYABLE_CANCELLATIONS & set(reasons)) or status >= 500
                if retryable and attempt < COMMIT_ATTEMPTS:
                    # The message is already with the vendor: more patience than the SDK's own retries.
                    time.sleep(COMMIT_BACKOFF * 2**attempt)
                    continue
                if not (len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed"):
                    # Not "the row exists" (the store replaces that one itself): the messages table failed.
                    logger.warning("result row not committed with the outcome", extra={"error": error_code(exc)})
            except (BotoCoreError, TypeError, ValueError) as exc:  # network, or a value DynamoDB cannot hold
                logger.warning("result row not committed with the outcome", extra={"error": type(exc).__name__})
            break
        # Make the vendor's answer durable first; the row is written by the caller or by a replay.
        super()._update_record(data_record)
        return False


def send_gate_config() -> IdempotencyConfig:
    """The send gate's configuration: the record is keyed by the request's key, validated by its payload."""
    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )


class PowertoolsOnceGate:
    def __init__(self, persistence: RowCommittingPersistenceLayer) -> None:
        self._persistence = persistence
        self.config = send_gate_config()

        @idempotent_function(
            data_keyword_argument="identity",
            persistence_store=persistence,
            config=self.config,
            key_prefix=KEY_PREFIX,
        )
        def guarded(identity: dict[str, Any], action: Callable[[], ResultRow], ran: list[bool]) -> dict[str, Any]:
            ran.append(True)
            return {ROW: action().to_record()}

        self._guarded = guarded

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def run(self, key: str, fingerprint: dict[str, Any], action: Callable[[], ResultRow]) -> Once:
        ran: list[bool] = []
        try:
            outcome = self._guarded(identity={"key": key, "payload": fingerprint}, action=action, ran=ran)
        except IdempotencyValidationError:
            raise IdempotencyConflict() from None
        except IdempotencyAlreadyInProgressError:
            raise TransientError(TransientKind.IN_PROGRESS, "another invocation is sending this key") from None
        except IdempotencyPersistenceLayerError as exc:
            # The action's own errors pass through untouched; this is the idempotency table failing.
            if ran:
                logger.error("sent but not recorded: the idempotency store failed after the send")
            raise TransientError(TransientKind.DEPENDENCY, f"idempotency store: {exc}") from None
        row = ResultRow.from_record(outcome[ROW])
        ran_now = bool(ran)
        return Once(row=row, ran_now=ran_now, row_written=ran_now and self._persistence.take_row_written(key))


class StoredOutcomes:
    """The send gate's stored outcomes, for operators (`telegent-sms dlq redrive`).

    A key whose stored outcome is REJECTED (media missing, a vendor 4xx, ...) replays that rejection
    to every later copy for IDEMPOTENCY_EXPIRY_SECONDS: right for a producer's duplicate, wrong for
    a copy an operator redrives after fixing the cause. `forget_rejection` deletes such a record,
    and only such a record (never a SENT or EXPIRED outcome, nor one in progress), so the redriven
    copy is decided again. Nothing was sent for a REJECTED outcome; an AMBIGUOUS_UNRESOLVED one
    keeps its attempt item, so the next decision reconciles before any send (DESIGN.md 4b).
    """

    def __init__(self, table_name: str, client: Any) -> None:
        self._client = client
        self._layer = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._layer.configure(send_gate_config(), key_prefix=KEY_PREFIX)

    def record_key(self, key: str) -> str:
        """The record's `id` for a request key, hashed exactly as the gate hashes it."""
        hashed = self._layer._get_hashed_idempotency_key({"key": key})
        if hashed is None:  # pragma: no cover - raise_on_no_idempotency_key raises first
            raise ValueError("no idempotency key")
        return hashed

    def forget_rejection(self, key: str) -> bool:
        """Delete the key's record when it stores a completed REJECTED outcome; True when one was deleted."""
        layer = self._layer
        record_id = {layer.key_attr: {"S": self.record_key(key)}}
        item = self._client.get_item(TableName=layer.table_name, Key=record_id, ConsistentRead=True).get("Item")
        if not item or item.get(layer.status_attr, {}).get("S") != "COMPLETED":
            return False
        data = item.get(layer.data_attr, {}).get("S")
        try:
            stored = json.loads(data) if data else None
        except ValueError:
            return False
        row = stored.get(ROW) if isinstance(stored, Mapping) else None
        if not isinstance(row, Mapping) or row.get("status") != Status.REJECTED.value:
            return False
        try:
            # Only the outcome just read: a record replaced meanwhile (a new decision) is left alone.
            self._client.delete_item(
                TableName=layer.table_name,
                Key=record_id,
                ConditionExpression="#data = :data",
                ExpressionAttributeNames={"#data": layer.data_attr},
                ExpressionAttributeValues={":data": {"S": data}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
