"""At most one send per idempotency key, with Powertools idempotency on DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from sender.errors import IdempotencyConflict, TransientError, TransientKind

# Longer than SQS's 14-day maximum retention, so no redelivery can outlive its record.
IDEMPOTENCY_EXPIRY_SECONDS = 15 * 24 * 3600
# Fixed so records stay valid across code refactors and function renames.
KEY_PREFIX = "telegent-sms#send"

Outcome = dict[str, Any]


class OnceGate(Protocol):
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
