"""Ambiguous sends reconciled through Telegent's search (DESIGN.md 4b): moto server, the sandbox and the
real handler via the event-source runner. The stack searches 1 s after an ambiguous attempt (conftest)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from infra.local.lambda_context import FakeLambdaContext
from messaging import names
from tests.integration.helpers import Stack, sms

pytestmark = pytest.mark.integration


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def outbound_requests(stack: Stack) -> list[dict[str, Any]]:
    return stack.sandbox.requests("outbound")


@pytest.mark.parametrize("lost", [{"status": 502}, {"status": 500}, {"status": 504}, {"drop": True}])
def test_accepted_then_lost_is_found_by_the_search_and_not_sent_again(stack: Stack, lost: dict[str, Any]) -> None:
    stack.sandbox.add_faults([{"path": "outbound", "accept_then_fail": True, **lost}])
    stack.send(sms("amb-found"))
    summary = stack.drain()
    message = only(stack.outbound())  # exactly one message at the vendor
    row = stack.rows()["amb-found"]
    assert (row["Status"], row["StatusSource"]) == ("SENT", "reconciled")
    assert row["MessageId"] == message["message_id"]
    assert len(outbound_requests(stack)) == 1  # the retry searched instead of sending
    assert stack.sandbox.search_requests()
    assert summary.failures >= 1  # the ambiguous receive was retried, not acknowledged
    assert stack.dlq() == []


def test_lost_before_it_was_accepted_is_searched_then_sent_once(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", 502)  # refused before storing: nothing went out
    stack.send(sms("amb-none"))
    stack.drain()
    message = only(stack.outbound())
    row = stack.rows()["amb-none"]
    assert (row["Status"], row["StatusSource"], row["MessageId"]) == ("SENT", "sender", message["message_id"])
    assert [r["status"] for r in outbound_requests(stack)] == [502, 200]
    searches = stack.sandbox.search_requests()
    assert searches
    assert searches[0]["seq"] < outbound_requests(stack)[1]["seq"]  # searched before sending again


def test_the_search_waits_for_the_vendors_indexing(stack: Stack) -> None:
    stack.sandbox.set_search_index_delay(1.5)
    stack.configure(AMBIGUOUS_SEARCH_DELAY_SECONDS="2")
    try:
        stack.sandbox.add_fault("outbound", accept_then_fail=True, drop=True)
        stack.send(sms("amb-indexing"))
        stack.drain()
    finally:
        stack.sandbox.set_search_index_delay(0)
    only(stack.outbound())
    assert stack.rows()["amb-indexing"]["StatusSource"] == "reconciled"
    first_send = outbound_requests(stack)[0]["time"]
    assert all(r["time"] >= first_send + 2 for r in stack.sandbox.search_requests())


def test_a_second_message_with_the_same_key_reconciles_instead_of_sending(stack: Stack) -> None:
    """A producer's duplicate (another SQS message, same IdempotencyKey) arrives after the ambiguous send."""
    stack.sandbox.add_fault("outbound", 504, accept_then_fail=True)
    stack.send(sms("amb-dup"))
    first = stack.runner().run_once()
    assert first.failed_ids == first.received_ids  # ambiguous: retried later
    stack.world.client("sqs").purge_queue(QueueUrl=stack.world.queue_url)  # only the duplicate remains
    stack.send(sms("amb-dup"))
    stack.drain()
    message = only(stack.outbound())
    row = stack.rows()["amb-dup"]
    assert (row["StatusSource"], row["MessageId"]) == ("reconciled", message["message_id"])


def test_the_same_text_sent_by_another_request_is_not_taken_for_ours(stack: Stack) -> None:
    """Two requests, one Body, one number: the second one's message is not the first one's."""
    stack.configure(AMBIGUOUS_SEARCH_DELAY_SECONDS="3")
    stack.sandbox.add_fault("outbound", 502)  # the first request's send never went out
    stack.send(sms("same-text-1"))
    first = stack.runner().run_once()
    assert first.failed_ids == first.received_ids  # waits 3 s before its search
    [second_id] = stack.send(sms("same-text-2"))
    second = stack.runner().run_once()
    assert (second.received_ids, second.failed_ids) == ([second_id], [])
    stack.drain()
    rows = stack.rows()
    messages = stack.outbound()
    assert len(messages) == 2  # both requests reached the phone, once each
    assert stack.sandbox.search_requests()  # the search did show the second one's message
    assert {rows["same-text-1"]["MessageId"], rows["same-text-2"]["MessageId"]} == {m["message_id"] for m in messages}
    assert rows["same-text-1"]["StatusSource"] == "sender"


def test_search_down_is_not_resent_before_the_max_wait_then_policy_resend(stack: Stack) -> None:
    stack.configure(AMBIGUOUS_RECONCILE_MAX_MINUTES="0.06")  # 3.6 s
    stack.sandbox.add_fault("outbound", 502)
    stack.sandbox.add_fault("search", 503, count=1000)
    stack.send(sms("amb-search-down"))
    stack.drain(max_seconds=40)
    requests = outbound_requests_from(stack)
    stack.sandbox.reset()  # drop the remaining search faults
    assert [r["status"] for r in requests["outbound"]] == [502, 200]
    first, resend = requests["outbound"]
    failed_searches = [r for r in requests["search"] if r["status"] == 503]
    assert len(failed_searches) >= 2  # asked again and again, never sent meanwhile
    assert all(r["seq"] < resend["seq"] for r in failed_searches)
    assert resend["time"] >= first["time"] + 3.6  # only after AMBIGUOUS_RECONCILE_MAX_MINUTES
    assert stack.rows()["amb-search-down"]["Status"] == "SENT"


