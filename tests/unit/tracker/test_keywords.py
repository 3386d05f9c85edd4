"""The tracker's opt-out step (DESIGN.md 10): inbound STOP/START from the status queue change the table."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from messaging.optouts import KeywordRules
from messaging.ports import OptOut
from messaging.receipts import receipt_envelope
from tracker.pipeline import TrackerDeps, handle_record

NUMBER = "+18015551234"


class MemoryOptOuts:
    def __init__(self) -> None:
        self.items: dict[str, OptOut] = {}

    def opted_out(self, numbers: Collection[str]) -> set[str]:
        return set(numbers) & set(self.items)

    def add(self, entry: OptOut) -> bool:
        current = self.items.get(entry.number)
        if current is not None and current.opted_out_at > entry.opted_out_at:
            return False
        self.items[entry.number] = entry
        return True

    def remove(self, number: str, at: datetime) -> bool:
        current = self.items.get(number)
        if current is None or current.opted_out_at > at:
            return False
        del self.items[number]
        return True


class Events:
    def __init__(self) -> None:
        self.published: list[tuple[str, Mapping[str, Any]]] = []

    def publish(self, events: list[tuple[str, Mapping[str, Any]]]) -> list[int]:
        self.published += events
        return []


class Counts:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def count(self, name: str, value: float = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def milliseconds(self, name: str, value: float) -> None:
        return None


def deps(optouts: MemoryOptOuts | None, keywords: KeywordRules | None = None) -> tuple[TrackerDeps, Events, Counts]:
    events, counts = Events(), Counts()
    unused: Any = None
    built = TrackerDeps(
        store=unused,
        events=events,
        dlq=unused,
        queues=unused,
        telemetry=counts,
        clock=lambda: datetime(2026, 3, 1, tzinfo=UTC),
        optouts=optouts,
        keywords=keywords or KeywordRules(),
    )
    return built, events, counts


def inbound(text: str, at: datetime, sender: str = NUMBER) -> dict[str, Any]:
    payload = {
        "Message_ID": f"TMID-in-{at.timestamp():.0f}",
        "From": sender,
        "To": "+18018018011",
        "Message_Body": text,
        "Direction": "Inbound",
    }
    body = receipt_envelope("POST", "application/json", "", json.dumps(payload), at, body_base64=False)
    return {"messageId": "sqs-1", "body": body, "attributes": {"ApproximateReceiveCount": "1"}}


def at(minute: int) -> datetime:
    return datetime(2026, 3, 1, 12, minute, tzinfo=UTC)


def test_stop_adds_the_sender_with_source_keyword_and_start_removes_it() -> None:
    table = MemoryOptOuts()
    tracker, events, counts = deps(table)
    handle_record(inbound("  Stop ", at(0)), tracker)
    entry = table.items[NUMBER]
    assert (entry.source, entry.keyword, entry.opted_out_at) == ("keyword", "STOP", at(0))
    handle_record(inbound("start", at(1)), tracker)
    assert table.items == {}
    assert counts.counts == {"OptOutsAdded": 1, "OptOutsRemoved": 1}
    assert [detail["Body"] for _, detail in events.published] == ["Stop", "start"]  # still published


@pytest.mark.parametrize("text", ["stop please", "STOP!", "Thanks, see you at 5", ""])
def test_other_texts_change_nothing(text: str) -> None:
    table = MemoryOptOuts()
    tracker, events, _ = deps(table)
    handle_record(inbound(text, at(0)), tracker)
    assert table.items == {}
    assert len(events.published) == 1


def test_a_late_start_older_than_the_stop_does_not_remove_it() -> None:
    table = MemoryOptOuts()
    tracker, _, counts = deps(table)
    handle_record(inbound("STOP", at(5)), tracker)
    handle_record(inbound("START", at(4)), tracker)  # sent before the STOP, delivered after it
    handle_record(inbound("END", at(3)), tracker)  # an older opt-out does not replace the newer entry
    assert table.items[NUMBER].keyword == "STOP"
    assert counts.counts == {"OptOutsAdded": 1}


def test_configured_keywords_and_no_table() -> None:
    table = MemoryOptOuts()
    tracker, _, _ = deps(table, KeywordRules.from_env({"OPTOUT_KEYWORDS": "ARRET"}))
    handle_record(inbound("arret", at(0)), tracker)
    handle_record(inbound("+1 not a number", at(0), sender="12345"), tracker)
    assert list(table.items) == [NUMBER]
    without, events, _ = deps(None)
    handle_record(inbound("STOP", at(0)), without)  # OPTOUT_TABLE unset: only the event
    assert len(events.published) == 1
