"""A total deadline for each vendor call (issue 8, defect 6).

urllib3's read timeout bounds each socket read, not the call: a reply trickled a byte at a time
never trips it, and one slow answer could run the Lambda past its own timeout (the whole batch
then fails). Each call is therefore watched: when its deadline passes before the answer is
complete, a watchdog thread shuts the call's socket down, which wakes the blocked read at once
(status line, headers or body alike) and urllib3 raises. The client then classifies the failure
(ambiguous for a send: the request may have been accepted).

The connection in use is known through the connection class: the pool manager built by
`telegent.http.new_pool_manager` uses `WatchedHTTPConnection`/`WatchedHTTPSConnection`, which
attach themselves to the watch of the calling thread when a request starts on them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

RECHECK_SECONDS = 0.05  # a watch that fired before its socket existed looks again this often

_current = threading.local()


class CallWatch:
    """The deadline of one call on one thread; `expired` tells the caller why the call broke."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # time.monotonic() seconds
        self.expired = False
        self._connection: Any = None
        self._done = False
        self._lock = threading.Lock()

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._connection = None

    def abort(self) -> bool:
        """Cut the call off; False when there is no socket to cut yet (connecting) and it must be tried again."""
        with self._lock:
            if self._done:
                return True
            self.expired = True
            sock = getattr(self._connection, "sock", None)
            if sock is None:
                return False
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return True


class Watchdog:
    """One daemon thread per process that aborts calls whose deadline has passed."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._heap: list[tuple[float, int, CallWatch]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(self, deadline: float) -> Iterator[CallWatch]:
        """Watch the calls made on this thread inside the block; they are cut off at `deadline`."""
        watch = CallWatch(deadline)
        self._schedule(deadline, watch)
        previous = getattr(_current, "watch", None)
        _current.watch = watch
        try:
            yield watch
        finally:
            _current.watch = previous
            watch.finish()

    def _schedule(self, when: float, watch: CallWatch) -> None:
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._seq), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="telegent-call-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                when, _, watch = self._heap[0]
                wait = when - self._monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not watch.abort():
                self._schedule(self._monotonic() + RECHECK_SECONDS, watch)


def _attach_to_current_watch(connection: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(connection)


class WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_to_current_watch(self)
        super().request(*args, **kwargs)


class WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_to_current_watch(self)
        super().request(*args, **kwargs)


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": WatchedHTTPConnectionPool,
    "https": WatchedHTTPSConnectionPool,
}
