"""The local event source runner against a real moto server subprocess."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from typing import Any

import boto3
import pytest

from infra.local.esm_runner import BatchResponseError, EventSourceRunner, FunctionTimeoutError
from infra.local.lambda_context import FakeLambdaContext
from infra.local.moto_server import MotoServer
from infra.local.world import World, provision_world

pytestmark = pytest.mark.integration


@pytest.fixture
def moto_server(moto: MotoServer) -> MotoServer:
    """The session's moto server (tests/integration/conftest.py)."""
    return moto


@pytest.fixture
def world(moto_server: MotoServer) -> World:
    """A fresh queue/DLQ pair (and the rest) per test: 1 s visibility, DLQ after 3 receives."""
    return provision_world(moto_server.endpoint_url, suffix="auto", visibility_timeout=1, max_receive_count=3)


class Recorder:
    """A handler that keeps every event and fails the records whose body is in `fail_bodies`."""

    def __init__(self, fail_bodies: set[str] = frozenset(), raise_error: bool = False):  # type: ignore[assignment]
        self.fail_bodies = set(fail_bodies)
        self.raise_error = raise_error
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.events.append(event)
            self.contexts.append(context)
        if self.raise_error:
            raise RuntimeError("boom")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.fail_bodies
            ]
        }

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for event in self.events for record in event["Records"]]


