"""`optout add|remove|list|import`: the opt-out table (DESIGN.md section 10).

One item per number: `Number` (E.164, the key), `OptedOutAt`, `Source` (`operator`, `import`,
`keyword`), `Keyword`. A stack deployed before opt-outs has no `OptOutTableName` output: every
command then says so and exits 1.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError

from infra.cli import render
from infra.cli.errors import NotFound, UsageError
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import OUTPUT_OPTOUT_TABLE, StackContext, aws_call, error_code, translate
from messaging.request import is_e164
from messaging.rows import iso, now_utc

app = typer.Typer(help="Opted-out numbers: add, remove, list, import.", no_args_is_help=True)

NUMBER = "Number"
SOURCE_OPERATOR = "operator"
SOURCE_IMPORT = "import"


def _table(stack: StackContext) -> Any:
    name = stack.output(OUTPUT_OPTOUT_TABLE, needed_for="this stack predates opt-outs (DESIGN 10)")
    return stack.table(name)


def _number(value: str) -> str:
    number = value.strip()
    if not is_e164(number):
        raise UsageError(f"{value!r} is not an E.164 number like +18015551234")
    return number


@app.command("add")
def add_command(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="E.164 number, e.g. +18015551234")],
    json_output: JsonOption = False,
) -> None:
    """Stop texting a number."""
    table = _table(context(ctx))
    item = {NUMBER: _number(number), "OptedOutAt": iso(now_utc()), "Source": SOURCE_OPERATOR}
    aws_call("adding the opt-out", lambda: table.put_item(Item=item))
    if wants_json(ctx, json_output):
        render.print_json(item)
    else:
        render.say(f"opted out {item[NUMBER]}")


@app.command("remove")
def remove_command(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="E.164 number")],
    json_output: JsonOption = False,
) -> None:
    """Allow texting a number again."""
    table = _table(context(ctx))
    key = _number(number)
    try:
        table.delete_item(
            Key={NUMBER: key}, ConditionExpression="attribute_exists(#n)", ExpressionAttributeNames={"#n": NUMBER}
        )
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise NotFound(f"{key} is not opted out") from exc
        raise translate(exc, "removing the opt-out") from exc
    if wants_json(ctx, json_output):
        render.print_json({NUMBER: key, "Removed": True})
    else:
        render.say(f"removed {key}")


@app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Every opted-out number (the table is small: one item per number)."""
    table = _table(context(ctx))
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = aws_call("listing opt-outs", lambda: table.scan(**kwargs))
        items += [render.plain(item) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items.sort(key=lambda item: str(item.get(NUMBER)))
    if wants_json(ctx, json_output):
        render.print_json({"Count": len(items), "OptOuts": items})
        return
    render.print_table(
        f"{len(items)} opted-out number(s)",
        ("Number", "OptedOutAt", "Source", "Keyword"),
        ((i.get(NUMBER), i.get("OptedOutAt"), i.get("Source"), i.get("Keyword")) for i in items),
    )


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="CSV", help="CSV of numbers: first column, header optional.")],
    json_output: JsonOption = False,
) -> None:
    """Opt out every number of a CSV file (first column; a header row and blank lines are skipped)."""
    table = _table(context(ctx))
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            cells = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if cells and not is_e164(cells[0]) and not any(ch.isdigit() for ch in cells[0]):
        cells = cells[1:]  # a header such as "Number"
    bad = [(index + 1, cell) for index, cell in enumerate(cells) if not is_e164(cell)]
    if bad:
        shown = ", ".join(f"row {row}: {cell!r}" for row, cell in bad[:5])
        raise UsageError(f"{len(bad)} value(s) in {path} are not E.164 numbers ({shown}); nothing imported")
    numbers = sorted(set(cells))
    now = iso(now_utc())

    def write() -> None:
        with table.batch_writer(overwrite_by_pkeys=[NUMBER]) as batch:
            for number in numbers:
                batch.put_item(Item={NUMBER: number, "OptedOutAt": now, "Source": SOURCE_IMPORT})

    aws_call("importing opt-outs", write)
    if wants_json(ctx, json_output):
        render.print_json({"Imported": len(numbers)})
    else:
        render.say(f"imported {len(numbers)} number(s) from {path}")