def test_search_down_past_the_max_wait_with_policy_dlq_parks_it(stack: Stack) -> None:
    stack.configure(AMBIGUOUS_RECONCILE_MAX_MINUTES="0.04", AMBIGUOUS_POLICY="dlq")
    stack.sandbox.add_fault("outbound", 500, accept_then_fail=True)
    stack.sandbox.add_fault("search", drop=True, count=1000)
    stack.send(sms("amb-dlq"))
    stack.drain(max_seconds=40)
    sent = stack.outbound()
    stack.sandbox.reset()
    only(sent)  # the first, ambiguous one only: never sent again
    row = stack.rows()["amb-dlq"]
    assert (row["Status"], row["ErrorCode"]) == ("REJECTED", "AMBIGUOUS_UNRESOLVED")
    copy = only(stack.dlq())
    assert copy["message_attributes"][names.DLQ_ATTR_ERROR_CODE] == "AMBIGUOUS_UNRESOLVED"
    assert json.loads(copy["body"])["IdempotencyKey"] == "amb-dlq"


def outbound_requests_from(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    records = stack.sandbox.requests()
    return {
        "outbound": [r for r in records if r["endpoint"] == "outbound"],
        "search": [r for r in records if r["endpoint"] == "search"],
    }


def test_the_attempt_is_kept_beside_the_powertools_record(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", 502)
    stack.send(sms("amb-item"))
    result = stack.runner().run_once()
    assert result.failed_ids == result.received_ids
    table = stack.world.client("dynamodb")
    item = table.get_item(
        TableName=stack.world.idempotency_table,
        Key={names.IDEMPOTENCY_PARTITION_KEY: {"S": f"{names.IDEMPOTENCY_ATTEMPT_PREFIX}amb-item"}},
        ConsistentRead=True,
    )["Item"]
    assert item["RequestId"]["S"] == "amb-item"
    assert item["From"]["S"] == "+18018018011"
    assert [n["S"] for n in item["To"]["L"]] == ["+18015737111"]
    assert len(item["BodySha256"]["S"]) == 64
    assert "Body" not in item
    assert int(item[names.IDEMPOTENCY_TTL_ATTRIBUTE]["N"]) > float(item["EndedAt"]["N"])
    # The send lock was released, not deleted: the next receive may take it at once and knows to look.
    locks = [
        i
        for i in table.scan(TableName=stack.world.idempotency_table)["Items"]
        if i[names.IDEMPOTENCY_PARTITION_KEY]["S"].startswith("telegent-sms#send")
    ]
    assert [(lock["status"]["S"], lock["in_progress_expiration"]["N"]) for lock in locks] == [("INPROGRESS", "0")]


def test_a_receive_that_died_mid_send_is_reconciled_when_its_lock_expires(stack: Stack) -> None:
    """No attempt was recorded (the Lambda was killed during the call): the expired lock says a send may have
    happened, so the next receive searches over that invocation before sending."""
    from aws_adapters.attempts import AttemptAwarePersistenceLayer, DynamoAttemptStore
    from aws_adapters.idempotency import PowertoolsOnceGate
    from aws_adapters.result_rows import DynamoResultStore

    dynamodb = stack.world.client("dynamodb")
    layer = AttemptAwarePersistenceLayer(
        stack.world.idempotency_table, dynamodb, DynamoResultStore(stack.world.messages_table, dynamodb, 90)
    )
    gate = PowertoolsOnceGate(layer)
    gate.register_lambda_context(FakeLambdaContext(timeout_seconds=0.2))
    request = sms("amb-died")
    fingerprint = {"To": ["+18015737111"], "From": "+18018018011", "Body": request["Body"]}

    class Killed(BaseException):
        """Not an Exception: Powertools neither deletes nor releases the lock (as when Lambda is killed)."""

    def die() -> Any:
        raise Killed

    with pytest.raises(Killed):
        gate.run("amb-died", fingerprint, die)
    store = DynamoAttemptStore(stack.world.idempotency_table, dynamodb, layer)
    time.sleep(0.3)  # the dead invocation's lock expires
    seen: list[Any] = []

    def look() -> Any:
        seen.append(store.earlier("amb-died"))
        raise RuntimeError("stop here")

    gate.register_lambda_context(FakeLambdaContext(timeout_seconds=30))
    with pytest.raises(RuntimeError):
        gate.run("amb-died", fingerprint, look)
    earlier = only(seen)
    assert earlier is not None
    assert earlier.attempt is None
    assert earlier.lock_expired_at is not None
    # And a key whose lock was never taken before costs no read and finds nothing.
    fresh: list[Any] = []

    def look_fresh() -> Any:
        fresh.append(store.earlier("amb-fresh"))
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError):
        gate.run("amb-fresh", fingerprint, look_fresh)
    assert fresh == [None]
