"""One lock per idempotency key within a container, so records of one batch that share a key run
one after the other: the later ones find the first one's outcome instead of its in-progress record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[bool]:
        """Hold the key's lock while the block runs; yields False when it was not free within `timeout` s."""
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        acquired = lock.acquire(timeout=max(0.0, timeout))
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]

    def users(self, key: str) -> int:
        """Records holding or waiting for `key` (a finished key leaves nothing behind)."""
        with self._guard:
            entry = self._locks.get(key)
            return entry[1][0] if entry else 0

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)
