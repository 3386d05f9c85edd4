"""Wiring built once per container, and the all-records retry response."""

import io
import logging
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from lambda_runtime import PerContainer, retry_batch_if_misconfigured, retry_every_record
from messaging.settings import ConfigurationError
from observability import logger


def test_built_once_on_first_use_and_shared_by_threads() -> None:
    builds: list[int] = []

    def build() -> object:
        builds.append(1)
        return object()

    container = PerContainer(build)
    assert builds == []  # nothing at construction (import) time
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(container.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert all(value is seen[0] for value in seen)


def test_reset_builds_anew() -> None:
    container = PerContainer(object)
    first = container.get()
    container.reset()
    assert container.get() is not first


def test_every_record_is_kept_for_a_retry() -> None:
    assert retry_every_record([{"messageId": "a"}, {"messageId": "b"}]) == {
        "batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]
    }


def test_a_misconfigured_function_keeps_every_record_and_says_why() -> None:
    buffer = io.StringIO()
    log_handler = logging.StreamHandler(buffer)
    logger.addHandler(log_handler)

    @retry_batch_if_misconfigured("sender")
    def handler(event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        raise ConfigurationError("missing environment variables: MESSAGES_TABLE")

    try:
        response = handler({"Records": [{"messageId": "a"}, {"messageId": "b"}]}, None)
    finally:
        logger.removeHandler(log_handler)
    assert response == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}
    assert "sender is misconfigured" in buffer.getvalue()


def test_the_real_sender_without_its_settings_retries_the_whole_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    from sender.handler import handler
    from sender.wiring import reset_dependencies

    for name in ("TELEGENT_SECRET_ID", "MESSAGES_TABLE", "IDEMPOTENCY_TABLE", "DLQ_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_dependencies()
    event = {"Records": [{"messageId": "m1", "body": "{}", "attributes": {}, "eventSourceARN": ""}]}
    assert handler(event, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    reset_dependencies()


class FakeContext:
    function_name = "sender"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sender"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