def test_event_has_the_lambda_sqs_shape(world: World) -> None:
    attributes = {
        "Plain": {"DataType": "String", "StringValue": "hello"},
        "Count": {"DataType": "Number", "StringValue": "42"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
    }
    [with_attrs] = world.send_bodies(['{"n": 1}'], message_attributes=attributes)
    [without_attrs] = world.send_bodies(["plain text"])
    handler = Recorder()

    result = world.runner(handler).run_once()
    if len(result.received_ids) < 2:  # the two sends may land in separate receives
        result2 = world.runner(handler).run_once()
        assert result2.deleted_ids
    assert {r["messageId"] for r in handler.records} == {with_attrs, without_attrs}

    for record in handler.records:
        assert set(record) >= {
            "messageId", "receiptHandle", "body", "attributes", "messageAttributes",
            "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
        }  # fmt: skip
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == world.queue_arn
        assert record["awsRegion"] == "us-east-1"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        attrs = record["attributes"]
        assert attrs["ApproximateReceiveCount"] == "1"
        for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
            assert attrs[name].isdigit()
            assert int(attrs[name]) > 1_500_000_000_000  # epoch milliseconds, as strings
        assert attrs["SenderId"]
        assert all(isinstance(v, str) for v in attrs.values())

    by_id = {r["messageId"]: r for r in handler.records}
    rich, bare = by_id[with_attrs], by_id[without_attrs]
    assert rich["body"] == '{"n": 1}'
    assert rich["messageAttributes"] == {
        "Plain": {
            "stringValue": "hello",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "Count": {"stringValue": "42", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "Blob": {
            "binaryValue": base64.b64encode(b"\x00\x01binary").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert len(rich["md5OfMessageAttributes"]) == 32
    assert bare["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in bare

    # Powertools (what the sender uses) accepts the event as an SQS event.
    from aws_lambda_powertools.utilities.data_classes import SQSEvent
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    parsed = SqsModel.model_validate(handler.events[0])
    assert parsed.Records[0].eventSource == "aws:sqs"
    sqs_record = next(SQSEvent(handler.events[0]).records)
    assert sqs_record.queue_url.endswith(f"/{world.queue_name}")
    assert world.queue_depth() == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_partial_failures_are_redelivered_then_dead_lettered(world: World) -> None:
    bodies = [f"msg-{i}" for i in range(6)]
    ids = dict(zip(bodies, world.send_bodies(bodies), strict=True))
    failing = {"msg-1", "msg-4"}
    handler = Recorder(fail_bodies=failing)

    summary = world.runner(handler).run_until_drained(max_seconds=20)

    assert summary.drained
    seen = Counter(r["body"] for r in handler.records)
    # Successes: once each, deleted at once. Failures: once per receive until maxReceiveCount.
    assert {b: seen[b] for b in bodies} == {b: (3 if b in failing else 1) for b in bodies}
    counts = {
        body: [r["attributes"]["ApproximateReceiveCount"] for r in handler.records if r["body"] == body]
        for body in failing
    }
    assert counts == {body: ["1", "2", "3"] for body in failing}
    assert summary.failures == 2 * 3
    assert summary.deleted == 4
    assert summary.batch_errors == 0

    dead = world.dlq_messages()
    assert {m["body"] for m in dead} == failing
    assert {m["message_id"] for m in dead} == {ids[b] for b in failing}  # the id survives the move
    assert world.queue_depth() == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert world.dlq_depth()["visible"] == 2  # dlq_messages() left them there


def test_handler_error_deletes_nothing(world: World) -> None:
    ids = world.send_bodies(["a", "b", "c"])
    runner = world.runner(Recorder(raise_error=True))

    first = runner.run_once()

    assert sorted(first.received_ids) == sorted(ids)
    assert isinstance(first.error, RuntimeError)
    assert first.batch_failed
    assert first.deleted_ids == []
    assert sorted(first.failed_ids) == sorted(ids)
    assert world.queue_depth()["in_flight"] == 3

    time.sleep(1.2)  # visibility timeout 1 s: the whole batch comes back
    retry = Recorder()
    second = world.runner(retry).run_once()
    assert sorted(second.received_ids) == sorted(ids)
    assert {r["attributes"]["ApproximateReceiveCount"] for r in retry.records} == {"2"}
    assert sorted(second.deleted_ids) == sorted(ids)
    assert world.queue_depth() == {"visible": 0, "in_flight": 0, "delayed": 0}


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"wrongKey": "x"}]},
        "not an object",
    ],
)
def test_invalid_batch_response_fails_the_whole_batch(world: World, response: Any) -> None:
    world.send_bodies(["x", "y"])

    result = world.runner(lambda event, context: response).run_once()

    assert len(result.received_ids) == 2
    assert isinstance(result.error, BatchResponseError)
    assert result.deleted_ids == []
    assert world.queue_depth()["in_flight"] == 2


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}])
def test_empty_response_means_every_record_succeeded(world: World, response: Any) -> None:
    ids = world.send_bodies(["x", "y"])

    result = world.runner(lambda event, context: response).run_once()

    assert result.error is None
    assert sorted(result.deleted_ids) == sorted(ids)
    assert world.queue_depth() == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_context_counts_down_and_is_new_per_invocation(world: World) -> None:
    from aws_lambda_powertools import Logger

    world.send_bodies(["one"])
    remaining: list[int] = []
    logger = Logger(service="esm-runner-test")

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: FakeLambdaContext) -> None:
        remaining.append(context.get_remaining_time_in_millis())
        time.sleep(0.3)
        remaining.append(context.get_remaining_time_in_millis())
        assert logger.get_current_keys()["function_request_id"] == context.aws_request_id
        assert logger.get_current_keys()["function_name"] == "sender-under-test"

    runner = world.runner(handler, function_timeout_seconds=3, function_name="sender-under-test")
    result = runner.run_once()

    assert result.error is None, result.error
    before, after = remaining
    assert 2_500 <= before <= 3_000, remaining
    assert 290 <= before - after <= 1_500, remaining  # generous upper bound: shared CI machines

    first, second = FakeLambdaContext(), FakeLambdaContext()
    assert first.aws_request_id != second.aws_request_id
    assert first.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:telegent-sms-sender"
    assert first.log_group_name == "/aws/lambda/telegent-sms-sender"


def test_handler_past_the_function_timeout_fails_the_batch(world: World) -> None:
    world.send_bodies(["slow"])

    def handler(event: dict[str, Any], context: FakeLambdaContext) -> None:
        time.sleep(1.1)
        assert context.get_remaining_time_in_millis() == 0

    result = world.runner(handler, function_timeout_seconds=1).run_once()

    assert isinstance(result.error, FunctionTimeoutError)
    assert result.deleted_ids == []


def test_batching_window_gathers_more_than_ten(world: World) -> None:
    ids = world.send_bodies([f"m{i}" for i in range(25)])
    handler = Recorder()

    result = world.runner(handler, batch_size=25, maximum_batching_window_seconds=2).run_once()

    assert len(handler.events) == 1
    assert sorted(result.received_ids) == sorted(ids)
    assert sorted(result.deleted_ids) == sorted(ids)  # delete_message_batch in chunks of 10


def test_batch_size_over_ten_needs_a_window(world: World) -> None:
    with pytest.raises(ValueError, match="maximum_batching_window_seconds"):
        world.runner(Recorder(), batch_size=11)


