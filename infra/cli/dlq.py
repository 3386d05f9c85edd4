"""`dlq list|show|redrive`: what is in the dead-letter queue, why, and putting it back (DESIGN.md sections 4, 12).

Reading never consumes: messages are received with a short visibility timeout and made visible
again at once (in a `finally`, so an interrupted listing hides them for at most that timeout).

Redrive moves one message at a time: SendMessage to the queue it came from, then DeleteMessage
from the DLQ, only after the send succeeded. Before the send, a REJECTED outcome the sender stored
for the request's key (missing media, a vendor 4xx, ...) is forgotten (aws_adapters.idempotency.
StoredOutcomes): otherwise the sender would replay that rejection instead of deciding again after
the fix. Nothing was sent for a REJECTED outcome; SENT outcomes are never touched.

A run interrupted between the send and the delete leaves the message in the DLQ and its copy on
the queue; running redrive again sends it once more. That second copy is harmless: it keeps the
request's idempotency key (the body's IdempotencyKey, or the OriginalMessageId attribute that the
sender uses as the key when there is none), so the sender's idempotency sends it at most once.
Nothing is lost, nothing is sent twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aws_adapters.idempotency import StoredOutcomes
from infra.cli import render
from infra.cli.errors import NotFound, UsageError
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import (
    OUTPUT_DLQ_URL,
    OUTPUT_IDEMPOTENCY_TABLE,
    OUTPUT_PRIORITY_QUEUE_URL,
    OUTPUT_QUEUE_ARN,
    OUTPUT_QUEUE_URL,
    StackContext,
    aws_call,
)
from messaging import names
from messaging.errors import RejectCode
from messaging.rows import iso

app = typer.Typer(help="The dead-letter queue: list, show, redrive.", no_args_is_help=True)

# How long a listed message stays hidden if the CLI dies before making it visible again.
PEEK_VISIBILITY_SECONDS = 30
# How long a message being redriven (or held back by a filter) stays hidden from other readers.
REDRIVE_VISIBILITY_SECONDS = 120
NO_CODE = "(none)"  # moved by SQS itself after maxReceiveCount receives: transient failures
# The attributes the sender adds to its DLQ copy to say why; the redriven copy starts clean.
REASON_ATTRIBUTES = frozenset(
    {
        names.DLQ_ATTR_REASON,
        names.DLQ_ATTR_ERROR_CODE,
        names.DLQ_ATTR_ERROR_MESSAGE,
        names.DLQ_ATTR_REQUEST_ID,
        names.DLQ_ATTR_SOURCE_MESSAGE_ID,
        names.DLQ_ATTR_SOURCE_QUEUE,
        names.DLQ_ATTR_REJECTED_AT,
        names.DLQ_ATTR_RECEIVE_COUNT,
    }
)
# Codes that fail again unchanged: the request itself (or its key) is the problem.
REFUSED_CODES = frozenset(
    {
        RejectCode.VALIDATION_ERROR,
        RejectCode.INVALID_JSON,
        RejectCode.UNKNOWN_ENVELOPE,
        RejectCode.MEDIA_NOT_ALLOWED,
        RejectCode.IDEMPOTENCY_KEY_REUSED,
        RejectCode.MEDIA_TOO_LARGE,
        # Send-time options (DESIGN 9): the request's Body, SendAt or size is the problem.
        RejectCode.TOO_MANY_SEGMENTS,
        RejectCode.SEND_AT_TOO_FAR,
        RejectCode.NOT_SCHEDULABLE,
    }
)
SQS_MAX_MESSAGE_ATTRIBUTES = 10


def refused(code: str | None) -> bool:
    """Whether redriving a message with this ErrorCode would fail again unchanged.

    Vendor refusals carry the HTTP status as the code: every 4xx but 408 and 429 is permanent.
    """
    if code is None:
        return False
    if code in REFUSED_CODES:
        return True
    return code.isdigit() and 400 <= int(code) < 500 and code not in ("408", "429")


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str
    message_attributes: Mapping[str, Any]
    system_attributes: Mapping[str, str]

    @classmethod
    def from_sqs(cls, message: Mapping[str, Any]) -> DeadLetter:
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message.get("Body", ""),
            message_attributes=dict(message.get("MessageAttributes") or {}),
            system_attributes=dict(message.get("Attributes") or {}),
        )

    def attribute(self, name: str) -> str | None:
        value = (self.message_attributes.get(name) or {}).get("StringValue")
        return value if isinstance(value, str) else None

    @property
    def error_code(self) -> str | None:
        return self.attribute(names.DLQ_ATTR_ERROR_CODE)

    @property
    def sent_at(self) -> datetime | None:
        millis = self.system_attributes.get("SentTimestamp")
        return datetime.fromtimestamp(int(millis) / 1000, UTC) if millis and millis.isdigit() else None

    @property
    def source_queue_arn(self) -> str | None:
        return self.attribute(names.DLQ_ATTR_SOURCE_QUEUE) or self.system_attributes.get("DeadLetterQueueSourceArn")

    @property
    def original_message_id(self) -> str:
        """The request's first SQS message id, which is its key when the body has no IdempotencyKey.

        A copy the sender made carries it as an attribute; a message SQS moved itself after too
        many receives keeps its own message id, which is the one the sender used.
        """
        return (
            self.attribute(names.ATTR_ORIGINAL_MESSAGE_ID)
            or self.attribute(names.DLQ_ATTR_SOURCE_MESSAGE_ID)
            or self.message_id
        )

    def redrive_attributes(self) -> dict[str, Any]:
        kept = {name: value for name, value in self.message_attributes.items() if name not in REASON_ATTRIBUTES}
        kept[names.ATTR_ORIGINAL_MESSAGE_ID] = {"DataType": "String", "StringValue": self.original_message_id}
        return {name: _api_value(value) for name, value in kept.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "MessageId": self.message_id,
            "ErrorCode": self.error_code,
            "ErrorMessage": self.attribute(names.DLQ_ATTR_ERROR_MESSAGE),
            "RequestId": self.attribute(names.DLQ_ATTR_REQUEST_ID),
            "OriginalMessageId": self.original_message_id,
            "SourceQueueArn": self.source_queue_arn,
            "SentAt": iso(self.sent_at) if self.sent_at else None,
            "ReceiveCount": self.attribute(names.DLQ_ATTR_RECEIVE_COUNT),
        }

    def full(self) -> dict[str, Any]:
        try:
            body: Any = json.loads(self.body)
        except ValueError:
            body = self.body
        return {
            **self.summary(),
            "MessageAttributes": {name: _plain_value(value) for name, value in self.message_attributes.items()},
            "Attributes": dict(self.system_attributes),
            "Body": body,
        }


def _api_value(value: Mapping[str, Any]) -> dict[str, Any]:
    """A received attribute in the shape SendMessage takes (drop the list fields SQS echoes back)."""
    out: dict[str, Any] = {"DataType": value["DataType"]}
    for name in ("StringValue", "BinaryValue"):
        if name in value:
            out[name] = value[name]
    return out


def _plain_value(value: Mapping[str, Any]) -> Any:
    if "StringValue" in value:
        return value["StringValue"]
    return f"<{len(value.get('BinaryValue') or b'')} bytes>"


class DeadLetterQueue:
    def __init__(self, stack: StackContext) -> None:
        self.stack = stack
        self.sqs = stack.client("sqs")
        self.url = stack.output(OUTPUT_DLQ_URL)

    def depth(self) -> int:
        attributes = aws_call(
            "reading the DLQ depth",
            lambda: self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]),
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def receive(self, visibility: int, count: int = 10) -> list[DeadLetter]:
        response = aws_call(
            "reading the DLQ",
            lambda: self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(10, count)),
                WaitTimeSeconds=1,
                VisibilityTimeout=visibility,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ),
        )
        return [DeadLetter.from_sqs(message) for message in response.get("Messages", [])]

    def release(self, handles: list[str]) -> None:
        """Make received messages visible again (best effort: at worst they reappear after their timeout)."""
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + 10])
            ]
            with suppress(BotoCoreError, ClientError):
                self.sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)

    @contextmanager
    def peek(self) -> Iterator[list[DeadLetter]]:
        """Every message in the DLQ, left in it."""
        seen: dict[str, DeadLetter] = {}
        handles: list[str] = []
        try:
            # Stop at the first batch with nothing new: a queue that hands hidden messages out again
            # (an emulator, or a message whose hiding ran out) must not keep the listing going forever.
            while batch := self.receive(PEEK_VISIBILITY_SECONDS):
                handles.extend(message.receipt_handle for message in batch)
                new = [message for message in batch if message.message_id not in seen]
                if not new:
                    break
                for message in new:
                    seen[message.message_id] = message
            yield list(seen.values())
        finally:
            self.release(handles)


def find(messages: list[DeadLetter], ident: str) -> DeadLetter:
    for message in messages:
        if ident in (message.message_id, message.attribute(names.DLQ_ATTR_REQUEST_ID), message.original_message_id):
            return message
    raise NotFound(f"no DLQ message with MessageId, RequestId or OriginalMessageId {ident!r}")


def groups(messages: list[DeadLetter]) -> list[dict[str, Any]]:
    by_code: dict[str, list[DeadLetter]] = {}
    for message in messages:
        by_code.setdefault(message.error_code or NO_CODE, []).append(message)
    out = []
    for code, members in sorted(by_code.items(), key=lambda item: (-len(item[1]), item[0])):
        dated = [m for m in members if m.sent_at]
        oldest = min(dated, key=lambda m: m.sent_at or datetime.max.replace(tzinfo=UTC)) if dated else members[0]
        out.append(
            {
                "ErrorCode": code,
                "Count": len(members),
                "Oldest": iso(oldest.sent_at) if oldest.sent_at else None,
                "OldestMessageId": oldest.message_id,
                "Redrivable": not refused(None if code == NO_CODE else code),
                "Example": oldest.attribute(names.DLQ_ATTR_ERROR_MESSAGE),
            }
        )
    return out


@app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """DLQ messages grouped by ErrorCode, with counts and the oldest of each (nothing is consumed)."""
    dlq = DeadLetterQueue(context(ctx))
    with dlq.peek() as messages:
        grouped = groups(messages)
    if wants_json(ctx, json_output):
        render.print_json({"Total": len(messages), "Groups": grouped})
        return
    render.print_table(
        f"DLQ: {len(messages)} message(s)",
        ("ErrorCode", "Count", "Oldest", "Redrivable", "Example reason"),
        ((g["ErrorCode"], g["Count"], g["Oldest"], "yes" if g["Redrivable"] else "no", g["Example"]) for g in grouped),
    )


@app.command("show")
def show_command(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(metavar="ID", help="DLQ MessageId, RequestId or OriginalMessageId")],
    json_output: JsonOption = False,
) -> None:
    """One DLQ message in full: its reason, attributes and body."""
    dlq = DeadLetterQueue(context(ctx))
    with dlq.peek() as messages:
        message = find(messages, ident).full()
    if wants_json(ctx, json_output):
        render.print_json(message)
        return
    body = message.pop("Body")
    render.print_fields(f"DLQ message {message['MessageId']}", message)
    render.say(json.dumps(body, indent=2) if not isinstance(body, str) else body)


@dataclass
class RedriveResult:
    moved: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "Moved": len(self.moved),
            "Skipped": dict(self.skipped),
            "Failed": self.failed,
            "Messages": self.moved,
        }


class Redriver:
    def __init__(self, dlq: DeadLetterQueue) -> None:
        self.dlq = dlq
        self.stack = dlq.stack
        self._urls: dict[str, str] = {}
        self._outcomes: StoredOutcomes | None = None
        self.reopened: dict[str, bool] = {}

    def outcomes(self) -> StoredOutcomes:
        if self._outcomes is None:
            table = self.stack.output(OUTPUT_IDEMPOTENCY_TABLE, needed_for="clearing stored rejections")
            self._outcomes = StoredOutcomes(table, self.stack.client("dynamodb"))
        return self._outcomes

    def reopen(self, message: DeadLetter) -> bool:
        """Forget the sender's stored REJECTED outcome for this message's key, if it has one."""
        key = message.attribute(names.DLQ_ATTR_REQUEST_ID)
        if not key or message.error_code is None:
            return False  # moved by SQS itself after failed receives: nothing was decided
        outcomes = self.outcomes()
        return aws_call("clearing the stored rejection", lambda: outcomes.forget_rejection(key))

    def allowed_targets(self) -> dict[str, str]:
        """ARN -> URL of the queues a message may go back to: the stack's own request queues only."""
        if not self._urls:
            self._urls[self.stack.output(OUTPUT_QUEUE_ARN)] = self.stack.output(OUTPUT_QUEUE_URL)
            priority_url = self.stack.optional_output(OUTPUT_PRIORITY_QUEUE_URL)
            if priority_url:
                arn = aws_call(
                    "reading the priority queue",
                    lambda: self.dlq.sqs.get_queue_attributes(QueueUrl=priority_url, AttributeNames=["QueueArn"]),
                )["Attributes"]["QueueArn"]
                self._urls[arn] = priority_url
        return self._urls

    def target(self, message: DeadLetter) -> str | None:
        targets = self.allowed_targets()
        source = message.source_queue_arn
        if source is None:
            return self.stack.output(OUTPUT_QUEUE_URL)
        return targets.get(source)

    def run(self, code: str | None, limit: int | None, force: bool, progress: Progress | None) -> RedriveResult:
        result = RedriveResult()
        # Everything received and not deleted (filtered out, refused, failed, or not reached when the
        # run is interrupted) is made visible again at the end, so a re-run sees it at once.
        held: list[str] = []
        seen: set[str] = set()
        # Only what was in the DLQ when the run began: a redriven request that fails again comes back as a
        # new DLQ message, and taking it too would redrive it round and round.
        started = datetime.now(UTC)
        task = progress.add_task("redriving", total=limit or self.dlq.depth() or None) if progress else None
        try:
            while limit is None or len(result.moved) < limit:
                batch = self.dlq.receive(REDRIVE_VISIBILITY_SECONDS)
                if not batch:
                    break
                fresh = [message for message in batch if message.message_id not in seen]
                held += [message.receipt_handle for message in batch]
                if not fresh:
                    break
                for message in fresh:
                    seen.add(message.message_id)
                    label = message.error_code or NO_CODE
                    if message.sent_at is not None and message.sent_at > started:
                        result.skipped["arrived during this redrive"] += 1
                        continue
                    if (code is not None and label != code) or (limit is not None and len(result.moved) >= limit):
                        result.skipped["filtered"] += 1
                        continue
                    if not force and refused(message.error_code):
                        result.skipped[f"refused {label}"] += 1
                        continue
                    problem = self.move(message)
                    if problem:
                        result.failed.append({"MessageId": message.message_id, "Error": problem})
                        continue
                    held.remove(message.receipt_handle)
                    result.moved.append(
                        {
                            "MessageId": message.message_id,
                            "ErrorCode": message.error_code,
                            "RequestId": message.attribute(names.DLQ_ATTR_REQUEST_ID),
                            "StoredRejectionCleared": self.reopened.get(message.message_id, False),
                        }
                    )
                    if progress is not None and task is not None:
                        progress.advance(task)
        finally:
            self.dlq.release(held)
        return result

    def move(self, message: DeadLetter) -> str | None:
        """Send then delete; returns why it could not be moved (it stays in the DLQ), or None."""
        target = self.target(message)
        if target is None:
            return f"source queue {message.source_queue_arn} is not one of this stack's queues"
        attributes = message.redrive_attributes()
        if len(attributes) > SQS_MAX_MESSAGE_ATTRIBUTES:
            return f"{len(attributes)} message attributes; SQS takes at most {SQS_MAX_MESSAGE_ATTRIBUTES}"
        # First, so the copy is decided again; interrupted after this, the message is still in the DLQ.
        self.reopened[message.message_id] = self.reopen(message)
        aws_call(
            "sending to the queue",
            lambda: self.dlq.sqs.send_message(QueueUrl=target, MessageBody=message.body, MessageAttributes=attributes),
        )
        # Only now: a failure above leaves the message in the DLQ.
        aws_call(
            "deleting from the DLQ",
            lambda: self.dlq.sqs.delete_message(QueueUrl=self.dlq.url, ReceiptHandle=message.receipt_handle),
        )
        return None


