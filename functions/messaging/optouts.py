"""Opt-outs (DESIGN.md section 10): inbound keywords, and the sender's one read per invocation.

Pure: standard library and the domain only. The table itself is behind `ports.OptOutStore`.

- An inbound message whose whole text (trimmed, any case) is an opt-out keyword adds the sender's
  number; an opt-in keyword removes it. "stop please" is neither.
- The sender learns the opt-outs of a whole batch with one read: `begin` is given the recipients
  peeked from every record of the invocation, and the first record that asks reads them all at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from messaging import names
from messaging.envelopes import unwrap
from messaging.errors import PermanentError
from messaging.ports import OptOutStore
from messaging.request import is_e164
from messaging.settings import ConfigurationError


class Intent(StrEnum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"


@dataclass(frozen=True)
class KeywordMatch:
    intent: Intent
    keyword: str  # as the configured list spells it (upper case by default), e.g. "STOP"


def _canonical(text: str) -> str:
    return text.strip().casefold()


@dataclass(frozen=True)
class KeywordRules:
    """Which whole inbound texts opt a number out or back in."""

    opt_out: tuple[str, ...] = names.DEFAULT_OPTOUT_KEYWORDS
    opt_in: tuple[str, ...] = names.DEFAULT_OPTIN_KEYWORDS
    _index: dict[str, KeywordMatch] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, KeywordMatch] = {}
        for intent, keywords in ((Intent.OPT_OUT, self.opt_out), (Intent.OPT_IN, self.opt_in)):
            for keyword in keywords:
                key = _canonical(keyword)
                if not key:
                    raise ConfigurationError("an opt-out/opt-in keyword is empty")
                if key in index and index[key].intent != intent:
                    raise ConfigurationError(f"{keyword!r} is both an opt-out and an opt-in keyword")
                index[key] = KeywordMatch(intent, keyword.strip())
        object.__setattr__(self, "_index", index)

    def match(self, text: str | None) -> KeywordMatch | None:
        """The keyword the whole text is (trimmed, any case), or None: "stop please" is not STOP."""
        if not isinstance(text, str):
            return None
        return self._index.get(_canonical(text))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeywordRules:
        """OPTOUT_KEYWORDS / OPTIN_KEYWORDS: comma-separated; unset or blank, the DESIGN's lists."""
        env = os.environ if env is None else env
        return cls(
            opt_out=_keywords(env.get(names.ENV_OPTOUT_KEYWORDS), names.DEFAULT_OPTOUT_KEYWORDS),
            opt_in=_keywords(env.get(names.ENV_OPTIN_KEYWORDS), names.DEFAULT_OPTIN_KEYWORDS),
        )


def _keywords(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return default
    return tuple(word.strip() for word in raw.split(",") if word.strip())


# ---------------------------------------------------------------- the sender's check


class _NotPeeked(Exception):
    """An extended-client pointer: its payload is read when the record is handled, not to peek."""


def _no_payload(bucket: str, key: str) -> bytes:
    raise _NotPeeked


def recipients_of(body: str) -> tuple[str, ...]:
    """The E.164 `To` numbers of one SQS body, read without fetching anything. A body the parser will
    refuse, or an extended-client pointer, gives none (the pointer's numbers then cost one more read)."""
    try:
        request = unwrap(body, _no_payload).request
    except (PermanentError, _NotPeeked):
        return ()
    recipients = request.get("To") if isinstance(request, Mapping) else None
    if not isinstance(recipients, list):
        return ()
    numbers = (item.get("Number") for item in recipients if isinstance(item, Mapping))
    return tuple(number for number in numbers if isinstance(number, str) and is_e164(number))


class OptOutCheck:
    """The opt-outs of one invocation's recipients: read once, on first use, for the whole batch.

    `begin(numbers)` starts an invocation with the recipients peeked from all its records. The first
    `opted_out` call reads them all (plus its own) in one `store.opted_out`; later calls answer from
    that read, and only a number nobody announced (an extended-client payload) costs another read.
    Thread-safe: the records of a batch ask concurrently and wait for the one read.
    """

    def __init__(self, store: OptOutStore | None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._expected: set[str] = set()
        self._known: dict[str, bool] = {}
        self.reads = 0  # store reads since the container started (tests, logs)

    @property
    def enabled(self) -> bool:
        return self._store is not None

    def begin(self, numbers: Iterable[str]) -> None:
        """A new invocation: forget what the last one read (an opt-out may have arrived since)."""
        with self._lock:
            self._expected = set(numbers)
            self._known = {}

    def opted_out(self, numbers: Sequence[str]) -> list[str]:
        """Those of `numbers` that are opted out; TransientError when the table cannot be read."""
        if self._store is None or not numbers:
            return []
        with self._lock:
            missing = {number for number in numbers if number not in self._known}
            if missing:
                wanted = missing | (self._expected - self._known.keys())
                found = self._store.opted_out(wanted)
                self.reads += 1
                self._known.update((number, number in found) for number in wanted)
            return [number for number in numbers if self._known[number]]
