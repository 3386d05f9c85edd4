"""The send path under faults (issue 8): unexpected exceptions, oversized reasons, endless throttling,
log leaks, DLQ copies that keep the key, the same key twice in a batch."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from messaging.errors import PermanentError, TransientError, TransientKind
from messaging.ports import Acceptance
from observability import logger
from sender import pipeline
from sender.pipeline import handle_record
from tests.unit.fakes import FakeVendor, World, make_world, sqs_record

SMS = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Your order has shipped"}
PLENTY_OF_TIME = lambda: 60_000  # noqa: E731
SECRET_BODY = "Your one-time code is 918273 for the door"
CLOCK_START = datetime.fromtimestamp(1_800_000_000, tz=UTC)  # make_world's clock (it ticks a second per read)
FIRST_ENQUEUED_ISO = "2027-01-15T05:13:20.000Z"  # SentTimestamp 1799990000000, 10,000 s before CLOCK_START


@pytest.fixture
def world() -> World:
    return make_world()


class Logs:
    """The JSON lines the Powertools logger writes, as in Lambda."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.handler = logging.StreamHandler(self.buffer)
        self.handler.setFormatter(logger.registered_formatter)

    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


@pytest.fixture
def logs() -> Iterator[Logs]:
    capture = Logs()
    logger.addHandler(capture.handler)
    yield capture
    logger.removeHandler(capture.handler)


def record(body: Any, message_id: str = "msg-1", receive_count: int = 1, **attributes: str) -> dict[str, Any]:
    event = sqs_record(body, message_id, receive_count)
    event["messageAttributes"] = {
        name: {"stringValue": value, "dataType": "String"} for name, value in attributes.items()
    }
    return event


def run(world: World, event: dict[str, Any]) -> None:
    handle_record(event, world.deps, PLENTY_OF_TIME)


class Bug(Exception):
    pass


# ---------------------------------------------------------------- 3. unexpected exceptions


def test_an_unexpected_exception_is_logged_counted_and_retried(world: World, logs: Logs) -> None:
    world.vendor.failures.append(RuntimeError(f"vendor client bug near '{SECRET_BODY}' for +18015737111"))
    with pytest.raises(RuntimeError):
        run(world, record({**SMS, "Body": SECRET_BODY, "IdempotencyKey": "k-1"}))
    assert world.metrics.counts["InternalErrors"] == 1
    assert world.results.rows == {}  # retried, not settled: a later receive may succeed
    assert world.dlq.messages == []
    (line,) = [line for line in logs.lines() if line["message"].startswith("unexpected error")]
    assert line["level"] == "ERROR"
    assert line["error_type"] == "RuntimeError"
    assert "send" in line["stack"]  # where it happened: the frames
    assert "pipeline.py" in line["stack"]
    assert line["correlation_id"] == "k-1"
    assert SECRET_BODY[:12] not in logs.text()
    assert "8015737111" not in logs.text()


def test_an_unexpected_exception_on_the_last_receive_is_settled_with_a_row_and_a_dlq_copy(
    world: World, logs: Logs
) -> None:
    world.vendor.failures.append(TypeError(f"object of type 'int' has no len(): {SECRET_BODY}"))
    run(world, record({**SMS, "Body": SECRET_BODY}, message_id="m-5", receive_count=5))  # 5 = maxReceiveCount
    row = world.results.rows["m-5"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "INTERNAL_ERROR")
    assert row["ErrorMessage"].startswith("TypeError: object of type 'int' has no len()")
    assert SECRET_BODY[:12] not in row["ErrorMessage"]
    assert row["To"] == "+18015737111"
    body, reasons = world.dlq.messages[0]
    assert json.loads(body)["Body"] == SECRET_BODY  # the original, ready to redrive after the fix
    assert reasons["ErrorCode"] == "INTERNAL_ERROR"
    assert reasons["Reason"].startswith("INTERNAL_ERROR: TypeError: ")
    assert reasons["OriginalMessageId"] == reasons["RequestId"] == "m-5"
    assert world.metrics.counts["InternalErrors"] == 1
    assert any(line["message"] == "unexpected error: settling it as INTERNAL_ERROR" for line in logs.lines())
    assert SECRET_BODY[:12] not in logs.text()


