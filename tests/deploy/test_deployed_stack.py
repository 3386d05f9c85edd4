"""The real stack, deployed with `cdk bootstrap` + `cdk deploy` to ministack, processes every sample.

The deployed Lambda runs behind ministack's own SQS event source mapping and calls the Telegent
sandbox over loopback: nothing here is the in-process runner.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.demo_report import match_outcomes, send_waves
from infra.local.deploy import DeployedStack, deployed_stack
from infra.local.samples import load_samples, upload_media
from infra.local.sandbox import TelegentSandbox

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[TelegentSandbox]:
    with TelegentSandbox() as server:
        yield server


@pytest.fixture(scope="module")
def stack(sandbox: TelegentSandbox) -> Iterator[DeployedStack]:
    # Tearing down is the emulator stopping; `cdk destroy` is exercised by `make demo`.
    with deployed_stack(sandbox.base_url, tear_down=False) as deployed:
        yield deployed


def test_deployed_function_has_the_contract_environment(stack: DeployedStack) -> None:
    config = stack.client("lambda").get_function_configuration(FunctionName=stack.outputs["SenderFunctionName"])
    env = config["Environment"]["Variables"]
    assert config["Handler"] == "sender.handler.handler"
    for name in (
        "TELEGENT_BASE_URL",
        "TELEGENT_SECRET_ID",
        "MESSAGES_TABLE",
        "IDEMPOTENCY_TABLE",
        "MEDIA_BUCKET",
        "DLQ_URL",
        "RATE_LIMIT_TABLE",
        "TELEGENT_RATE_LIMIT_PER_MINUTE",
        "TELEGENT_RATE_LIMIT_BURST",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_METRICS_NAMESPACE",
    ):
        assert env.get(name), name
    assert env["MESSAGES_TABLE"] == stack.outputs["MessagesTableName"]
    assert env["DLQ_URL"] == stack.outputs["DeadLetterQueueUrl"]
    mappings = stack.client("lambda").list_event_source_mappings(FunctionName=stack.outputs["SenderFunctionName"])
    by_queue = {mapping["EventSourceArn"]: mapping for mapping in mappings["EventSourceMappings"]}
    # The request queue and the priority lane's queue (DESIGN 11), the same function.
    assert set(by_queue) == {stack.outputs["QueueArn"], stack.outputs["PriorityQueueArn"]}
    for mapping in by_queue.values():
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert env["PRIORITY_QUEUE_ARN"] == stack.outputs["PriorityQueueArn"]
    assert env["OPTOUT_TABLE"] == stack.outputs["OptOutTableName"]


def test_every_sample_and_an_eventbridge_event_end_as_expected(stack: DeployedStack, sandbox: TelegentSandbox) -> None:
    world = stack.world
    upload_media(world.client("s3"), world.media_bucket)
    samples = load_samples(world.media_bucket)
    stack.put_event(
        {
            "IdempotencyKey": "deploy-bus-1",
            "To": [{"Number": "+18015737199"}],
            "From": "+18018018011",
            "Body": "via the bus",
        }
    )
    ids = send_waves(samples, world.send_bodies, lambda: stack.wait_until_processed(0))
    stack.wait_until_processed(len({s.request_id or s.name for s in samples}) + 1)
    rows, dlq = world.result_rows(), world.dlq_messages()
    outcomes = match_outcomes(samples, ids, rows, dlq)
    assert [(o.sample.name, o.problems) for o in outcomes if o.problems] == []
    assert {r["RequestId"]: r["Status"] for r in rows}["deploy-bus-1"] == "SENT"
    assert len(sandbox.sent_messages()) == sum(s.sends for s in samples) + 1
    for copy in dlq:
        assert copy["message_attributes"]["Reason"]
        assert copy["message_attributes"]["SourceMessageId"]


def test_an_opted_out_number_gets_nothing_and_a_priority_request_is_sent(
    stack: DeployedStack, sandbox: TelegentSandbox
) -> None:
    """DESIGN 10 and 11 on the deployed stack: the opt-out table is read by the deployed sender, and the
    priority queue's own mapping invokes it."""
    world = stack.world
    stack.client("dynamodb").put_item(
        TableName=stack.outputs["OptOutTableName"],
        Item={
            "Number": {"S": "+18015737166"},
            "OptedOutAt": {"S": "2026-01-01T00:00:00.000Z"},
            "Source": {"S": "operator"},
        },
    )
    sent_before = len(sandbox.sent_messages())
    rows_before = len(world.result_rows())
    request = {"To": [{"Number": "+18015737166"}], "From": "+18018018011", "Body": "after STOP"}
    world.send_bodies([{**request, "IdempotencyKey": "deploy-opted-out"}])
    otp = {"To": [{"Number": "+18015737155"}], "From": "+18018018011", "Body": "Your code is 123456"}
    world.send_bodies([{**otp, "IdempotencyKey": "deploy-otp"}], queue_url=stack.outputs["PriorityQueueUrl"])
    stack.wait_until_processed(rows_before + 2)
    rows = {row["RequestId"]: row for row in world.result_rows()}
    assert (rows["deploy-opted-out"]["Status"], rows["deploy-opted-out"]["ErrorCode"]) == ("REJECTED", "OPTED_OUT")
    assert rows["deploy-otp"]["Status"] == "SENT"
    sent = sandbox.sent_messages()[sent_before:]
    assert [m["request"]["To"][0]["Number"] for m in sent] == ["+18015737155"]
    assert world.queue_depth(stack.outputs["PriorityQueueUrl"]) == {"visible": 0, "in_flight": 0, "delayed": 0}
