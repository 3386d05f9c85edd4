"""`status ID`: the result row of a request, by RequestId or by Telegent MessageId (DESIGN.md section 3)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from boto3.dynamodb.conditions import Key

from infra.cli import render
from infra.cli.errors import NotFound
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import OUTPUT_MESSAGES_TABLE, StackContext, aws_call
from messaging import names

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


def command(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(metavar="ID", help="RequestId (the idempotency key) or Telegent MessageId")],
    json_output: JsonOption = False,
) -> None:
    """Show the result row of one request, found by RequestId or by MessageId.

    (`--live`, asking Telegent's /message/details, comes when the vendor client has a details call.)
    """
    row = ordered(render.plain(find_row(context(ctx), ident)))
    if wants_json(ctx, json_output):
        render.print_json(row)
    else:
        render.print_fields(f"{row.get('RequestId')}: {row.get('Status')}", row)
