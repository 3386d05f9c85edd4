"""`send FILE|-`: validated with the sender's own parser before anything is queued."""

from __future__ import annotations

import json
from pathlib import Path

from infra.cli.send import sender_supports
from tests.cli.conftest import Operator, one_line_error
from tests.integration.helpers import sms


def _file(tmp_path: Path, content: object) -> str:
    path = tmp_path / "request.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_send_queues_a_valid_request_and_the_sender_sends_it(operator: Operator, tmp_path: Path) -> None:
    queued = operator.json("send", _file(tmp_path, sms("cli-send-1")))
    assert queued["RequestId"] == "cli-send-1"
    assert queued["QueueUrl"] == operator.world.queue_url

    operator.env.drain()
    assert operator.json("status", "cli-send-1")["Status"] == "SENT"
    assert len(operator.env.outbound()) == 1


def test_send_reads_stdin_and_keys_a_request_without_idempotency_key_by_its_sqs_id(operator: Operator) -> None:
    queued = operator.json("send", "-", input=json.dumps(sms()))
    assert queued["RequestId"] == queued["SqsMessageId"]
    operator.env.drain()
    assert operator.json("status", queued["RequestId"])["Status"] == "SENT"


def test_an_invalid_request_is_refused_with_the_rejected_row_text_and_nothing_is_queued(
    operator: Operator, tmp_path: Path
) -> None:
    result = operator.run("send", _file(tmp_path, sms("bad-1", To=[{"Number": "8015551234"}])))
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "nothing queued: VALIDATION_ERROR: To[0].Number must be an E.164 number" in line
    assert operator.world.queue_depth()["visible"] == 0

    # The sender rejects the same request with the same text in its row.
    operator.env.send(sms("bad-1", To=[{"Number": "8015551234"}]))
    operator.env.drain()
    row = operator.env.rows()["bad-1"]
    assert f"{row['ErrorCode']}: {row['ErrorMessage']}" in line


def test_malformed_json_is_refused(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", _file(tmp_path, "{not json"))
    assert result.exit_code == 1
    assert "INVALID_JSON" in one_line_error(result)
    assert operator.world.queue_depth()["visible"] == 0


def test_a_missing_file_is_bad_usage(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "cannot read" in one_line_error(result)


def test_priority_needs_a_priority_lane_in_the_stack(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", "--priority", _file(tmp_path, sms("p-1")))
    assert result.exit_code == 1
    assert "PriorityQueueUrl" in one_line_error(result)
    assert operator.world.queue_depth()["visible"] == 0


def test_priority_queues_on_the_priority_queue_when_the_stack_has_one(operator: Operator, tmp_path: Path) -> None:
    priority_url = operator.world.client("sqs").create_queue(QueueName=f"{operator.world.prefix}-priority")["QueueUrl"]
    with_lane = operator.with_outputs(f"{operator.stack_name}-lane", PriorityQueueUrl=priority_url)
    queued = with_lane.json("send", "--priority", _file(tmp_path, sms("p-2")))
    assert queued["QueueUrl"] == priority_url
    assert operator.world.queue_depth(priority_url)["visible"] == 1


def test_dry_run_and_at_say_clearly_when_the_sender_lacks_them(operator: Operator, tmp_path: Path) -> None:
    # DESIGN 9 fields land in the sender's parser one by one; until then nothing is queued.
    assert not sender_supports("DryRun"), "DryRun landed in the parser: test the DRYRUN# row wait instead"
    assert not sender_supports("SendAt"), "SendAt landed in the parser: test --at queueing instead"
    path = _file(tmp_path, sms("d-1"))
    dry = operator.run("send", "--dry-run", path)
    assert dry.exit_code == 1
    assert "does not support DryRun yet" in one_line_error(dry)
    later = operator.run("send", "--at", "2030-01-01T09:00:00Z", path)
    assert later.exit_code == 1
    assert "does not support SendAt yet" in one_line_error(later)
    assert operator.world.queue_depth()["visible"] == 0


def test_at_without_an_offset_is_bad_usage(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", "--at", "2030-01-01T09:00:00", _file(tmp_path, sms("d-2")))
    assert result.exit_code == 2
    assert "no UTC offset" in one_line_error(result)
