"""Telegent mPaaS client: bearer tokens per endpoint scope, the outbound send, errors classified.

Strict in what we send (the seed's shape), tolerant in what we read (DESIGN.md section 6b).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from messaging.errors import PermanentError, TransientError, TransientKind
from messaging.ports import Acceptance, CredentialsSource, RequestBudget, Unlimited, VendorTelemetry
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError

from telegent.body import json_body
from telegent.reading import (
    ci_get,
    error_text,
    jwt_expiry,
    parse_cost,
    parse_retry_after,
    parse_token_expiry,
    unwrap_data,
)
from telegent.tokens import BearerToken, TokenCache

AUTH_STATUSES = frozenset({401, 403})
LARGE_RESPONSE = 64 * 1024
ECHOED_MEDIA = re.compile(rb'"[A-Za-z0-9+/=]{4096,}"')  # long base64 strings: media, never a field we read
FALLBACK_TOKEN_LIFETIME = 60.0


class _NoTelemetry:
    def token_fetched(self) -> None:
        return None

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        return None


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    data: bytes


class TelegentClient:
    def __init__(
        self,
        base_url: str,
        credentials: CredentialsSource,
        http: urllib3.PoolManager,
        tokens: TokenCache | None = None,
        *,
        expiry_margin: float = 60.0,
        clock: Callable[[], float] = time.time,
        telemetry: VendorTelemetry | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._tokens = tokens or TokenCache(clock)
        self._margin = expiry_margin
        self._clock = clock
        self._telemetry: VendorTelemetry = telemetry or _NoTelemetry()
        self._budget: RequestBudget = budget or Unlimited()

    @property
    def outbound_url(self) -> str:
        return f"{self._base_url}/message/outbound"

    @property
    def token_url(self) -> str:
        return f"{self._base_url}/oauth2/tokens"

    def send(self, payload: Mapping[str, Any]) -> Acceptance:
        """POST /message/outbound. Raises PermanentError or TransientError per DESIGN.md section 4."""
        url = self.outbound_url
        body = json_body(payload)
        for attempt in (1, 2):
            force_secret = attempt == 2

            def fetch(force: bool = force_secret) -> BearerToken:
                return self._issue_token(url, force)

            token = self._tokens.get(url, fetch)
            response = self._call("outbound", url, body, {"Authorization": f"Bearer {token}"}, sends=True)
            if response.status not in AUTH_STATUSES:
                return self._accepted(response)
            # The token expired early or its scope is wrong: drop it, re-read the secret, try once more.
            self._tokens.invalidate(url, token)
        raise TransientError(
            TransientKind.AUTH,
            f"Telegent refused a fresh token with HTTP {response.status}: {error_text(response.status, response.data)}",
        )

    # -- internals

    def _issue_token(self, scope: str, force_secret: bool) -> BearerToken:
        for attempt in (1, 2):
            credentials = self._credentials(force_secret or attempt == 2)
            request = {
                "AccountKey": credentials.account_key,
                "AccountSecret": credentials.account_secret,
                "ApiEndpoint": scope,
            }
            response = self._call("tokens", self.token_url, json.dumps(request).encode(), {}, sends=False)
            self._telemetry.token_fetched()
            data = self._json(response.data)
            token = ci_get(data, "token")
            successful = ci_get(data, "successful")
            if 200 <= response.status < 300 and isinstance(token, str) and token and successful is not False:
                return BearerToken(token, self._refresh_time(token, ci_get(data, "tokenExpiry")))
            if response.status not in AUTH_STATUSES and not (200 <= response.status < 300):
                self._raise_for_status(response, sends=False)
        reason = ci_get(data, "error") or error_text(response.status, response.data)
        raise TransientError(TransientKind.AUTH, f"Telegent did not issue a token (HTTP {response.status}): {reason}")

    def _refresh_time(self, token: str, expiry_text: Any) -> float:
        now = self._clock()
        expiry = parse_token_expiry(expiry_text) or jwt_expiry(token)
        expires_at = expiry.timestamp() if expiry else now + FALLBACK_TOKEN_LIFETIME
        lifetime = max(0.0, expires_at - now)
        # Short-lived tokens (tests, odd vendor settings) keep at least half their life usable.
        return expires_at - min(self._margin, lifetime / 2)

    def _call(
        self, endpoint: str, url: str, body: bytes | list[bytes], headers: dict[str, str], *, sends: bool
    ) -> _Response:
        self._budget.acquire()
        started = time.perf_counter()
        status: int | None = None
        try:
            raw = self._http.request(
                "POST",
                url,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    # An explicit length keeps a chunk list from being sent with chunked encoding.
                    "Content-Length": str(len(body) if isinstance(body, bytes) else sum(map(len, body))),
                    **headers,
                },
                redirect=False,
            )
            status = raw.status
            return _Response(raw.status, raw.headers, raw.data)
        except (MaxRetryError, HTTPError) as exc:
            reason = exc.reason if isinstance(exc, MaxRetryError) else exc
            if isinstance(reason, NewConnectionError | ConnectTimeoutError):
                raise TransientError(TransientKind.CONNECT, f"could not connect to Telegent {endpoint}") from None
            kind = TransientKind.AMBIGUOUS if sends else TransientKind.UNAVAILABLE
            raise TransientError(
                kind, f"no complete answer from Telegent {endpoint}: {type(reason).__name__}"
            ) from None
        finally:
            self._telemetry.vendor_call(endpoint, status, (time.perf_counter() - started) * 1000)

    @staticmethod
    def _json(raw: bytes) -> Any:
        if len(raw) > LARGE_RESPONSE:
            # The vendor echoes MmsBase64 back; parsing it would hold the media twice more.
            raw = ECHOED_MEDIA.sub(b'""', raw)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _accepted(self, response: _Response) -> Acceptance:
        if 200 <= response.status < 300:
            data = unwrap_data(self._json(response.data))
            message_id = ci_get(data, "MessageId")
            if isinstance(message_id, str | int) and not isinstance(message_id, bool) and str(message_id).strip():
                status = ci_get(data, "Status")
                message_type = ci_get(data, "MessageType")
                return Acceptance(
                    message_id=str(message_id).strip(),
                    vendor_status=str(status) if status else "Queued",
                    message_type=str(message_type).lower() if message_type else None,
                    cost=parse_cost(ci_get(data, "Cost")),
                )
            # 2xx but nothing we can track: it may have been sent.
            raise TransientError(TransientKind.AMBIGUOUS, f"HTTP {response.status} without a MessageId")
        self._raise_for_status(response, sends=True)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for_status(self, response: _Response, *, sends: bool) -> None:
        status, text = response.status, error_text(response.status, response.data)
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            if status == 429:
                self._budget.penalize(retry_after)
                raise TransientError(TransientKind.THROTTLED, f"HTTP 429: {text}", retry_after)
            raise TransientError(TransientKind.UNAVAILABLE, f"HTTP {status}: {text}", retry_after)
        if 400 <= status < 500 and status != 408:
            if sends:
                raise PermanentError(str(status), text)
            raise TransientError(TransientKind.CONFIG, f"token request refused with HTTP {status}: {text}")
        kind = TransientKind.AMBIGUOUS if sends else TransientKind.UNAVAILABLE
        raise TransientError(kind, f"HTTP {status}: {text}")
