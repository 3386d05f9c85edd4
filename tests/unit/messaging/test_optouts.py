"""Opt-out keywords (whole text, trimmed, any case) and the sender's one read per invocation."""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from datetime import datetime

import pytest

from messaging.errors import TransientError, TransientKind
from messaging.optouts import Intent, KeywordMatch, KeywordRules, OptOutCheck, recipients_of
from messaging.ports import OptOut
from messaging.settings import ConfigurationError

RULES = KeywordRules()


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop", "  stop  ", "\tSTOP\n", "sToPaLl", "unsubscribe", "Cancel"])
def test_opt_out_keywords_match_in_any_case_and_trimmed(text: str) -> None:
    match = RULES.match(text)
    assert match is not None
    assert match.intent == Intent.OPT_OUT
    assert match.keyword == text.strip().upper()


@pytest.mark.parametrize("text", ["END", "quit", "QUIT "])
def test_every_default_opt_out_keyword(text: str) -> None:
    assert RULES.match(text) == KeywordMatch(Intent.OPT_OUT, text.strip().upper())


@pytest.mark.parametrize("text", ["START", "unstop", " yes "])
def test_opt_in_keywords(text: str) -> None:
    assert RULES.match(text) == KeywordMatch(Intent.OPT_IN, text.strip().upper())


@pytest.mark.parametrize(
    "text",
    ["stop please", "please stop", "STOP!", "S T O P", "stopp", "", "   ", "yes please", "start now", None],
)
def test_anything_but_the_whole_keyword_is_not_a_keyword(text: str | None) -> None:
    assert RULES.match(text) is None


def test_the_lists_come_from_the_environment() -> None:
    rules = KeywordRules.from_env({"OPTOUT_KEYWORDS": "ARRET, stop", "OPTIN_KEYWORDS": "Go"})
    assert rules.match("arrêt") is None
    assert rules.match(" arret ") == KeywordMatch(Intent.OPT_OUT, "ARRET")
    assert rules.match("go") == KeywordMatch(Intent.OPT_IN, "Go")
    assert rules.match("UNSUBSCRIBE") is None  # the configured list replaces the default one
    assert KeywordRules.from_env({"OPTOUT_KEYWORDS": "  "}) == KeywordRules()  # blank: the defaults


def test_a_word_in_both_lists_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="both"):
        KeywordRules.from_env({"OPTIN_KEYWORDS": "START,stop"})


# ---------------------------------------------------------------- peeking recipients


def test_recipients_are_peeked_through_envelopes_without_fetching() -> None:
    request = {"To": [{"Number": "+18015550001"}], "From": "+18018018011", "Body": "hi"}
    assert recipients_of(json.dumps(request)) == ("+18015550001",)
    event = {"source": "app", "detail-type": "telegent.sms.send", "detail": request}
    assert recipients_of(json.dumps(event)) == ("+18015550001",)
    pointer = ["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": "b", "s3Key": "k"}]
    assert recipients_of(json.dumps(pointer)) == ()  # read when the record is handled
    assert recipients_of("not json") == ()
    assert recipients_of(json.dumps({"To": [{"Number": "12"}, "x"], "Body": "x"})) == ()


# ---------------------------------------------------------------- one read per invocation


class CountingStore:
    def __init__(self, opted_out: set[str], fail: int = 0) -> None:
        self.numbers = opted_out
        self.reads: list[set[str]] = []
        self.fail = fail

    def opted_out(self, numbers: Collection[str]) -> set[str]:
        if self.fail:
            self.fail -= 1
            raise TransientError(TransientKind.DEPENDENCY, "opt-out table: throttled")
        self.reads.append(set(numbers))
        return self.numbers & set(numbers)

    def add(self, entry: OptOut) -> bool:
        raise AssertionError("the sender never writes")

    def remove(self, number: str, at: datetime) -> bool:
        raise AssertionError("the sender never writes")


def test_a_batch_of_ten_makes_one_read_even_when_its_records_ask_concurrently() -> None:
    numbers = [f"+1801555{i:04d}" for i in range(10)]
    store = CountingStore({numbers[1], numbers[4], numbers[7]})
    check = OptOutCheck(store)
    check.begin(numbers)
    answers: dict[str, list[str]] = {}
    barrier = threading.Barrier(10)

    def ask(number: str) -> None:
        barrier.wait()
        answers[number] = check.opted_out([number])

    threads = [threading.Thread(target=ask, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.reads == [set(numbers)]
    assert sorted(n for n, found in answers.items() if found) == sorted(store.numbers)


def test_each_invocation_reads_afresh_and_an_unannounced_number_costs_one_more_read() -> None:
    store = CountingStore({"+18015550002"})
    check = OptOutCheck(store)
    check.begin(["+18015550001"])
    assert check.opted_out(["+18015550001"]) == []
    assert check.opted_out(["+18015550002"]) == ["+18015550002"]  # from an S3 payload: not peeked
    assert store.reads == [{"+18015550001"}, {"+18015550002"}]
    check.begin(["+18015550001"])
    store.numbers.add("+18015550001")  # opted out between invocations
    assert check.opted_out(["+18015550001"]) == ["+18015550001"]
    assert len(store.reads) == 3


def test_a_failed_read_caches_nothing_and_raises() -> None:
    store = CountingStore({"+18015550001"}, fail=1)
    check = OptOutCheck(store)
    check.begin(["+18015550001"])
    with pytest.raises(TransientError):
        check.opted_out(["+18015550001"])
    assert check.opted_out(["+18015550001"]) == ["+18015550001"]


def test_without_a_table_nothing_is_read() -> None:
    check = OptOutCheck(None)
    check.begin(["+18015550001"])
    assert not check.enabled
    assert check.opted_out(["+18015550001"]) == []
