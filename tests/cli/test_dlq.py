"""`dlq list|show|redrive` against moto and the real sender: grouping, no consumption, safe redrive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import EndpointConnectionError

from infra.cli.stack import StackContext
from messaging import names
from messaging.rows import now_utc
from sender.dead_letters import dead_letter_reasons
from sender.source_message import SourceMessage
from tests.cli.conftest import Operator, one_line_error
from tests.integration.helpers import sms

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _dead_letter(operator: Operator, body: dict[str, Any], code: str, original_id: str) -> None:
    """A DLQ copy exactly as the sender makes it (its own reason attributes)."""
    world = operator.world
    source = SourceMessage(
        message_id=original_id,
        receipt_handle="",
        body="",
        receive_count=3,
        queue_arn=world.queue_arn,
    )
    reasons = dead_letter_reasons(source, body.get("IdempotencyKey") or original_id, code, "gave up", now_utc())
    world.send_bodies([body], message_attributes=reasons, queue_url=world.dlq_url)


def _rejected(operator: Operator, count: int) -> None:
    """Real rejections: the sender copies each to the DLQ with VALIDATION_ERROR."""
    operator.env.send(*[sms(f"bad-{i}", From="not-a-number") for i in range(count)])
    operator.env.drain()


def test_list_groups_by_error_code_without_consuming(operator: Operator) -> None:
    _rejected(operator, 2)
    _dead_letter(operator, sms("retry-1"), "RETRIES_EXHAUSTED", "orig-1")

    listed = operator.json("dlq", "list")
    assert listed["Total"] == 3
    by_code = {group["ErrorCode"]: group for group in listed["Groups"]}
    assert by_code["VALIDATION_ERROR"]["Count"] == 2
    assert by_code["VALIDATION_ERROR"]["Redrivable"] is False
    assert by_code["RETRIES_EXHAUSTED"]["Count"] == 1
    assert by_code["RETRIES_EXHAUSTED"]["Redrivable"] is True
    assert by_code["RETRIES_EXHAUSTED"]["Oldest"].endswith("Z")
    # Listing left everything there, visible at once.
    assert operator.world.dlq_depth()["visible"] == 3
    assert operator.json("dlq", "list")["Total"] == 3

    table = operator.run("dlq", "list")
    assert table.exit_code == 0
    assert "VALIDATION_ERROR" in table.stdout
    assert "RETRIES_EXHAUSTED" in table.stdout


def test_show_finds_a_message_by_request_id_or_message_id(operator: Operator) -> None:
    _rejected(operator, 1)
    shown = operator.json("dlq", "show", "bad-0")
    assert shown["ErrorCode"] == "VALIDATION_ERROR"
    assert shown["SourceQueueArn"] == operator.world.queue_arn
    assert shown["Body"]["IdempotencyKey"] == "bad-0"
    assert operator.json("dlq", "show", shown["MessageId"])["RequestId"] == "bad-0"
    assert operator.world.dlq_depth()["visible"] == 1

    missing = operator.run("dlq", "show", "nothing-like-it")
    assert missing.exit_code == 1
    assert "no DLQ message" in one_line_error(missing)


def test_redrive_refuses_codes_that_would_fail_again_unless_forced(operator: Operator) -> None:
    _rejected(operator, 2)
    _dead_letter(operator, sms("retry-1"), "RETRIES_EXHAUSTED", "orig-1")
    _dead_letter(operator, sms("vendor-400"), "400", "orig-2")

    result = operator.json("dlq", "redrive")
    assert result["Moved"] == 1
    assert result["Skipped"] == {"refused VALIDATION_ERROR": 2, "refused 400": 1}
    assert operator.world.dlq_depth()["visible"] == 3
    assert operator.world.queue_depth()["visible"] == 1

    forced = operator.json("dlq", "redrive", "--code", "400", "--force")
    assert forced["Moved"] == 1
    assert forced["Skipped"] == {"filtered": 2}
    assert operator.world.dlq_depth()["visible"] == 2


def test_send_time_rejections_are_not_redriven_unchanged(operator: Operator) -> None:
    for code in ("TOO_MANY_SEGMENTS", "SEND_AT_TOO_FAR", "NOT_SCHEDULABLE"):
        _dead_letter(operator, sms(f"st-{code}"), code, f"orig-{code}")
    groups = operator.json("dlq", "list")["Groups"]
    assert {group["ErrorCode"]: group["Redrivable"] for group in groups} == {
        "TOO_MANY_SEGMENTS": False,
        "SEND_AT_TOO_FAR": False,
        "NOT_SCHEDULABLE": False,
    }
    result = operator.json("dlq", "redrive")
    assert result["Moved"] == 0
    assert result["Skipped"] == {
        "refused TOO_MANY_SEGMENTS": 1,
        "refused SEND_AT_TOO_FAR": 1,
        "refused NOT_SCHEDULABLE": 1,
    }


def test_redrive_filters_by_code_and_max(operator: Operator) -> None:
    for i in range(3):
        _dead_letter(operator, sms(f"r-{i}"), "RETRIES_EXHAUSTED", f"orig-{i}")
    _dead_letter(operator, sms("i-0"), "INTERNAL_ERROR", "orig-i")

    moved = operator.json("dlq", "redrive", "--code", "RETRIES_EXHAUSTED", "--max", "2")
    assert moved["Moved"] == 2
    assert all(m["ErrorCode"] == "RETRIES_EXHAUSTED" for m in moved["Messages"])
    remaining = {g["ErrorCode"]: g["Count"] for g in operator.json("dlq", "list")["Groups"]}
    assert remaining == {"RETRIES_EXHAUSTED": 1, "INTERNAL_ERROR": 1}

    people = operator.run("dlq", "redrive")
    assert people.exit_code == 0
    assert "moved 2 message(s)" in people.stdout
    assert operator.world.dlq_depth()["visible"] == 0


def test_redrive_carries_attributes_and_keeps_the_key_of_a_request_without_one(operator: Operator) -> None:
    body = sms()  # no IdempotencyKey: the sender keyed it by the first SQS message id
    _dead_letter(operator, body, "RETRIES_EXHAUSTED", "first-sqs-id")
    operator.json("dlq", "redrive")

    message = operator.world.client("sqs").receive_message(
        QueueUrl=operator.world.queue_url, MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"][0]
    attributes = message["MessageAttributes"]
    assert attributes[names.ATTR_ORIGINAL_MESSAGE_ID]["StringValue"] == "first-sqs-id"
    assert names.DLQ_ATTR_ERROR_CODE not in attributes  # a clean copy: no stale reason

    operator.env.drain()
    assert operator.json("status", "first-sqs-id")["Status"] == "SENT"


class _DropsDeleteAfter:
    """An SQS client whose DeleteMessage fails (a dropped connection) after `allowed` successes."""

    def __init__(self, client: Any, allowed: int) -> None:
        self._client = client
        self._allowed = allowed

    def delete_message(self, **kwargs: Any) -> Any:
        if self._allowed <= 0:
            raise EndpointConnectionError(endpoint_url=self._client.meta.endpoint_url)
        self._allowed -= 1
        return self._client.delete_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Session:
    def __init__(self, allowed_deletes: int) -> None:
        self._session: Any = boto3.session.Session()
        self._allowed = allowed_deletes

    def client(self, service: str) -> Any:
        client = self._session.client(service)
        return _DropsDeleteAfter(client, self._allowed) if service == "sqs" else client

    def resource(self, service: str) -> Any:
        return self._session.resource(service)


def test_redrive_interrupted_halfway_and_run_again_loses_nothing_and_sends_nothing_twice(operator: Operator) -> None:
    keys = [f"k-{i}" for i in range(3)]
    for i, key in enumerate(keys):
        _dead_letter(operator, sms(key), "RETRIES_EXHAUSTED", f"orig-k-{i}")
    for i in range(3):
        _dead_letter(operator, sms(), "RETRIES_EXHAUSTED", f"orig-n-{i}")  # keyed by OriginalMessageId

    # Two messages move; the third reaches the queue but the connection drops before its delete.
    interrupted = operator.run("dlq", "redrive", obj=StackContext(session=_Session(allowed_deletes=2)))
    assert interrupted.exit_code == 1
    assert "deleting from the DLQ failed" in one_line_error(interrupted)
    assert operator.world.queue_depth()["visible"] == 3
    assert operator.world.dlq_depth()["visible"] == 4  # the third is still there, visible again

    again = operator.json("dlq", "redrive")
    assert again["Moved"] == 4
    assert operator.world.dlq_depth()["visible"] == 0
    assert operator.world.queue_depth()["visible"] == 7  # one request twice on the queue ...

    operator.env.drain()
    rows = operator.env.rows()
    assert set(rows) == {*keys, "orig-n-0", "orig-n-1", "orig-n-2"}
    assert {row["Status"] for row in rows.values()} == {"SENT"}
    assert len(operator.env.outbound()) == 6  # ... but sent once: its key is the same
    assert operator.world.dlq_depth()["visible"] == 0


def test_a_rejection_fixed_at_its_cause_is_redriven_and_sent_once(operator: Operator) -> None:
    """The operator's loop: see why in the DLQ, fix the cause (upload the missing media), redrive, done."""
    world, env = operator.world, operator.env
    media = {"Bucket": world.media_bucket, "Key": "mms/arrives-later.png"}
    env.send(sms("needs-media", Body="Look", MmsS3=[media]))
    env.drain()
    assert operator.json("status", "needs-media")["ErrorCode"] == "MEDIA_NOT_FOUND"
    (group,) = operator.json("dlq", "list")["Groups"]
    assert (group["ErrorCode"], group["Count"], group["Redrivable"]) == ("MEDIA_NOT_FOUND", 1, True)

    png = (EVENTS / "s3" / "mms" / "boarding-pass.png").read_bytes()
    world.client("s3").put_object(**media, Body=png, ContentType="image/png")
    assert operator.json("dlq", "redrive", "--code", "MEDIA_NOT_FOUND")["Moved"] == 1
    env.drain()

    row = operator.json("status", "needs-media")
    assert (row["Status"], row["MessageType"]) == ("SENT", "mms")
    assert "ErrorCode" not in row
    assert operator.json("dlq", "list")["Total"] == 0
    assert len(env.outbound()) == 1
