"""SQS batch -> Telegent. Thin: Powertools decorators and one process_partial_response call."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from sender.concurrency import ConcurrentBatchProcessor
from sender.dependencies import get_dependencies
from sender.observability import capture_lambda_handler, logger, metrics
from sender.processor import begin_invocation, handle_record
from sender.settings import ConfigurationError


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    records = event.get("Records") or []
    try:
        deps = get_dependencies()
    except ConfigurationError as error:
        # Misconfigured deployment: keep every message for after the fix.
        logger.error("sender is misconfigured; the whole batch will be retried", extra={"reason": str(error)})
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
    deps.once.register_lambda_context(context)
    begin_invocation(records, deps, context.get_remaining_time_in_millis())
    # A batch where every record failed still returns its item failures: no function error, same retries.
    processor = ConcurrentBatchProcessor(deps.settings.send_concurrency, raise_on_entire_batch_failure=False)
    record_handler = partial(handle_record, deps=deps, remaining_ms=context.get_remaining_time_in_millis)
    return process_partial_response(
        event=event,
        record_handler=lambda record: record_handler(record.raw_event),
        processor=processor,
        context=context,
    )