def test_an_unexpected_exception_before_the_key_is_known_is_settled_under_the_message_id(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_parser(*_: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pipeline, "parse_send_request", broken_parser)
    with pytest.raises(RecursionError):
        run(world, record(SMS, message_id="m-deep"))
    run(world, record(SMS, message_id="m-deep", receive_count=5))
    assert world.results.rows["m-deep"]["ErrorMessage"] == "RecursionError: maximum recursion depth exceeded"
    assert world.dlq.messages[0][1]["ErrorCode"] == "INTERNAL_ERROR"
    assert world.vendor.sent == []


def test_an_unexpected_parser_failure_is_settled_under_the_producers_key(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_parser(*_: Any) -> Any:
        raise TypeError("object of type 'int' has no len()")

    monkeypatch.setattr(pipeline, "parse_send_request", broken_parser)
    run(world, record({**SMS, "IdempotencyKey": "order-9", "MmsBase64": 5}, message_id="m-9", receive_count=5))
    assert world.results.rows["order-9"]["ErrorCode"] == "INTERNAL_ERROR"
    (_, reasons) = world.dlq.messages[0]
    assert (reasons["RequestId"], reasons["OriginalMessageId"]) == ("order-9", "m-9")


def test_without_a_redrive_policy_an_unexpected_exception_is_always_retried(world: World) -> None:
    world.queues.max_receives = None
    world.vendor.failures.append(Bug("no redrive policy to count receives against"))
    with pytest.raises(Bug):
        run(world, record(SMS, receive_count=50))
    assert world.dlq.messages == []


def test_when_the_dlq_copy_fails_too_the_record_is_left_to_the_redrive_policy(world: World, logs: Logs) -> None:
    def failing_copy(body: str, reasons: Any) -> None:
        raise TransientError(TransientKind.DEPENDENCY, "copying to the DLQ failed: boom")

    world.deps.dlq.copy = failing_copy  # type: ignore[method-assign]
    world.vendor.failures.append(Bug("bug"))
    with pytest.raises(Bug):
        run(world, record(SMS, receive_count=5))
    assert "the queue's redrive policy moves the message there" in logs.text()


def test_a_bug_in_the_failure_path_itself_is_still_logged_and_retried(
    world: World, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_policy(*_: Any, **__: Any) -> Any:
        raise KeyError("retry policy bug")

    monkeypatch.setattr(pipeline, "decide", broken_policy)
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
    with pytest.raises(KeyError):
        run(world, record(SMS))
    assert any(line.get("error_type") == "KeyError" for line in logs.lines())


# ---------------------------------------------------------------- 5. oversized reasons


def test_a_huge_rejection_reason_is_cut_on_the_row(world: World) -> None:
    fields = {f"Field{i:05d}": i for i in range(20_000)}  # "unknown field(s): ..." names every one
    run(world, record({**SMS, **fields, "IdempotencyKey": "wide"}))
    row = world.results.rows["wide"]
    assert row["ErrorCode"] == "VALIDATION_ERROR"
    assert len(row["ErrorMessage"]) <= 1000
    assert len(json.dumps(row)) < 10_000  # far below DynamoDB's 400 KB
    assert len(world.dlq.messages[0][1]["ErrorMessage"]) <= 1000


def test_a_huge_vendor_refusal_text_is_cut_on_the_row_and_in_the_stored_outcome(world: World) -> None:
    world.vendor.failures.append(PermanentError("422", "x" * 1_000_000))
    run(world, record({**SMS, "IdempotencyKey": "k"}))
    assert len(world.results.rows["k"]["ErrorMessage"]) <= 1000
    _digest, stored = world.once.records["k"]
    assert len(stored["error_message"]) <= 1000


class OddCostVendor(FakeVendor):
    def send(self, payload: Any, not_after: float | None = None) -> Acceptance:
        from telegent.reading import parse_cost

        self.sent.append(payload)
        return Acceptance(f"TMID-{len(self.sent)}", "Queued", "sms", parse_cost("NaN"))


def test_an_odd_vendor_cost_never_fails_the_row(world: World) -> None:
    world.deps.vendor = OddCostVendor()
    run(world, record({**SMS, "IdempotencyKey": "nan-cost"}))
    row = world.results.rows["nan-cost"]
    assert row["Status"] == "SENT"
    assert "Cost" not in row


# ---------------------------------------------------------------- 7. throttled for ever


def throttled(world: World, times: int = 1) -> None:
    for _ in range(times):
        world.vendor.failures.append(TransientError(TransientKind.THROTTLED, "HTTP 429", retry_after=5))


def test_a_requeued_copy_carries_when_the_request_first_reached_the_queue(world: World) -> None:
    throttled(world, 2)
    first = record(SMS, message_id="m-first")
    first["attributes"]["SentTimestamp"] = "1799990000000"
    run(world, first)
    (_, attributes, _) = world.queues.requeued[0]
    assert attributes["FirstEnqueuedAt"] == {"stringValue": FIRST_ENQUEUED_ISO, "dataType": "String"}
    # The copy is a new SQS message with its own SentTimestamp; FirstEnqueuedAt stays the first one's.
    copy = record(SMS, message_id="m-copy", **{k: v["stringValue"] for k, v in attributes.items()})
    run(world, copy)
    assert world.queues.requeued[1][1]["FirstEnqueuedAt"]["stringValue"] == FIRST_ENQUEUED_ISO
    assert world.queues.requeued[1][1]["OriginalMessageId"]["stringValue"] == "m-first"


def test_the_age_since_first_enqueued_is_published_per_record(world: World) -> None:
    copy = record(SMS, FirstEnqueuedAt=FIRST_ENQUEUED_ISO)
    run(world, copy)
    ((age, unit),) = world.metrics.values["MessageAgeSeconds"]
    assert unit == "Seconds"
    assert 10_000 <= age <= 10_010  # 1_800_000_000 - 1_799_990_000, plus the clock's ticks


def test_throttled_past_max_message_age_goes_to_the_dlq_as_throttled_too_long(world: World, logs: Logs) -> None:
    throttled(world)
    first_enqueued = CLOCK_START - timedelta(hours=336, seconds=1)
    copy = record(
        {**SMS, "IdempotencyKey": "patient"},
        message_id="m-copy-40",
        FirstEnqueuedAt=first_enqueued.isoformat(),
        OriginalMessageId="m-first",
        TelegentRequeues="40",
    )
    run(world, copy)  # settled: not raised, not requeued
    assert world.queues.requeued == []
    row = world.results.rows["patient"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "THROTTLED_TOO_LONG")
    assert "MAX_MESSAGE_AGE_HOURS=336" in row["ErrorMessage"]
    body, reasons = world.dlq.messages[0]
    assert json.loads(body)["IdempotencyKey"] == "patient"
    assert reasons["ErrorCode"] == "THROTTLED_TOO_LONG"
    assert reasons["OriginalMessageId"] == "m-first"
    assert world.metrics.counts["ThrottledTooLong"] == 1
    assert world.metrics.values["MessageAgeSeconds"][0][0] > 336 * 3600
    assert "throttled too long: moved to the DLQ" in logs.text()


def test_max_message_age_is_configurable(world: World) -> None:
    world.deps.settings = type(world.deps.settings)(**{**world.deps.settings.__dict__, "max_message_age_hours": 0.5})
    throttled(world, 2)
    young = record(SMS, message_id="young", FirstEnqueuedAt=(CLOCK_START - timedelta(minutes=20)).isoformat())
    run(world, young)
    assert len(world.queues.requeued) == 1
    old = record(SMS, message_id="old", FirstEnqueuedAt=(CLOCK_START - timedelta(minutes=31)).isoformat())
    run(world, old)
    assert len(world.queues.requeued) == 1
    assert world.results.rows["old"]["ErrorCode"] == "THROTTLED_TOO_LONG"


def test_a_request_whose_validity_ends_while_throttled_expires_without_a_dlq_copy(world: World) -> None:
    now = [CLOCK_START]  # the record's SentTimestamp: valid for 10 s from here
    world.deps.clock = lambda: now[0]
    send = world.vendor.send

    def slow_throttled_send(payload: Any, not_after: float | None = None) -> Acceptance:
        now[0] += timedelta(seconds=30)  # the vendor answers 429 half a minute later
        return send(payload, not_after)

    world.vendor.send = slow_throttled_send  # type: ignore[method-assign]
    throttled(world)
    run(world, record({**SMS, "IdempotencyKey": "short-lived", "ValiditySeconds": 10}))
    row = world.results.rows["short-lived"]
    assert (row["Status"], row["ErrorCode"]) == ("EXPIRED", "VALIDITY_EXPIRED")
    assert "while the vendor was throttling" in row["ErrorMessage"]
    assert world.queues.requeued == []
    assert world.dlq.messages == []
    assert world.metrics.counts["Expired"] == 1


# ---------------------------------------------------------------- 8. log leaks


def test_a_vendor_error_echoing_the_body_and_a_number_is_logged_without_either(world: World, logs: Logs) -> None:
    echo = f"HTTP 503: could not deliver '{SECRET_BODY}' to +1 (801) 573-7111, retry"
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, echo))
    with pytest.raises(TransientError):
        run(world, record({**SMS, "Body": SECRET_BODY}))
    text = logs.text()
    assert "transient failure, will retry" in text
    assert SECRET_BODY[:12] not in text
    assert "918273" not in text
    assert "573-7111" not in text
    assert "[body]" in text


def test_a_rejection_reason_quoting_the_body_is_logged_without_it(world: World, logs: Logs) -> None:
    world.vendor.failures.append(PermanentError("400", f"Body '{SECRET_BODY}' blocked for +18015737111"))
    run(world, record({**SMS, "Body": SECRET_BODY, "IdempotencyKey": "k"}))
    assert world.results.rows["k"]["ErrorCode"] == "400"  # the row keeps the vendor's text (stored, not logged)
    assert SECRET_BODY[:12] not in logs.text()
    assert "+18015737111" not in logs.text()


def test_a_key_holding_a_phone_number_is_logged_masked_and_hashed(world: World, logs: Logs) -> None:
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
    event = record({**SMS, "IdempotencyKey": "otp-+18015737111-1"})
    with pytest.raises(TransientError):
        run(world, event)
    run(world, record({**SMS, "IdempotencyKey": "otp-+18015737111-1"}, receive_count=2))
    text = logs.text()
    assert "8015737111" not in text
    correlation = {line.get("correlation_id") for line in logs.lines()} - {None}
    assert len(correlation) == 1  # the same key logs the same value every time
    (value,) = correlation
    assert value.startswith("otp-*")
    assert "#" in value  # masked digits plus a short hash of the whole key


def test_an_input_rejection_key_with_a_number_is_masked_too(world: World, logs: Logs) -> None:
    run(world, record({**SMS, "From": "not-a-number", "IdempotencyKey": "+18015737111"}))
    assert world.results.rows["+18015737111"]["Status"] == "REJECTED"  # the row keeps the real key
    assert "8015737111" not in logs.text()


# ---------------------------------------------------------------- 9. every DLQ copy keeps the request's key


def dlq_via_input_rejection(world: World) -> dict[str, Any]:
    return {**SMS, "From": "bad"}


def dlq_via_vendor_refusal(world: World) -> dict[str, Any]:
    world.vendor.failures.append(PermanentError("422", "refused"))
    return SMS


def dlq_via_retries_exhausted(world: World) -> dict[str, Any]:
    world.vendor.failures.append(TransientError(TransientKind.UNAVAILABLE, "HTTP 503"))
    return SMS


def dlq_via_internal_error(world: World) -> dict[str, Any]:
    world.vendor.failures.append(Bug("bug"))
    return SMS


def dlq_via_throttled_too_long(world: World) -> dict[str, Any]:
    throttled(world)
    return SMS


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (dlq_via_input_rejection, "VALIDATION_ERROR"),
        (dlq_via_vendor_refusal, "422"),
        (dlq_via_retries_exhausted, "RETRIES_EXHAUSTED"),
        (dlq_via_internal_error, "INTERNAL_ERROR"),
        (dlq_via_throttled_too_long, "THROTTLED_TOO_LONG"),
    ],
)
@pytest.mark.parametrize("requeued", [False, True], ids=["first-copy", "requeued-copy"])
def test_every_dlq_copy_names_the_key_and_the_original_message_id(
    world: World, path: Any, code: str, requeued: bool
) -> None:
    body = path(world)
    attributes = {"FirstEnqueuedAt": "2020-01-01T00:00:00Z"}  # old enough for THROTTLED_TOO_LONG
    if requeued:  # a copy the sender put back: its own message id, the first one's as OriginalMessageId
        attributes |= {"OriginalMessageId": "m-first", "TelegentRequeues": "2"}
    run(world, record(body, message_id="m-this", receive_count=5, **attributes))
    (_, reasons) = world.dlq.messages[0]
    key = "m-first" if requeued else "m-this"
    assert reasons["ErrorCode"] == code
    assert reasons["RequestId"] == key  # the idempotency key, never just this copy's id
    assert reasons["OriginalMessageId"] == key  # a redrive keeps the key: never sent twice
    assert reasons["SourceMessageId"] == "m-this"