@app.command("redrive")
def redrive_command(
    ctx: typer.Context,
    code: Annotated[
        str | None, typer.Option("--code", help="Only messages with this ErrorCode ('(none)' too).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--max", min=1, help="Move at most this many.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also move codes that fail again unchanged (bad input, vendor 4xx).")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Move DLQ messages back to the queue they came from (send first, delete after; safe to re-run)."""
    if code is not None and not code.strip():
        raise UsageError("--code must not be empty")
    as_json = wants_json(ctx, json_output)
    redriver = Redriver(DeadLetterQueue(context(ctx)))
    if as_json:
        result = redriver.run(code, limit, force, None)
    else:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            result = redriver.run(code, limit, force, progress)
    if as_json:
        render.print_json(result.as_json())
    else:
        render.say(f"moved {len(result.moved)} message(s) back to their queue")
        cleared = sum(1 for moved in result.moved if moved["StoredRejectionCleared"])
        if cleared:
            render.say(f"cleared {cleared} stored rejection(s): the sender decides those requests again")
        for reason, count in sorted(result.skipped.items()):
            hint = " (use --force after fixing the cause)" if reason.startswith("refused") else ""
            render.say(f"left {count}: {reason}{hint}")
        for failure in result.failed:
            render.say(f"failed {failure['MessageId']}: {failure['Error']}")
    if result.failed:
        raise typer.Exit(1)
