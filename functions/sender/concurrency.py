"""Powertools' BatchProcessor, with the records of a batch handled by a bounded thread pool.

Partial-batch semantics are unchanged: each record still succeeds or fails on its own, and the
response lists the failed ones. Waiting on the vendor is I/O, so threads overlap it well.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class ConcurrentBatchProcessor(BatchProcessor):
    def __init__(self, max_workers: int, **kwargs: Any) -> None:
        super().__init__(event_type=EventType.SQS, **kwargs)
        self.max_workers = max(1, max_workers)

    def process(self) -> list[Any]:
        workers = min(self.max_workers, len(self.records))
        if workers <= 1:
            return super().process()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
            return list(pool.map(self._process_record, self.records))
