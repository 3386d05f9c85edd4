"""`schedule list|cancel`: schedules in the stack's group, the row CANCELLED only from SCHEDULED."""

from __future__ import annotations

import json

from messaging.send_options import schedule_name
from tests.cli.conftest import Operator, one_line_error


def _schedule(operator: Operator, key: str, at: str, status: str | None = "SCHEDULED") -> str:
    """A one-time schedule as the sender creates it (DESIGN 9), and the row it leaves."""
    name = schedule_name(key)
    operator.world.client("scheduler").create_schedule(
        Name=name,
        GroupName=operator.group,
        ScheduleExpression=f"at({at})",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": operator.world.queue_arn,
            "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
            "Input": json.dumps(
                {"IdempotencyKey": key, "To": [{"Number": "+18015737111"}], "From": "+1801", "Body": "x"}
            ),
        },
        ActionAfterCompletion="DELETE",
    )
    if status:
        table = operator.world.resource("dynamodb").Table(operator.world.messages_table)
        table.put_item(Item={"RequestId": key, "Status": status, "StatusRank": 0, "SendAt": at + "Z"})
    return name


def test_list_shows_pending_schedules_soonest_first(operator: Operator) -> None:
    _schedule(operator, "later", "2030-06-01T09:00:00")
    _schedule(operator, "sooner", "2030-01-01T09:00:00")
    listed = operator.json("schedule", "list")
    assert listed["Group"] == operator.group
    assert [s["RequestId"] for s in listed["Schedules"]] == ["sooner", "later"]
    assert listed["Schedules"][0]["SendAt"] == "2030-01-01T09:00:00Z"
    assert listed["Schedules"][0]["Name"] == schedule_name("sooner")
    table = operator.run("schedule", "list")
    assert table.exit_code == 0
    assert "2 pending schedule(s)" in table.stdout


def test_cancel_deletes_the_schedule_and_marks_a_scheduled_row_cancelled(operator: Operator) -> None:
    _schedule(operator, "to-cancel", "2030-01-01T09:00:00")
    cancelled = operator.json("schedule", "cancel", "to-cancel")
    assert cancelled["Deleted"] is True
    assert cancelled["Row"] == "CANCELLED"
    row = operator.json("status", "to-cancel")
    assert row["Status"] == "CANCELLED"
    assert row["StatusSource"] == "operator"
    assert operator.json("schedule", "list")["Schedules"] == []

    again = operator.run("schedule", "cancel", "to-cancel")
    assert again.exit_code == 1
    assert "no schedule" in one_line_error(again)
    assert operator.json("status", "to-cancel")["Status"] == "CANCELLED"


def test_cancel_by_schedule_name_leaves_a_row_that_is_not_scheduled(operator: Operator) -> None:
    name = _schedule(operator, "already-sent", "2030-01-01T09:00:00", status="SENT")
    cancelled = operator.json("schedule", "cancel", name)
    assert cancelled["RequestId"] == "already-sent"
    assert cancelled["Row"] == "left as it is (no SCHEDULED row)"
    assert operator.json("status", "already-sent")["Status"] == "SENT"
