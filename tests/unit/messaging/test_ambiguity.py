"""Reconciling ambiguous sends (DESIGN.md section 4b): the pure decisions, case by case."""

import hashlib
from datetime import UTC, datetime

import pytest

from messaging.ambiguity import (
    CLOCK_SKEW_SECONDS,
    LONGEST_INVOCATION_SECONDS,
    RETRY_MAX_SECONDS,
    Attempt,
    Policy,
    ReconcileRules,
    SearchOutcome,
    SearchPage,
    Step,
    VendorMessage,
    after_search,
    before_search,
    body_hash,
    find_ours,
    interrupted_attempt,
    is_ours,
    more_pages,
)

T0 = 1_800_000_000.0
TO, FROM, BODY = "+18015737111", "+18018018011", "Your order has shipped"
RULES = ReconcileRules(search_delay_seconds=20, max_minutes=30, policy=Policy.RESEND)


def attempt(**changes: object) -> Attempt:
    fields: dict[str, object] = {
        "request_id": "order-1",
        "sender": FROM,
        "to": (TO,),
        "body_hash": body_hash(BODY),
        "started_at": T0,
        "ended_at": T0 + 2,
    }
    fields.update(changes)
    return Attempt(**fields)  # type: ignore[arg-type]


def message(**changes: object) -> VendorMessage:
    fields: dict[str, object] = {
        "message_id": "TMID-1",
        "direction": "Outbound",
        "sender": FROM,
        "to": (TO,),
        "body": BODY,
        "created_at": datetime.fromtimestamp(T0 + 1, UTC),
    }
    fields.update(changes)
    return VendorMessage(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- what counts as ours


def test_body_hash_is_sha256_of_the_utf8_body_and_not_the_body() -> None:
    assert body_hash("héllo") == hashlib.sha256("héllo".encode()).hexdigest()
    assert body_hash("a") != body_hash("b")
    assert BODY not in body_hash(BODY)


def test_the_same_outbound_message_is_ours() -> None:
    assert is_ours(attempt(), message())


@pytest.mark.parametrize(
    "changes",
    [
        {"direction": "Inbound"},
        {"sender": "+18018018099"},
        {"sender": None},
        {"body": "Your order has shipped!"},
        {"body": None},
        {"to": ("+18015730000",)},
        {"created_at": datetime.fromtimestamp(T0 - CLOCK_SKEW_SECONDS - 1, UTC)},
    ],
)
def test_anything_else_is_not_ours(changes: dict[str, object]) -> None:
    assert not is_ours(attempt(), message(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"direction": "OUTBOUND"},
        {"direction": "outbound"},
        {"direction": None},  # not said: the search was by our To, the From and Body decide
        {"to": ()},
        {"to": (TO, "+18015730000")},
        {"created_at": None},  # the documented search answer carries no time
        {"created_at": datetime.fromtimestamp(T0 - CLOCK_SKEW_SECONDS + 1, UTC)},  # vendor clock behind
    ],
)
def test_tolerant_of_how_the_vendor_spells_it(changes: dict[str, object]) -> None:
    assert is_ours(attempt(), message(**changes))


def test_find_ours_takes_the_earliest_match_and_ignores_others() -> None:
    late = message(message_id="TMID-late", created_at=datetime.fromtimestamp(T0 + 30, UTC))
    early = message(message_id="TMID-early", created_at=datetime.fromtimestamp(T0 + 1, UTC))
    untimed = message(message_id="TMID-untimed", created_at=None)
    other = message(message_id="TMID-other", body="something else")
    assert find_ours(attempt(), [other, untimed, late, early]) == early
    assert find_ours(attempt(), [other, untimed]) == untimed
    assert find_ours(attempt(), [other]) is None
    assert find_ours(attempt(), []) is None


def test_more_pages_follows_results_pages_else_a_full_page() -> None:
    assert more_pages(1, SearchPage((message(),), pages=2))
    assert not more_pages(2, SearchPage((message(),), pages=2))
    assert not more_pages(1, SearchPage((), pages=0))
    assert more_pages(1, SearchPage(tuple(message() for _ in range(3)), pages=None), page_size=3)
    assert not more_pages(1, SearchPage((message(),), pages=None), page_size=3)


