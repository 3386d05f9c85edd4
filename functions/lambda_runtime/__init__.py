"""What every function needs from the Lambda runtime: wiring built once per container, and the
batch response that keeps every record for a retry."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from messaging.settings import ConfigurationError
from observability import logger

T = TypeVar("T")
BatchHandler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


class PerContainer(Generic[T]):
    """A value built on first use (not at import) and reused by every later invocation of the container."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._build()
        return value

    def reset(self) -> None:
        """Forget the value (tests that change the environment between invocations: a new container)."""
        with self._lock:
            self._value = None


def retry_every_record(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A partial-batch response failing every record: a misconfigured function keeps them all for after the fix."""
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in records]}


def retry_batch_if_misconfigured(function: str) -> Callable[[BatchHandler], BatchHandler]:
    """A batch handler whose wiring finds a setting missing keeps every record for after the fix."""

    def decorate(handler: BatchHandler) -> BatchHandler:
        @functools.wraps(handler)
        def guarded(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
            try:
                return handler(event, context)
            except ConfigurationError as error:
                logger.error(
                    f"{function} is misconfigured; the whole batch will be retried", extra={"reason": str(error)}
                )
                return retry_every_record(event.get("Records") or [])

        return guarded

    return decorate
