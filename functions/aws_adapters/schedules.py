"""One-time EventBridge Scheduler schedules for requests with a later SendAt (DESIGN.md section 9)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_adapters.calls import aws_call_unless
from messaging.send_options import at_expression


class SchedulerSendSchedules:
    """Schedules in the stack's group whose target is the request queue, deleted after they fire.

    The schedule's name comes from the RequestId, so creating it again (a redelivered message)
    finds it already there instead of scheduling a second send.
    """

    def __init__(self, client: Any, group_name: str, role_arn: str, queue_arn: str) -> None:
        self._client = client
        self._group = group_name
        self._role_arn = role_arn
        self._queue_arn = queue_arn

    def schedule(self, name: str, at: datetime, body: str, target_arn: str | None = None) -> bool:
        """Create the schedule; False when one with this name already exists. `target_arn`: another queue
        the role may send to (the priority queue), instead of the request queue."""
        return self._in_group(
            f"creating schedule {name}",
            "ConflictException",
            self._client.create_schedule,
            Name=name,
            ScheduleExpression=at_expression(at),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": target_arn or self._queue_arn, "RoleArn": self._role_arn, "Input": body},
            ActionAfterCompletion="DELETE",
            State="ENABLED",
        )

    def cancel(self, name: str) -> bool:
        """Delete the schedule; False when it is not there (already fired or cancelled)."""
        return self._in_group(
            f"deleting schedule {name}", "ResourceNotFoundException", self._client.delete_schedule, Name=name
        )

    def _in_group(self, what: str, refusal: str, operation: Callable[..., Any], **request: Any) -> bool:
        """A call on a schedule of the stack's group; False when AWS answers with `refusal`."""
        return aws_call_unless(what, {refusal}, operation, GroupName=self._group, **request)
