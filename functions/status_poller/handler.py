"""EventBridge Scheduler (every 5 minutes) -> details lookups and the sweep. Thin."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from observability import logger, metrics
from status_poller.pipeline import run
from status_poller.wiring import get_dependencies

DEADLINE_GUARD_MS = 15_000  # one details call (connect + read) plus the row writes


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = get_dependencies()
    deadline = time.time() + max(0, context.get_remaining_time_in_millis() - DEADLINE_GUARD_MS) / 1000
    summary = run(deps, deadline)
    return {
        "polled": summary.polled,
        "foundFinal": summary.found_final,
        "rescheduled": summary.rescheduled,
        "swept": summary.swept,
        "budgetSpent": summary.budget_spent,
    }
