"""The records of a batch handled concurrently, through Powertools' public async batch API.

`AsyncBatchProcessor` gathers one coroutine per record; each runs the (blocking) record handler
on a bounded thread pool, so waiting on the vendor overlaps while partial-batch semantics stay
Powertools' own: each record succeeds or fails alone, and the response lists the failed ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from observability import logger


def process_concurrently(
    event: dict[str, Any],
    handle_record: Callable[[Mapping[str, Any]], None],
    max_workers: int,
    context: LambdaContext,
) -> Mapping[str, Any]:
    records = event.get("Records") or []
    workers = max(1, min(max_workers, len(records)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:

        async def record_handler(record: SQSRecord) -> None:
            try:
                await asyncio.get_running_loop().run_in_executor(pool, handle_record, record.raw_event)
            except Exception as error:
                # Powertools logs a failed record only at DEBUG (or, given a logger, with the exception's
                # text, which may quote the request): one line here, with the type only, for every failure.
                logger.info(
                    "record reported as a batch item failure",
                    extra={"sqs_message_id": record.message_id, "error_type": type(error).__name__},
                )
                raise

        # A batch where every record failed still returns its item failures: no function error, same retries.
        processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
