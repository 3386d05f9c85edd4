"""`schedule list|cancel`: pending SendAt schedules in the stack's EventBridge Scheduler group (DESIGN.md section 9)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from infra.cli import render
from infra.cli.errors import CliError, NotFound
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import OUTPUT_MESSAGES_TABLE, OUTPUT_SCHEDULE_GROUP, StackContext, aws_call, error_code, translate
from messaging import names
from messaging.lifecycle import RANK_FINAL, Status
from messaging.rows import iso, now_utc
from messaging.send_options import SCHEDULE_NAME_PREFIX, schedule_name

app = typer.Typer(help="Scheduled sends (SendAt): list, cancel.", no_args_is_help=True)


def _request_id(schedule: dict[str, Any]) -> str | None:
    """The RequestId a schedule sends: the body it carries names its key (DESIGN 9)."""
    try:
        body = json.loads(schedule.get("Target", {}).get("Input") or "")
    except ValueError:
        return None
    key = body.get("IdempotencyKey") if isinstance(body, dict) else None
    return key if isinstance(key, str) else None


def _at(expression: str | None) -> str | None:
    if expression and expression.startswith("at(") and expression.endswith(")"):
        return expression[3:-1] + "Z"
    return expression


class Schedules:
    def __init__(self, stack: StackContext) -> None:
        self.stack = stack
        self.scheduler = stack.client("scheduler")
        self.group = stack.output(OUTPUT_SCHEDULE_GROUP)

    def names(self) -> list[str]:
        out: list[str] = []
        kwargs: dict[str, Any] = {"GroupName": self.group, "NamePrefix": SCHEDULE_NAME_PREFIX}
        while True:
            page = aws_call("listing schedules", lambda: self.scheduler.list_schedules(**kwargs))
            out += [item["Name"] for item in page.get("Schedules", [])]
            if not page.get("NextToken"):
                return out
            kwargs["NextToken"] = page["NextToken"]

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.scheduler.get_schedule(Name=name, GroupName=self.group))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise translate(exc, "reading the schedule") from exc

    def describe(self, schedule: dict[str, Any]) -> dict[str, Any]:
        return {
            "Name": schedule["Name"],
            "RequestId": _request_id(schedule),
            "SendAt": _at(schedule.get("ScheduleExpression")),
            "State": schedule.get("State"),
            "CreatedAt": iso(schedule["CreationDate"]) if schedule.get("CreationDate") else None,
        }

    def find(self, ident: str) -> dict[str, Any]:
        """A schedule by its name or by the RequestId it was named from."""
        for name in (ident, schedule_name(ident)):
            schedule = self.get(name)
            if schedule is not None:
                return schedule
        raise NotFound(f"no schedule named {ident!r} or for RequestId {ident!r} in group {self.group}")


@app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Pending SendAt schedules, soonest first."""
    schedules = Schedules(context(ctx))
    found = [schedules.get(name) for name in schedules.names()]
    described = sorted(
        (schedules.describe(schedule) for schedule in found if schedule is not None),
        key=lambda item: item["SendAt"] or "",
    )
    if wants_json(ctx, json_output):
        render.print_json({"Group": schedules.group, "Schedules": described})
        return
    render.print_table(
        f"{len(described)} pending schedule(s) in {schedules.group}",
        ("SendAt", "RequestId", "Name", "State"),
        ((item["SendAt"], item["RequestId"], item["Name"], item["State"]) for item in described),
    )


@app.command("cancel")
def cancel_command(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(metavar="ID", help="RequestId or schedule name")],
    json_output: JsonOption = False,
) -> None:
    """Delete a pending schedule, then mark its row CANCELLED if it is still SCHEDULED.

    The schedule goes first, so nothing can fire after the row says CANCELLED. An unknown
    schedule changes nothing (it may already have fired: its request is on its way).
    """
    stack = context(ctx)
    schedules = Schedules(stack)
    schedule = schedules.find(ident)
    described = schedules.describe(schedule)
    try:
        schedules.scheduler.delete_schedule(Name=schedule["Name"], GroupName=schedules.group)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"schedule {schedule['Name']} is gone: it may just have fired") from exc
        raise translate(exc, "deleting the schedule") from exc

    request_id = described["RequestId"] or (ident if ident != schedule["Name"] else None)
    row_status = _cancel_row(stack, request_id) if request_id else "no RequestId in the schedule"
    result = {**described, "Deleted": True, "Row": row_status}
    if wants_json(ctx, json_output):
        render.print_json(result)
    else:
        render.print_fields(f"cancelled schedule {schedule['Name']}", result)


def _cancel_row(stack: StackContext, request_id: str) -> str:
    """CANCELLED only from SCHEDULED (conditional update); otherwise the row is left as it is."""
    table = stack.table(stack.output(OUTPUT_MESSAGES_TABLE))
    now = iso(now_utc())
    try:
        table.update_item(
            Key={names.MESSAGES_PARTITION_KEY: request_id},
            UpdateExpression="SET #s = :cancelled, StatusRank = :rank, StatusSource = :operator, "
            "UpdatedAt = :now, StatusAt = :now",
            ConditionExpression="#s = :scheduled",
            ExpressionAttributeNames={"#s": "Status"},
            ExpressionAttributeValues={
                ":cancelled": Status.CANCELLED.value,
                ":scheduled": Status.SCHEDULED.value,
                ":rank": RANK_FINAL,
                ":operator": "operator",
                ":now": now,
            },
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return "left as it is (no SCHEDULED row)"
        raise CliError(f"schedule deleted, but the row was not updated: {translate(exc, 'update').message}") from exc
    return Status.CANCELLED.value
