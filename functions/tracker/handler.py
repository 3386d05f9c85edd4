"""Status queue -> result rows and inbound events. Thin: Powertools decorators and one partial-batch call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_runtime import retry_batch_if_misconfigured
from observability import capture_lambda_handler, logger, metrics
from tracker.pipeline import handle_record
from tracker.wiring import get_dependencies


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@capture_lambda_handler
@retry_batch_if_misconfigured("tracker")
def handler(event: dict[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    deps = get_dependencies()

    def record_handler(record: SQSRecord) -> None:
        handle_record(record.raw_event, deps)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