# ---------------------------------------------------------------- attempts


def test_a_second_ambiguous_attempt_keeps_the_window_start_and_counts() -> None:
    second = attempt().again(started_at=T0 + 100, ended_at=T0 + 103)
    assert (second.started_at, second.ended_at, second.count) == (T0, T0 + 103, 2)


def test_an_interrupted_receive_is_searched_over_its_whole_invocation() -> None:
    found = interrupted_attempt("order-1", FROM, (TO,), BODY, lock_expired_at=T0 + 60, now=T0 + 500)
    assert found.interrupted
    assert found.started_at == T0 + 60 - LONGEST_INVOCATION_SECONDS
    assert found.ended_at == T0 + 60
    assert found.body_hash == body_hash(BODY)
    # A lock that would only expire later (it never does when the put replaced it) is capped at now.
    assert interrupted_attempt("k", FROM, (TO,), BODY, lock_expired_at=T0 + 60, now=T0).ended_at == T0


# ---------------------------------------------------------------- decisions


def test_no_search_before_the_delay_after_the_attempt() -> None:
    decision = before_search(attempt(), T0 + 2 + 5.5, RULES)
    assert decision.step == Step.WAIT
    assert decision.delay_seconds == 15  # until ended_at + 20, rounded up


def test_search_once_the_delay_has_passed() -> None:
    assert before_search(attempt(), T0 + 22, RULES).step == Step.SEARCH


def test_found_means_reconciled_with_that_message() -> None:
    found = message()
    decision = after_search(attempt(), SearchOutcome.match(found), T0 + 30, RULES)
    assert decision.step == Step.RECONCILED
    assert decision.found == found


def test_an_answer_without_our_message_means_send_again() -> None:
    assert after_search(attempt(), SearchOutcome.nothing(), T0 + 30, RULES).step == Step.RESEND


def test_no_answer_waits_without_sending() -> None:
    decision = after_search(attempt(), SearchOutcome.no_answer("HTTP 503"), T0 + 30, RULES)
    assert decision.step == Step.WAIT
    assert decision.delay_seconds == 20  # at least the search delay
    assert "HTTP 503" in decision.reason


def test_no_answer_honours_retry_after_and_backs_off_with_age() -> None:
    throttled = after_search(attempt(), SearchOutcome.no_answer("HTTP 429", retry_after=7), T0 + 30, RULES)
    assert throttled.delay_seconds == 7
    later = after_search(attempt(), SearchOutcome.no_answer("HTTP 503"), T0 + 2 + 600, RULES)
    assert later.delay_seconds == RETRY_MAX_SECONDS  # half of 600 s, capped at 300 s


def test_no_answer_never_waits_past_the_give_up_time() -> None:
    decision = after_search(attempt(), SearchOutcome.no_answer("HTTP 503"), T0 + 2 + 30 * 60 - 10, RULES)
    assert decision.step == Step.WAIT
    assert decision.delay_seconds == 10


def test_after_max_minutes_without_an_answer_policy_resend_sends() -> None:
    decision = after_search(attempt(), SearchOutcome.no_answer("HTTP 503"), T0 + 2 + 30 * 60, RULES)
    assert decision.step == Step.RESEND
    assert "policy resend" in decision.reason


def test_after_max_minutes_without_an_answer_policy_dlq_gives_up() -> None:
    rules = ReconcileRules(search_delay_seconds=20, max_minutes=30, policy=Policy.DLQ)
    decision = after_search(attempt(), SearchOutcome.no_answer("timeout"), T0 + 2 + 30 * 60, rules)
    assert decision.step == Step.GIVE_UP
    assert "policy dlq" in decision.reason


def test_an_answer_after_max_minutes_still_counts() -> None:
    late = T0 + 2 + 60 * 60
    assert after_search(attempt(), SearchOutcome.match(message()), late, RULES).step == Step.RECONCILED
    dlq = ReconcileRules(policy=Policy.DLQ)
    assert after_search(attempt(), SearchOutcome.nothing(), late, dlq).step == Step.RESEND
