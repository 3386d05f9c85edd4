"""The total deadline of a vendor call (issue 8 defect 6): the watchdog and the client's use of it.

No sockets here: the watchdog is driven with stand-in connections, the client with a scripted
pool (the trickled answer over a real socket is in tests/integration/test_vendor_deadline.py).
"""

import json
import threading
import time
from typing import Any

import pytest
import urllib3
import urllib3.connection

from messaging.errors import TransientError, TransientKind
from messaging.ports import Credentials
from telegent.client import TelegentClient
from telegent.deadline import (
    Watchdog,
    WatchedHTTPConnection,
    WatchedHTTPConnectionPool,
    WatchedHTTPSConnectionPool,
)
from telegent.http import new_pool_manager
from telegent.tokens import TokenCache

BASE = "https://api.telegent.test/v1.0"
PAYLOAD = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Owner": "+18018018011", "Body": "hi"}


class FakeSocket:
    def __init__(self) -> None:
        self.shutdowns: list[int] = []

    def shutdown(self, how: int) -> None:
        self.shutdowns.append(how)


class FakeConnection:
    def __init__(self, sock: FakeSocket | None) -> None:
        self.sock = sock


def wait_until(predicate: Any, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_a_call_past_its_deadline_has_its_socket_shut_down() -> None:
    sock = FakeSocket()
    with Watchdog().watch(time.monotonic() + 0.05) as watch:
        watch.attach(FakeConnection(sock))
        assert wait_until(lambda: sock.shutdowns)
        assert watch.expired


def test_a_call_that_finishes_in_time_is_left_alone() -> None:
    sock = FakeSocket()
    watchdog = Watchdog()
    with watchdog.watch(time.monotonic() + 0.1) as watch:
        watch.attach(FakeConnection(sock))
    time.sleep(0.3)
    assert sock.shutdowns == []
    assert not watch.expired


def test_a_socket_that_appears_after_the_deadline_is_still_cut() -> None:
    connection = FakeConnection(None)  # still connecting when the deadline passes
    with Watchdog().watch(time.monotonic() + 0.02) as watch:
        watch.attach(connection)
        assert wait_until(lambda: watch.expired)
        sock = FakeSocket()
        connection.sock = sock
        assert wait_until(lambda: sock.shutdowns)


def test_a_watched_connection_joins_the_watch_of_the_thread_that_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllib3.connection.HTTPConnection, "request", lambda self, *args, **kwargs: None)
    mine, other = WatchedHTTPConnection("vendor.test", 443), WatchedHTTPConnection("vendor.test", 443)
    mine.sock, other.sock = FakeSocket(), FakeSocket()  # type: ignore[assignment]
    watchdog = Watchdog()
    with watchdog.watch(time.monotonic() + 0.05) as watch:
        mine.request("POST", "/v1.0/message/outbound")
        elsewhere = threading.Thread(target=other.request, args=("POST", "/v1.0/message/outbound"))
        elsewhere.start()
        elsewhere.join()
        assert wait_until(lambda: watch.expired)
        assert wait_until(lambda: mine.sock.shutdowns)  # type: ignore[attr-defined]
    assert other.sock.shutdowns == []  # type: ignore[attr-defined]
    with watchdog.watch(time.monotonic() + 60):
        pass
    mine.request("POST", "/")  # outside any watch: nothing to join


def test_the_pool_manager_uses_watched_connections() -> None:
    manager = new_pool_manager(1, 2, 4)
    assert isinstance(manager.connection_from_url("http://127.0.0.1:1/"), WatchedHTTPConnectionPool)
    assert isinstance(manager.connection_from_url("https://127.0.0.1:1/"), WatchedHTTPSConnectionPool)


# ---------------------------------------------------------------- the client


class Answer:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.headers: dict[str, str] = {}
        self.data = json.dumps(body).encode()


class TimedPool:
    """Records the timeout each call was given; answers tokens and sends at once."""

    def __init__(self) -> None:
        self.timeouts: list[urllib3.Timeout] = []
        self.urls: list[str] = []

    def request(self, method: str, url: str, timeout: urllib3.Timeout, **_: Any) -> Answer:
        self.urls.append(url)
        self.timeouts.append(timeout)
        if url.endswith("/oauth2/tokens"):
            return Answer(200, {"token": "t", "successful": True, "tokenExpiry": "01/01/2099 12:00:00 AM"})
        return Answer(200, {"MessageId": "TMID-1", "Status": "Queued"})


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 500.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


def timed_client(pool: TimedPool, clocks: Clocks) -> TelegentClient:
    return TelegentClient(
        BASE,
        lambda force: Credentials("DID-1", "s"),
        pool,  # type: ignore[arg-type]
        TokenCache(clocks.time),
        clock=clocks.time,
        connect_timeout=2,
        read_timeout=5,
        monotonic=clocks.monotonic,
    )


def test_each_call_gets_connect_plus_read_as_its_total_without_an_invocation() -> None:
    pool, clocks = TimedPool(), Clocks()
    timed_client(pool, clocks).send(PAYLOAD)
    assert [(t.connect_timeout, t.read_timeout) for t in pool.timeouts] == [(2, 5), (2, 5)]


def test_no_call_runs_past_the_invocations_end() -> None:
    pool, clocks = TimedPool(), Clocks()
    vendor = timed_client(pool, clocks)
    vendor.begin(clocks.wall + 3)  # 3 s left in the invocation
    vendor.send(PAYLOAD)
    assert [(t.connect_timeout, t.read_timeout) for t in pool.timeouts] == [(2, 3), (2, 3)]


def test_no_call_is_started_when_the_invocation_is_ending() -> None:
    pool, clocks = TimedPool(), Clocks()
    vendor = timed_client(pool, clocks)
    vendor.begin(clocks.wall + 0.01)
    with pytest.raises(TransientError) as caught:
        vendor.send(PAYLOAD)
    assert caught.value.kind == TransientKind.DEADLINE
    assert pool.urls == []


def test_a_new_invocation_replaces_the_previous_end() -> None:
    pool, clocks = TimedPool(), Clocks()
    vendor = timed_client(pool, clocks)
    vendor.begin(clocks.wall)
    vendor.begin(clocks.wall + 60)
    vendor.send(PAYLOAD)
    assert pool.timeouts[-1].read_timeout == 5
