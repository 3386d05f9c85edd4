"""`stats [--since 1h]`: counts by status, delivery rate, cost and segments over a window, without a scan.

The query runs on the messages table's by-day index (`CreatedDayIndex`: partition `CreatedDay`,
`YYYY-MM-DD` UTC, sort `CreatedAt`; infra/constructs/tables.py), one paged Query per day of the
window with `CreatedAt >= since`. Every row the sender writes carries `CreatedDay`. A stack
deployed before the index has none: the command says so and exits 1 rather than scanning.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from boto3.dynamodb.conditions import Key

from infra.cli import render
from infra.cli.errors import NotAvailable, UsageError
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.send import DRY_RUN_PREFIX
from infra.cli.stack import OUTPUT_MESSAGES_TABLE, StackContext, aws_call
from messaging import names
from messaging.lifecycle import Status
from messaging.rows import created_day, iso, now_utc
from messaging.send_options import parse_instant

BY_DAY_INDEX = names.MESSAGES_CREATED_DAY_INDEX
DAY_ATTRIBUTE = names.MESSAGES_CREATED_DAY_ATTRIBUTE
CREATED_ATTRIBUTE = names.MESSAGES_CREATED_AT_ATTRIBUTE
MAX_DAYS = 31
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Rows that reached the vendor: the denominator of the delivery rate.
SENT_STATUSES = (Status.SENT, Status.UNKNOWN, Status.DELIVERED, Status.FAILED, Status.UNDELIVERABLE)


def parse_since(text: str, now: datetime) -> datetime:
    match = _DURATION.match(text.strip().lower())
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        return parse_instant(text, field="--since")
    except ValueError as exc:
        raise UsageError(f"--since takes a duration like 1h, 30m, 7d or an ISO time: {exc}") from exc


def has_by_day_index(stack: StackContext, table_name: str) -> bool:
    client = stack.client("dynamodb")
    table = aws_call("describing the messages table", lambda: client.describe_table(TableName=table_name))["Table"]
    return any(index["IndexName"] == BY_DAY_INDEX for index in table.get("GlobalSecondaryIndexes", []))


def rows_since(stack: StackContext, since: datetime, now: datetime) -> list[dict[str, Any]]:
    if now - since > timedelta(days=MAX_DAYS):
        raise UsageError(f"--since reaches back more than {MAX_DAYS} days")
    table_name = stack.output(OUTPUT_MESSAGES_TABLE)
    if not has_by_day_index(stack, table_name):
        raise NotAvailable(
            f"stats needs the {BY_DAY_INDEX} index (partition {DAY_ATTRIBUTE}, sort {CREATED_ATTRIBUTE}) "
            f"on {table_name} (a stack deployed before it: deploy again); stats does not scan the table"
        )
    table = stack.table(table_name)
    rows: list[dict[str, Any]] = []
    # CreatedDay is the UTC day: a --since given with another offset starts on its UTC day.
    day, last = date.fromisoformat(created_day(since)), date.fromisoformat(created_day(now))
    while day <= last:
        condition = Key(DAY_ATTRIBUTE).eq(day.isoformat()) & Key(CREATED_ATTRIBUTE).gte(iso(since))
        kwargs: dict[str, Any] = {"IndexName": BY_DAY_INDEX, "KeyConditionExpression": condition}
        while True:
            page = table_query(table, kwargs)
            rows += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        day += timedelta(days=1)
    return rows


def table_query(table: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return dict(aws_call("querying the messages table", lambda: table.query(**kwargs)))


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    real = [row for row in rows if not str(row.get("RequestId", "")).startswith(DRY_RUN_PREFIX)]
    by_status = Counter(str(row.get("Status")) for row in real)
    reached = sum(by_status[status.value] for status in SENT_STATUSES)
    cost = sum((Decimal(str(row["Cost"])) for row in real if row.get("Cost") is not None), Decimal(0))
    segments = sum(int(row["Segments"]) for row in real if row.get("Segments") is not None)
    return {
        "Total": sum(by_status.values()),
        "ByStatus": dict(sorted(by_status.items())),
        "DeliveryRate": round(by_status[Status.DELIVERED.value] / reached, 4) if reached else None,
        "Cost": str(cost),
        "Segments": segments,
    }


def command(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Window: 1h, 30m, 7d, or an ISO time.")] = "1h",
    json_output: JsonOption = False,
) -> None:
    """Counts by status, delivery rate, cost and segments of the requests created in a window."""
    now = now_utc()
    start = parse_since(since, now)
    summary = {"Since": iso(start), "Until": iso(now), **summarise(rows_since(context(ctx), start, now))}
    if wants_json(ctx, json_output):
        render.print_json(summary)
        return
    # A line of its own: as the table's title it would wrap to the narrow table's width.
    render.say(f"{summary['Total']} request(s) created since {summary['Since']} (until {summary['Until']})")
    render.print_table(None, ("Status", "Count"), summary["ByStatus"].items())
    rate = summary["DeliveryRate"]
    shown_rate = "-" if rate is None else f"{rate:.1%}"
    render.say(f"delivery rate: {shown_rate}  cost: {summary['Cost']}  segments: {summary['Segments']}")
