"""At most one send per idempotency key, with Powertools idempotency on DynamoDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from sender.errors import IdempotencyConflict, TransientError, TransientKind
from sender.results import DynamoResultStore, ResultRow

# Longer than SQS's 14-day maximum retention, so no redelivery can outlive its record.
IDEMPOTENCY_EXPIRY_SECONDS = 15 * 24 * 3600
COMMIT_ATTEMPTS = 5
COMMIT_BACKOFF = 0.025  # seconds, doubled per attempt
# Fixed so records stay valid across code refactors and function renames.
KEY_PREFIX = "telegent-sms#send"

Outcome = dict[str, Any]


class OnceGate(Protocol):
    def register_lambda_context(self, context: LambdaContext) -> None: ...

    def run(self, key: str, fingerprint: dict[str, Any], action: Callable[[], Outcome]) -> tuple[Outcome, bool]:
        """Run `action` once per key; returns (outcome, ran_now). Replays return the stored outcome."""
        ...


class PowertoolsOnceGate:
    def __init__(self, persistence: BasePersistenceLayer) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
        )

        @idempotent_function(
            data_keyword_argument="identity",
            persistence_store=persistence,
            config=self.config,
            key_prefix=KEY_PREFIX,
        )
        def guarded(identity: dict[str, Any], action: Callable[[], Outcome], ran: list[bool]) -> Outcome:
            ran.append(True)
            return action()

        self._guarded = guarded

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets an in-progress record expire when the invocation that wrote it has timed out."""
        self.config.register_lambda_context(context)

    def run(self, key: str, fingerprint: dict[str, Any], action: Callable[[], Outcome]) -> tuple[Outcome, bool]:
        ran: list[bool] = []
        try:
            outcome = self._guarded(identity={"key": key, "payload": fingerprint}, action=action, ran=ran)
        except IdempotencyValidationError:
            raise IdempotencyConflict() from None
        except IdempotencyAlreadyInProgressError:
            raise TransientError(TransientKind.IN_PROGRESS, "another invocation is sending this key") from None
        except IdempotencyPersistenceLayerError as exc:
            # The action's own errors pass through untouched; this is the idempotency table failing.
            raise TransientError(TransientKind.DEPENDENCY, f"idempotency store: {exc}") from None
        return outcome, bool(ran)


@dataclass
class PendingRow:
    """Set by the send path before the idempotent action; the action puts the outcome's row here."""

    row: ResultRow | None = None
    written: bool = False


pending_row: ContextVar[PendingRow | None] = ContextVar("pending_row", default=None)


class RowCommittingClient:
    """The DynamoDB client handed to the idempotency layer.

    When the action left a result row pending, the idempotency layer's "completed" UpdateItem and
    the row write go out as one TransactWriteItems: the outcome and its row commit together, and a
    fresh send costs two DynamoDB requests (in-progress put + this) instead of three.
    """

    def __init__(self, client: Any, rows: DynamoResultStore) -> None:
        self._client = client
        self._rows = rows

    def update_item(self, **request: Any) -> Any:
        pending = pending_row.get()
        if pending is None or pending.row is None or pending.written:
            return self._client.update_item(**request)
        items = [{"Update": request}, {"Put": self._rows.put_request(pending.row)}]
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                response = self._client.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    # A newer state is already recorded for this key: complete the idempotency record alone.
                    pending.written = True
                    return self._client.update_item(**request)
                # The message is already with the vendor: losing this write means sending it again later,
                # so conflicts and throttling get more patience than the SDK's own retries.
                retryable = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"} & set(reasons)
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if attempt == COMMIT_ATTEMPTS or not (retryable or status >= 500):
                    raise
                time.sleep(COMMIT_BACKOFF * 2**attempt)
                continue
            pending.written = True
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
