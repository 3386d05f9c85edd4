"""SQS batch -> Telegent. Thin: Powertools decorators and one partial-batch call."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_runtime import retry_batch_if_misconfigured
from observability import capture_lambda_handler, logger, metrics
from sender.batch import process_concurrently
from sender.pipeline import begin_invocation, handle_record
from sender.wiring import get_dependencies


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@capture_lambda_handler
@retry_batch_if_misconfigured("sender")
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    records = event.get("Records") or []
    deps = get_dependencies()
    deps.once.register_lambda_context(context)
    begin_invocation(records, deps, context.get_remaining_time_in_millis())
    record_handler = partial(handle_record, deps=deps, remaining_ms=context.get_remaining_time_in_millis)
    return process_concurrently(event, record_handler, deps.settings.send_concurrency, context)
