"""The retry decision, case by case (DESIGN.md section 4)."""

import pytest

from messaging.errors import TransientError, TransientKind
from sender.retry_policy import SQS_MAX_DELAY, Action, RetryDecision, decide


def error(kind: TransientKind, retry_after: float | None = None) -> TransientError:
    return TransientError(kind, "test", retry_after)


@pytest.mark.parametrize("kind", [TransientKind.THROTTLED, TransientKind.RATE_LIMITED])
def test_throttling_is_requeued_without_burning_a_receive(kind: TransientKind) -> None:
    decision = decide(error(kind, retry_after=30), receive_count=5, max_receives=5, can_requeue=True, spread=0.0)
    assert decision == RetryDecision(Action.REQUEUE, 30)


def test_requeue_jitter_only_lengthens_the_wait() -> None:
    delays = [decide(error(TransientKind.THROTTLED, 10), 1, 5, True, spread).delay_seconds for spread in (0, 0.5, 0.99)]
    assert delays == [10, 11, 12]


def test_requeue_without_retry_after_uses_the_base_and_caps_at_the_sqs_maximum() -> None:
    assert decide(error(TransientKind.THROTTLED), 1, 5, True, 0.0).delay_seconds == 5
    assert decide(error(TransientKind.THROTTLED, 5000), 1, 5, True, 0.0).delay_seconds == SQS_MAX_DELAY


def test_throttling_that_cannot_be_requeued_falls_back_to_a_delayed_retry() -> None:
    decision = decide(error(TransientKind.THROTTLED, 30), receive_count=1, max_receives=5, can_requeue=False)
    assert decision == RetryDecision(Action.RETRY, 30)


def test_throttling_that_cannot_be_requeued_on_the_last_receive_is_settled() -> None:
    decision = decide(error(TransientKind.THROTTLED, 30), receive_count=5, max_receives=5, can_requeue=False)
    assert decision.action == Action.SETTLE_IN_DLQ


@pytest.mark.parametrize("kind", [TransientKind.AMBIGUOUS, TransientKind.DEPENDENCY, TransientKind.UNAVAILABLE])
def test_the_last_receive_is_settled_in_the_dlq(kind: TransientKind) -> None:
    assert decide(error(kind), receive_count=3, max_receives=3, can_requeue=True).action == Action.SETTLE_IN_DLQ


def test_without_a_redrive_policy_it_is_always_retried() -> None:
    assert decide(error(TransientKind.DEPENDENCY), receive_count=50, max_receives=None, can_requeue=True) == (
        RetryDecision(Action.RETRY, None)
    )


def test_retry_after_is_honoured_for_unavailable() -> None:
    assert decide(error(TransientKind.UNAVAILABLE, 12.4), 1, 5, True) == RetryDecision(Action.RETRY, 12)


@pytest.mark.parametrize(
    ("receive_count", "spread", "expected"), [(1, 0.5, 5), (2, 0.5, 10), (3, 0.0, 16), (9, 1.0, 360)]
)
def test_unavailable_without_retry_after_backs_off_exponentially_with_jitter(
    receive_count: int, spread: float, expected: int
) -> None:
    decision = decide(error(TransientKind.UNAVAILABLE), receive_count, 10, True, spread)
    assert decision == RetryDecision(Action.RETRY, expected)


def test_other_failures_keep_the_visibility_timeout() -> None:
    assert decide(error(TransientKind.AMBIGUOUS), 1, 5, True) == RetryDecision(Action.RETRY, None)
