"""`status ID`: the result row of a request, by RequestId or by Telegent MessageId (DESIGN.md section 3)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from boto3.dynamodb.conditions import Key

from infra.cli import render, vendor
from infra.cli.errors import CliError, NotFound
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import OUTPUT_MESSAGES_TABLE, StackContext, aws_call
from messaging import names
from messaging.receipts import map_vendor_status
from messaging.rows import iso

# The order an operator reads a row in (DESIGN.md section 3); anything else follows.
FIELD_ORDER = (
    "RequestId",
    "Status",
    "VendorStatus",
    "StatusSource",
    "MessageId",
    "To",
    "From",
    "CampaignId",
    "MessageType",
    "Encoding",
    "Segments",
    "Cost",
    "ErrorCode",
    "ErrorMessage",
    "Attempts",
    "SendAt",
    "ValidUntil",
    "Priority",
    "CreatedAt",
    "UpdatedAt",
    "StatusAt",
    "DeliveredAt",
    "ExpiresAt",
)


def find_row(stack: StackContext, ident: str) -> dict[str, Any]:
    """The row whose RequestId is `ident`, else the one whose MessageId is; NotFound otherwise."""
    table_name = stack.output(OUTPUT_MESSAGES_TABLE)
    table = stack.table(table_name)
    item = aws_call(
        "reading the result row",
        lambda: table.get_item(Key={names.MESSAGES_PARTITION_KEY: ident}, ConsistentRead=True),
    ).get("Item")
    if item:
        return dict(item)
    found = aws_call(
        "looking up the MessageId",
        lambda: table.query(
            IndexName=names.MESSAGES_MESSAGE_ID_INDEX,
            KeyConditionExpression=Key(names.MESSAGES_MESSAGE_ID_ATTRIBUTE).eq(ident),
        ),
    ).get("Items", [])
    if found:
        return dict(found[0])
    raise NotFound(f"no message with RequestId or MessageId {ident!r} in table {table_name}")


def ordered(row: dict[str, Any]) -> dict[str, Any]:
    first = {name: row[name] for name in FIELD_ORDER if name in row}
    return {**first, **{name: value for name, value in sorted(row.items()) if name not in first}}


def live_details(stack: StackContext, row: dict[str, Any]) -> dict[str, Any]:
    """What Telegent says about the row's message now (GET /message/details); CliError when it cannot say."""
    message_id = row.get(names.MESSAGES_MESSAGE_ID_ATTRIBUTE)
    if not message_id:
        raise NotFound(
            f"{row.get('RequestId')} has no MessageId (Status {row.get('Status')}): it never reached Telegent"
        )
    details = vendor.call(stack, lambda: vendor.client(stack).details(str(message_id)))
    if details is None:
        raise NotFound(f"Telegent ({vendor.base_url(stack)}) does not know MessageId {message_id} (HTTP 404)")
    mapped = map_vendor_status(details.vendor_status)
    return {
        "MessageId": details.message_id,
        "VendorStatus": details.vendor_status,
        "Status": mapped.value if mapped else None,
        "StatusAt": iso(details.status_at) if details.status_at else None,
        "RowStatus": row.get("Status"),
        "BaseUrl": vendor.base_url(stack),
    }


def command(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(metavar="ID", help="RequestId (the idempotency key) or Telegent MessageId")],
    live: Annotated[
        bool, typer.Option("--live", help="Also ask Telegent now (GET /message/details) what became of it.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show the result row of one request, found by RequestId or by MessageId (and, with --live, Telegent's view)."""
    stack = context(ctx)
    row = ordered(render.plain(find_row(stack, ident)))
    as_json = wants_json(ctx, json_output)
    problem: CliError | None = None
    details: dict[str, Any] | None = None
    if live:
        try:
            details = live_details(stack, row)
        except CliError as exc:
            problem = exc  # the row is still worth showing
    if as_json:
        render.print_json({**row, "Live": details} if live else row)
    else:
        render.print_fields(f"{row.get('RequestId')}: {row.get('Status')}", row)
        if details is not None:
            render.print_fields(f"Telegent now: {details['VendorStatus']}", details)
            if details["Status"] and details["Status"] != details["RowStatus"]:
                render.say(
                    f"the row says {details['RowStatus']}, Telegent says {details['VendorStatus']}: "
                    "a receipt or the status poller brings the row up to date"
                )
    if problem is not None:
        raise problem
