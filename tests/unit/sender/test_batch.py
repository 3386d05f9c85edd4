"""Every failed record of a batch leaves a log line, even one the record handler could not log."""

import io
import json
import logging
from collections.abc import Mapping
from typing import Any

from infra.local.lambda_context import FakeLambdaContext
from observability import logger
from sender.batch import process_concurrently
from tests.unit.fakes import sqs_record


def test_a_failed_record_is_reported_and_logged_with_its_type_only() -> None:
    def handle(record: Mapping[str, Any]) -> None:
        if record["messageId"] == "bad":
            raise ValueError("invalid literal for int() with base 10: 'Your secret body +18015737111'")

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        event = {"Records": [sqs_record({}, "good"), sqs_record({}, "bad")]}
        response = process_concurrently(event, handle, 4, FakeLambdaContext())  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    (line,) = [json.loads(text) for text in buffer.getvalue().splitlines()]
    assert line["message"] == "record reported as a batch item failure"
    assert (line["sqs_message_id"], line["error_type"]) == ("bad", "ValueError")
    assert "secret" not in buffer.getvalue()
    assert "8015737111" not in buffer.getvalue()
