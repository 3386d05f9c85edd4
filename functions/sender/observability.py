"""Powertools logger, metrics and tracer, plus the thread-safe counters the send path uses.

Powertools objects are module-level by design (their decorators wrap the handler at import);
they only read their own POWERTOOLS_* settings.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def mask_number(number: object) -> str:
    """Phone numbers appear in logs only as their last 4 digits."""
    text = str(number or "")
    return "*" * max(0, len(text) - 4) + text[-4:] if len(text) > 4 else "****"


class Telemetry:
    """Metric emission safe to call from several worker threads of one invocation."""

    def __init__(self, sink: Metrics | None = None) -> None:
        self._metrics = sink or metrics
        self._lock = threading.Lock()

    def count(self, name: str, value: float = 1) -> None:
        with self._lock:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def token_fetched(self) -> None:
        self.count("TokenFetches")

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        with self._lock:
            self._metrics.add_metric(name="VendorLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
            self._metrics.add_metric(name="VendorRequests", unit=MetricUnit.Count, value=1)