def test_a_redriven_dlq_copy_keeps_its_key_and_is_not_sent_again(world: World) -> None:
    run(world, record(SMS, message_id="m-first"))
    (sent,) = world.vendor.sent
    # Operator redrives a copy that carries OriginalMessageId (e.g. after an INTERNAL_ERROR).
    run(world, record(SMS, message_id="m-redriven", OriginalMessageId="m-first"))
    assert world.vendor.sent == [sent]
    assert world.metrics.counts["DuplicatesSkipped"] == 1


# ---------------------------------------------------------------- 10e. the same key twice in one batch


class SlowVendor(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, payload: Any, not_after: float | None = None) -> Acceptance:
        self.entered.set()
        assert self.release.wait(10)
        return super().send(payload)


def test_the_same_key_twice_in_a_batch_reuses_the_first_outcome(world: World) -> None:
    vendor = world.deps.vendor = SlowVendor()
    errors: list[BaseException] = []

    def handle(message_id: str) -> None:
        try:
            run(world, record({**SMS, "IdempotencyKey": "twice"}, message_id=message_id))
        except BaseException as error:
            errors.append(error)

    first = threading.Thread(target=handle, args=("m-1",))
    first.start()
    assert vendor.entered.wait(10)
    second = threading.Thread(target=handle, args=("m-2",))
    second.start()
    for _ in range(1000):  # until the second record waits for the key (no timing assumption)
        if world.deps.key_locks.users("twice") == 2:
            break
        time.sleep(0.01)
    assert world.deps.key_locks.users("twice") == 2
    vendor.release.set()
    first.join(10)
    second.join(10)
    assert errors == []  # the second did not fail with IN_PROGRESS
    assert len(vendor.sent) == 1
    assert world.metrics.counts["MessagesSent"] == 1
    assert world.metrics.counts["DuplicatesSkipped"] == 1
    assert len(world.deps.key_locks) == 0  # nothing left behind


def test_a_key_held_past_the_time_left_is_retried_as_in_progress(world: World) -> None:
    with world.deps.key_locks.hold("busy", 1) as held:
        assert held
        with pytest.raises(TransientError) as caught:
            handle_record(record({**SMS, "IdempotencyKey": "busy"}), world.deps, lambda: 12_100)
    assert caught.value.kind == TransientKind.IN_PROGRESS
    assert world.vendor.sent == []
