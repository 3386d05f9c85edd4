"""What integration tests share (fixtures live in conftest.py): the Stack around one isolated
world, request bodies, and the sender's captured log lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from infra.local.esm_runner import DrainSummary, EventSourceRunner
from infra.local.sandbox import TelegentSandbox
from infra.local.world import World
from sender import handler as sender_handler
from sender.wiring import reset_dependencies

# Short but realistic: retries come back within seconds, the suite stays fast.
VISIBILITY_TIMEOUT = 2
MAX_RECEIVE_COUNT = 3
FAST_VENDOR_TIMEOUTS = {"TELEGENT_CONNECT_TIMEOUT_SECONDS": "1", "TELEGENT_READ_TIMEOUT_SECONDS": "1.5"}


@dataclass
class Stack:
    """One isolated set of resources plus the handler's environment pointing at it."""

    world: World
    sandbox: TelegentSandbox
    monkeypatch: pytest.MonkeyPatch

    def configure(self, **env: str) -> None:
        """Change the sender's environment; the next invocation rebuilds its wiring (a new container)."""
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        reset_dependencies()

    def runner(self, **kwargs: Any) -> EventSourceRunner:
        kwargs.setdefault("wait_time_seconds", 0)
        return self.world.runner(sender_handler.handler, **kwargs)

    def send(self, *bodies: str | dict[str, Any], **attributes: Any) -> list[str]:
        return self.world.send_bodies(list(bodies), message_attributes=attributes or None)

    def drain(self, max_seconds: float = 30, **kwargs: Any) -> DrainSummary:
        summary = self.runner(**kwargs).run_until_drained(max_seconds=max_seconds)
        assert summary.drained, f"queue not drained in {max_seconds}s: {summary}"
        return summary

    def rows(self) -> dict[str, dict[str, Any]]:
        return {row["RequestId"]: row for row in self.world.result_rows()}

    def dlq(self) -> list[dict[str, Any]]:
        return self.world.dlq_messages()

    def outbound(self) -> list[dict[str, Any]]:
        return self.sandbox.sent_messages()


SMS = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Your order has shipped"}


def sms(key: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {**SMS, **fields}
    if key:
        body["IdempotencyKey"] = key
    return body


class LogCapture:
    """The JSON lines the sender's Powertools logger emits, formatted exactly as in Lambda."""

    def __init__(self) -> None:
        import io
        import logging

        from observability import logger

        self._buffer = io.StringIO()
        self._handler = logging.StreamHandler(self._buffer)
        self._handler.setFormatter(logger.registered_formatter)
        self._logger = logger
        logger.addHandler(self._handler)

    def text(self) -> str:
        return self._buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
