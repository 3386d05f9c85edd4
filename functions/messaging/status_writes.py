"""One way to write a new status, whoever learnt it (receipt, details lookup, sweep): DESIGN.md section 8."""

from __future__ import annotations

from messaging import names
from messaging.lifecycle import Status
from messaging.ports import StatusStore, TrackingTelemetry
from messaging.tracking import StatusChange, StatusUpdate

_STATUS_METRICS = {
    Status.DELIVERED: names.METRIC_DELIVERED,
    Status.FAILED: names.METRIC_DELIVERY_FAILED,
    Status.UNDELIVERABLE: names.METRIC_UNDELIVERABLE,
    Status.UNKNOWN: names.METRIC_STATUS_UNKNOWN,
}


def write_status(
    store: StatusStore, request_id: str, update: StatusUpdate, telemetry: TrackingTelemetry
) -> StatusChange | None:
    """Apply `update` under the lifecycle rule; metrics only for a change that happened."""
    change = store.apply(request_id, update)
    if change is None:
        return None
    metric = _STATUS_METRICS.get(update.status)
    if metric:
        telemetry.count(metric)
    if update.status != Status.UNKNOWN and change.previous == Status.SENT and change.sent_at is not None:
        latency_ms = (update.status_at - change.sent_at).total_seconds() * 1000
        telemetry.milliseconds(names.METRIC_DELIVERY_LATENCY, max(0.0, latency_ms))
    return change
