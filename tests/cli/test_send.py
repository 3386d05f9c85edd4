"""`send FILE|-`: validated with the sender's own parser before anything is queued."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

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


def _drain_when_queued(operator: Operator) -> threading.Thread:
    """The sender, running beside the CLI: once the request is on the queue, drain it."""

    def drain() -> None:
        deadline = time.monotonic() + 30
        while operator.world.queue_depth()["visible"] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        operator.env.drain()

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return thread


def test_dry_run_queues_the_request_and_prints_the_dry_run_row(operator: Operator, tmp_path: Path) -> None:
    sender = _drain_when_queued(operator)
    result = operator.run("send", "--dry-run", "--wait", "30", "--json", _file(tmp_path, sms("d-1", Body="a" * 200)))
    sender.join(30)
    assert result.exit_code == 0, result.output
    # The sender runs in this process too: its metric lines share stdout with the CLI's answer.
    out = result.stdout
    queued, _end = json.JSONDecoder().raw_decode(out, out.index('{\n  "RequestId"'))
    row = queued["DryRunRow"]
    assert queued["RequestId"] == "d-1"
    assert (row["RequestId"], row["Status"], row["WouldBe"]) == ("DRYRUN#d-1", "DRY_RUN", "SENT")
    assert (row["Encoding"], row["Segments"]) == ("GSM-7", 2)
    assert operator.env.outbound() == []
    assert "d-1" not in operator.env.rows()


def test_dry_run_without_a_sender_says_so_after_its_wait(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", "--dry-run", "--wait", "0", _file(tmp_path, sms("d-3")))
    assert result.exit_code == 1
    assert "no DRYRUN#d-3 row within 0s" in one_line_error(result)


def test_at_queues_the_request_with_send_at_and_the_sender_schedules_it(operator: Operator, tmp_path: Path) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    local = later.astimezone(timezone(timedelta(hours=-7))).isoformat()
    queued = operator.json("send", "--at", local, _file(tmp_path, sms("at-1")))
    assert queued["SendAt"] == later.isoformat().replace("+00:00", "Z")
    operator.env.drain()
    assert operator.json("status", "at-1")["Status"] == "SCHEDULED"
    (listed,) = operator.json("schedule", "list")["Schedules"]
    assert (listed["RequestId"], listed["SendAt"]) == ("at-1", queued["SendAt"])
    assert operator.env.outbound() == []


def test_a_body_over_max_segments_is_refused_before_anything_is_queued(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", _file(tmp_path, sms("long-1", Body="a" * 1531)))
    assert result.exit_code == 1
    assert "nothing queued: TOO_MANY_SEGMENTS: Body is 11 segments" in one_line_error(result)
    assert operator.world.queue_depth()["visible"] == 0


def test_at_without_an_offset_is_bad_usage(operator: Operator, tmp_path: Path) -> None:
    result = operator.run("send", "--at", "2030-01-01T09:00:00", _file(tmp_path, sms("d-2")))
    assert result.exit_code == 2
    assert "no UTC offset" in one_line_error(result)
