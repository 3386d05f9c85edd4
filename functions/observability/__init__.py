"""Powertools logger, metrics and tracer, plus thread-safe metric counters, shared by every function.

Powertools objects are module-level by design (their decorators wrap the handler at import);
they only read their own POWERTOOLS_* settings.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from messaging import names

logger = Logger()
metrics = Metrics()

_traced: dict[Callable[..., Any], Callable[..., Any]] = {}


def capture_lambda_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Powertools Tracer, created on the first invocation rather than at import.

    Importing the X-Ray SDK costs about 100 ms; when tracing is disabled it is never paid, and
    otherwise it moves out of the measured import.
    """

    @functools.wraps(handler)
    def traced(event: Any, context: Any) -> Any:
        wrapped = _traced.get(handler)
        if wrapped is None:
            from aws_lambda_powertools import Tracer

            wrapped = _traced[handler] = Tracer().capture_lambda_handler(handler, capture_response=False)
        return wrapped(event, context)

    return traced


class Telemetry:
    """Metric emission safe to call from several worker threads of one invocation."""

    def __init__(self, sink: Metrics | None = None) -> None:
        self._metrics = sink or metrics
        self._lock = threading.Lock()

    def count(self, name: str, value: float = 1) -> None:
        with self._lock:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def milliseconds(self, name: str, value: float) -> None:
        with self._lock:
            self._metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def seconds(self, name: str, value: float) -> None:
        with self._lock:
            self._metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)

    def token_fetched(self) -> None:
        self.count(names.METRIC_TOKEN_FETCHES)

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        with self._lock:
            self._metrics.add_metric(name=names.METRIC_VENDOR_LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms)
            self._metrics.add_metric(name=names.METRIC_VENDOR_REQUESTS, unit=MetricUnit.Count, value=1)
