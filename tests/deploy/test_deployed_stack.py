"""The real stack, deployed with `cdk bootstrap` + `cdk deploy` to ministack, processes every sample.

The deployed Lambda runs behind ministack's own SQS event source mapping and calls the Telegent
sandbox over loopback: nothing here is the in-process runner.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from infra.cli.main import app
from infra.local.demo_report import match_outcomes, send_waves
from infra.local.deploy import DeployedStack, deployed_stack
from infra.local.operator import cli_env
from infra.local.samples import load_samples, upload_media
from infra.local.sandbox import TelegentSandbox

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(900)]
EVENTS = Path(__file__).resolve().parents[2] / "events"


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


# The operator CLI (telegent-sms, in-process) on the deployed stack: find a message, see the DLQ,
# fix a rejection's cause and redrive it, with nothing but the stack's name and the AWS settings.

CLI_FROM = "+18018018011"
CLI_SENT = "deploy-cli-sent"
CLI_MEDIA = "deploy-cli-media"


def cli(stack: DeployedStack, *args: str) -> Any:
    result = CliRunner().invoke(app, [*args, "--json"], env=cli_env(stack))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def wait_for_rows(stack: DeployedStack, wanted: dict[str, str], timeout: float = 120) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    rows: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        rows = {r["RequestId"]: r for r in stack.world.result_rows() if r["RequestId"] in wanted}
        if {key: row.get("Status") for key, row in rows.items()} == wanted:
            return rows
        time.sleep(0.5)
    pytest.fail(f"rows now {rows}\n{stack.server.log_tail()}")


def test_the_operator_cli_finds_messages_lists_the_dlq_and_redrives_after_a_fix(
    stack: DeployedStack, sandbox: TelegentSandbox
) -> None:
    world = stack.world
    media = {"Bucket": world.media_bucket, "Key": "mms/operator-cli-later.png"}
    world.send_bodies(
        [
            {"IdempotencyKey": CLI_SENT, "To": [{"Number": "+18015737131"}], "From": CLI_FROM, "Body": "CLI"},
            {
                "IdempotencyKey": CLI_MEDIA,
                "To": [{"Number": "+18015737132"}],
                "From": CLI_FROM,
                "Body": "Look",
                "MmsS3": [media],
            },
        ]
    )
    wait_for_rows(stack, {CLI_SENT: "SENT", CLI_MEDIA: "REJECTED"})

    sent = cli(stack, "status", CLI_SENT)
    assert sent["Status"] == "SENT"
    assert cli(stack, "status", sent["MessageId"])["RequestId"] == CLI_SENT
    live = cli(stack, "status", CLI_SENT, "--live")["Live"]
    assert (live["VendorStatus"], live["BaseUrl"]) == ("Queued", sandbox.base_url)  # the deployed sender's URL

    deadline = time.monotonic() + 60  # the DLQ copy is sent after the row
    while (groups := {g["ErrorCode"]: g for g in cli(stack, "dlq", "list")["Groups"]}).get(
        "MEDIA_NOT_FOUND"
    ) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "MEDIA_NOT_FOUND" in groups, groups
    assert groups["MEDIA_NOT_FOUND"]["Redrivable"] is True
    assert cli(stack, "dlq", "show", CLI_MEDIA)["ErrorCode"] == "MEDIA_NOT_FOUND"

    # The fix, then the redrive: the deployed Lambda decides the request again and sends it.
    png = (EVENTS / "s3" / "mms" / "boarding-pass.png").read_bytes()
    world.client("s3").put_object(**media, Body=png, ContentType="image/png")
    redriven = cli(stack, "dlq", "redrive", "--code", "MEDIA_NOT_FOUND")
    mine = [m for m in redriven["Messages"] if m["RequestId"] == CLI_MEDIA]
    assert len(mine) == 1
    assert mine[0]["StoredRejectionCleared"] is True
    assert redriven["Failed"] == []

    rows = wait_for_rows(stack, {CLI_SENT: "SENT", CLI_MEDIA: "SENT"})
    assert rows[CLI_MEDIA]["MessageType"] == "mms"
    assert cli(stack, "status", CLI_MEDIA)["Status"] == "SENT"
    to_media = [m for m in sandbox.sent_messages() if m["request"]["To"] == [{"Number": "+18015737132"}]]
    assert len(to_media) == 1  # the rejected attempt sent nothing; the redriven copy was sent once
    gone = CliRunner().invoke(app, ["dlq", "show", CLI_MEDIA], env=cli_env(stack))
    assert gone.exit_code == 1