def test_concurrent_pollers_process_each_message_once(moto_server: MotoServer) -> None:
    world = provision_world(moto_server.endpoint_url, suffix="auto", visibility_timeout=10)
    bodies = [f"c{i}" for i in range(40)]
    world.send_bodies(bodies)
    handler = Recorder()

    summary = world.runner(handler, batch_size=5, concurrency=4).run_until_drained(max_seconds=15)

    assert summary.drained
    assert sorted(r["body"] for r in handler.records) == sorted(bodies)
    assert summary.records == 40
    assert summary.deleted == 40
    assert summary.invocations >= 8


def test_world_resources_and_env(world: World) -> None:
    session = world.session()
    ddb = session.client("dynamodb", endpoint_url=world.endpoint_url)
    table = ddb.describe_table(TableName=world.messages_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "RequestId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {gsi["IndexName"]: gsi for gsi in table["GlobalSecondaryIndexes"]}
    assert indexes["MessageIdIndex"]["Projection"] == {"ProjectionType": "ALL"}
    # The operator CLI's stats index (a Query per day, never a Scan), as in the stack.
    assert indexes["CreatedDayIndex"]["KeySchema"] == [
        {"AttributeName": "CreatedDay", "KeyType": "HASH"},
        {"AttributeName": "CreatedAt", "KeyType": "RANGE"},
    ]
    ttl = ddb.describe_time_to_live(TableName=world.messages_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}
    ttl = ddb.describe_time_to_live(TableName=world.idempotency_table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiration"
    rate = ddb.describe_table(TableName=world.rate_limit_table)["Table"]
    assert rate["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]

    sqs = session.client("sqs", endpoint_url=world.endpoint_url)
    attrs = sqs.get_queue_attributes(QueueUrl=world.queue_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": world.dlq_arn, "maxReceiveCount": 3}
    assert attrs["VisibilityTimeout"] == "1"
    dlq = sqs.get_queue_attributes(QueueUrl=world.dlq_url, AttributeNames=["MessageRetentionPeriod"])
    assert dlq["Attributes"]["MessageRetentionPeriod"] == "1209600"

    secret = session.client("secretsmanager", endpoint_url=world.endpoint_url)
    value = json.loads(secret.get_secret_value(SecretId=world.secret_name)["SecretString"])
    assert value == {"AccountKey": "DID-sandbox", "AccountSecret": "sandbox-secret"}
    s3 = session.client("s3", endpoint_url=world.endpoint_url)
    s3.put_object(Bucket=world.media_bucket, Key="mms/a.png", Body=b"png", ContentType="image/png")
    assert s3.get_object(Bucket=world.media_bucket, Key="mms/a.png")["ContentType"] == "image/png"

    env = world.lambda_env("http://127.0.0.1:9/v1.0")
    assert env["TELEGENT_BASE_URL"] == "http://127.0.0.1:9/v1.0"
    assert env["TELEGENT_SECRET_ID"] == world.secret_name
    assert env["MESSAGES_TABLE"] == world.messages_table
    assert env["DLQ_URL"] == world.dlq_url
    assert env["AWS_ENDPOINT_URL"] == world.endpoint_url
    assert env["POWERTOOLS_SERVICE_NAME"] == "telegent-sms"
    assert all(isinstance(v, str) for v in env.values())

    # The same env drives plain boto3 with no explicit endpoint (as the Lambda code will).
    with pytest.MonkeyPatch.context() as mp:
        for name, val in env.items():
            mp.setenv(name, val)
        ddb_from_env = boto3.client("dynamodb")
        ddb_from_env.put_item(
            TableName=env["MESSAGES_TABLE"],
            Item={"RequestId": {"S": "k1"}, "Attempts": {"N": "2"}, "Cost": {"N": "0.0045"}},
        )
    assert world.result_rows() == [{"RequestId": "k1", "Attempts": 2, "Cost": 0.0045}]


def test_moto_server_reset_and_stop() -> None:
    server = MotoServer().start()
    try:
        sqs = boto3.client(
            "sqs",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sqs.create_queue(QueueName="gone-after-reset")
        assert len(sqs.list_queues().get("QueueUrls", [])) == 1
        server.reset()
        assert sqs.list_queues().get("QueueUrls", []) == []
    finally:
        server.stop()
    assert not server.running
    assert not server.ping()


def test_runner_accepts_an_endpoint_url(world: World) -> None:
    [message_id] = world.send_bodies(["hi"])
    runner = EventSourceRunner(world.endpoint_url, world.queue_url, Recorder())
    result = runner.run_once()
    assert result.deleted_ids == [message_id]
    assert runner.queue_arn == world.queue_arn
