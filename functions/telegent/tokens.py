"""Bearer tokens per endpoint scope (Telegent issues a token for one ApiEndpoint), cached per container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BearerToken:
    value: str = field(repr=False)
    refresh_at: float  # epoch seconds after which we fetch a new one


class TokenCache:
    """Tokens per endpoint scope, shared by the threads of one container.

    A lock per scope makes concurrent callers wait for one fetch instead of each fetching.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tokens: dict[str, BearerToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, scope: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(scope, threading.Lock())

    def _fresh(self, scope: str) -> BearerToken | None:
        token = self._tokens.get(scope)
        return token if token is not None and self._clock() < token.refresh_at else None

    def get(self, scope: str, fetch: Callable[[], BearerToken]) -> str:
        token = self._fresh(scope)
        if token is None:
            with self._lock_for(scope):
                token = self._fresh(scope)
                if token is None:
                    token = fetch()
                    self._tokens[scope] = token
        return token.value

    def invalidate(self, scope: str, value: str) -> None:
        """Drop the token the vendor refused, unless another thread already replaced it."""
        with self._lock_for(scope):
            current = self._tokens.get(scope)
            if current is not None and current.value == value:
                del self._tokens[scope]
