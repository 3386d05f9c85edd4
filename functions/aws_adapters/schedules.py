"""One-time EventBridge Scheduler schedules for requests with a later SendAt (DESIGN.md section 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from messaging.errors import TransientError, TransientKind
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

    def schedule(self, name: str, at: datetime, body: str) -> bool:
        """Create the schedule; False when one with this name already exists."""
        try:
            self._client.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=at_expression(at),
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": self._queue_arn, "RoleArn": self._role_arn, "Input": body},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return False
            raise TransientError(TransientKind.DEPENDENCY, f"creating schedule {name} failed: {_code(exc)}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"creating schedule {name} failed: {exc}") from None

    def cancel(self, name: str) -> bool:
        """Delete the schedule; False when it is not there (already fired or cancelled)."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return False
            raise TransientError(TransientKind.DEPENDENCY, f"deleting schedule {name} failed: {_code(exc)}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"deleting schedule {name} failed: {exc}") from None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code"))
