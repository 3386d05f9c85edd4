"""Powertools logger, metrics and tracer, plus the thread-safe counters the send path uses.

Powertools objects are module-level by design (their decorators wrap the handler at import);
they only read their own POWERTOOLS_* settings.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from sender import constants as c

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


PHONE_LIKE = re.compile(r"\+?\d{7,15}")


def redact_numbers(text: str) -> str:
    """Vendor error texts may quote a number; logs keep only its last 4 digits."""
    return PHONE_LIKE.sub(lambda match: mask_number(match.group()), text)


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
        self.count(c.METRIC_TOKEN_FETCHES)

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        with self._lock:
            self._metrics.add_metric(name="VendorLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
            self._metrics.add_metric(name="VendorRequests", unit=MetricUnit.Count, value=1)
