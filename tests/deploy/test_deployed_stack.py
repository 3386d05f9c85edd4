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
    (mapping,) = mappings["EventSourceMappings"]
    assert mapping["EventSourceArn"] == stack.outputs["QueueArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


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
