"""`send FILE|-`: validate a request with the sender's own parser, then queue it (DESIGN.md sections 2, 9, 12)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.cli import render
from infra.cli.errors import CliError, UsageError
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import (
    OUTPUT_MESSAGES_TABLE,
    OUTPUT_PRIORITY_QUEUE_URL,
    OUTPUT_QUEUE_URL,
    StackContext,
    aws_call,
)
from messaging import names
from messaging.envelopes import unwrap
from messaging.errors import PermanentError
from messaging.request import parse_send_request
from messaging.send_options import format_instant, parse_instant

DRY_RUN_PREFIX = names.DRY_RUN_PREFIX
DRY_RUN_FIELD = names.FIELD_DRY_RUN
SEND_AT_FIELD = names.FIELD_SEND_AT


def read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror if isinstance(exc, OSError) else exc}") from exc


def validate(stack: StackContext, text: str, extra: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The request inside `text` (envelopes peeled) with `extra` fields added, checked exactly as the sender would.

    Returns (request, changed). Raises CliError with the text a REJECTED row would carry.
    """

    def load_payload(bucket: str, key: str) -> bytes:
        s3 = stack.client("s3")
        response = aws_call(f"reading s3://{bucket}/{key}", lambda: s3.get_object(Bucket=bucket, Key=key))
        return bytes(response["Body"].read())

    try:
        unwrapped = unwrap(text, load_payload)
        request = dict(unwrapped.request)
        request.update(extra)
        parse_send_request(request, stack.limits())
    except PermanentError as exc:
        raise CliError(f"invalid request, nothing queued: {exc.code}: {exc.message}") from exc
    return request, bool(extra or unwrapped.envelopes)


def wait_for_row(stack: StackContext, request_id: str, timeout: float) -> dict[str, Any] | None:
    table = stack.table(stack.output(OUTPUT_MESSAGES_TABLE))
    deadline = time.monotonic() + timeout
    while True:
        item = aws_call(
            "reading the dry-run row",
            lambda: table.get_item(Key={names.MESSAGES_PARTITION_KEY: request_id}, ConsistentRead=True),
        ).get("Item")
        if item:
            return dict(item)
        if time.monotonic() >= deadline:
            return None
        time.sleep(1)


def command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="JSON send request (DESIGN 2); - reads stdin.")],
    priority: Annotated[bool, typer.Option("--priority", help="Queue on the priority lane (DESIGN 11).")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run every check without sending; wait for the DRYRUN# row.")
    ] = False,
    at: Annotated[str | None, typer.Option("--at", metavar="ISO", help="Send later: sets SendAt (DESIGN 9).")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the dry-run row.")] = 60.0,
    json_output: JsonOption = False,
) -> None:
    """Validate a send request with the sender's own parser, then put it on the request queue."""
    stack = context(ctx)
    extra: dict[str, Any] = {}
    if at is not None:
        try:
            extra[SEND_AT_FIELD] = format_instant(parse_instant(at, field="--at"))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if dry_run:
        extra[DRY_RUN_FIELD] = True

    text = read_source(source)
    request, changed = validate(stack, text, extra)
    queue_url = (
        stack.output(OUTPUT_PRIORITY_QUEUE_URL, needed_for="--priority: this stack predates the priority lane")
        if priority
        else stack.output(OUTPUT_QUEUE_URL)
    )
    body = json.dumps(request) if changed else text
    sqs = stack.client("sqs")
    message_id = aws_call("queueing the request", lambda: sqs.send_message(QueueUrl=queue_url, MessageBody=body))[
        "MessageId"
    ]
    request_id = str(request.get("IdempotencyKey") or message_id)
    result: dict[str, Any] = {"RequestId": request_id, "SqsMessageId": message_id, "QueueUrl": queue_url}
    if at is not None:
        result[SEND_AT_FIELD] = extra[SEND_AT_FIELD]

    if dry_run:
        row_key = f"{DRY_RUN_PREFIX}{request_id}"
        result["DryRunRow"] = render.plain(wait_for_row(stack, row_key, wait))
        if result["DryRunRow"] is None:
            raise CliError(f"queued as {message_id}, but no {row_key} row within {wait:g}s: is the sender running?")

    if wants_json(ctx, json_output):
        render.print_json(result)
    else:
        render.print_fields("queued", {k: v for k, v in result.items() if k != "DryRunRow"})
        if dry_run:
            render.print_fields("dry run", result["DryRunRow"])
