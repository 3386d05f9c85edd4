"""A vendor reply trickled byte by byte (issue 8, defect 6): every read is quick, the call is not.

urllib3's read timeout is per read, so before the fix such a reply kept the call (and the Lambda)
going for as long as the trickle lasted; the whole batch then failed on the function timeout.
Each call now has a total deadline: the call is cut off, that record alone is retried, and the
retry reconciles (the trickled answer was for an accepted message: it is not sent twice).
"""

from __future__ import annotations

import time

import pytest

from infra.local.sandbox import DEFAULT_ACCOUNT_KEY, DEFAULT_ACCOUNT_SECRET, TelegentSandbox
from messaging.errors import TransientError, TransientKind
from messaging.ports import Credentials
from telegent.client import TelegentClient
from telegent.http import new_pool_manager
from tests.integration.helpers import Stack, sms

pytestmark = pytest.mark.integration

# About 550 bytes of answer at 2 bytes per 0.3 s: some 80 s, each read well inside the 1.5 s read timeout.
TRICKLE = {"trickle_ms": 300, "trickle_bytes": 2}
PAYLOAD = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Owner": "+18018018011", "Body": "slow"}


def client(sandbox: TelegentSandbox) -> TelegentClient:
    return TelegentClient(
        sandbox.base_url,
        lambda force: Credentials(DEFAULT_ACCOUNT_KEY, DEFAULT_ACCOUNT_SECRET),
        new_pool_manager(1, 1.5, 4),
        connect_timeout=1,
        read_timeout=1.5,
    )


def test_a_trickled_send_is_cut_off_at_its_deadline_and_is_ambiguous(sandbox: TelegentSandbox) -> None:
    sandbox.reset()
    vendor = client(sandbox)
    vendor.send(PAYLOAD)  # token and connection ready
    sandbox.add_fault("outbound", **TRICKLE)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        vendor.send(PAYLOAD)
    took = time.monotonic() - started
    assert caught.value.kind == TransientKind.AMBIGUOUS  # it was accepted: the retry must reconcile
    assert "deadline" in caught.value.message
    assert took < 20  # cut off, not the ~80 s the trickle lasts
    assert len(sandbox.sent_messages()) == 2
    assert vendor.send(PAYLOAD).message_id  # the pool recovers: a fresh connection


def test_a_trickled_search_is_no_answer(sandbox: TelegentSandbox) -> None:
    sandbox.reset()
    vendor = client(sandbox)
    sandbox.add_fault("search", **TRICKLE)
    with pytest.raises(TransientError) as caught:
        vendor.search("+18015737111")
    assert caught.value.kind == TransientKind.UNAVAILABLE
    assert "deadline" in caught.value.message


def test_the_invocations_end_cuts_a_call_shorter_than_its_own_deadline(sandbox: TelegentSandbox) -> None:
    sandbox.reset()
    vendor = client(sandbox)
    vendor.send(PAYLOAD)
    sandbox.add_fault("outbound", **TRICKLE)
    vendor.begin(time.time() + 0.5)
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        vendor.send(PAYLOAD)
    assert "0.5 s deadline" in caught.value.message
    assert time.monotonic() - started < 2.5  # before its own connect + read total
    with pytest.raises(TransientError) as late:
        vendor.send(PAYLOAD)  # the invocation has ended: not even started
    assert late.value.kind == TransientKind.DEADLINE


def test_a_trickled_reply_fails_one_record_not_the_batch_and_is_not_sent_twice(stack: Stack) -> None:
    stack.sandbox.add_fault("outbound", **TRICKLE)
    stack.send(sms("slow-1"), sms("slow-2"), sms("slow-3"))
    result = stack.runner(function_timeout_seconds=6, batch_size=3, maximum_batching_window_seconds=1).run_once()
    assert len(result.received_ids) == 3
    assert result.error is None  # the function returned within its timeout
    assert len(result.failed_ids) == 1  # only the trickled record is retried
    assert len(result.deleted_ids) == 2
    stack.drain()
    rows = stack.rows()
    assert {row["Status"] for row in rows.values()} == {"SENT"}
    assert sorted(row["StatusSource"] for row in rows.values()) == ["reconciled", "sender", "sender"]
    assert len(stack.outbound()) == 3  # the trickled one was accepted once and found by the search
