"""Telegent mPaaS client: bearer tokens per endpoint scope, the outbound send, the message search,
errors classified.

Strict in what we send (the seed's shape), tolerant in what we read (DESIGN.md section 6b).

Every call has a total deadline (connect + read timeout, and never past the invocation's end
given to `begin`): urllib3's timeouts bound each socket read only, so a watchdog cuts off a call
whose answer is still incomplete at its deadline (telegent.deadline). A send cut off that way is
ambiguous (the vendor may have accepted it); a token or search call is merely unavailable.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError

from messaging.ambiguity import SearchPage
from messaging.errors import PermanentError, TransientError, TransientKind, ValidityEnded
from messaging.ports import (
    Acceptance,
    CredentialsSource,
    MessageDetails,
    RequestBudget,
    Unlimited,
    VendorTelemetry,
)
from messaging.receipts import parse_time
from telegent.body import json_body
from telegent.deadline import CallWatch, Watchdog
from telegent.reading import (
    ci_get,
    error_text,
    jwt_expiry,
    parse_cost,
    parse_retry_after,
    parse_token_expiry,
    unwrap_data,
)
from telegent.search import read_search_page
from telegent.tokens import BearerToken, TokenCache

AUTH_STATUSES = frozenset({401, 403})
LARGE_RESPONSE = 64 * 1024
ECHOED_MEDIA = re.compile(rb'"[A-Za-z0-9+/=]{4096,}"')  # long base64 strings: media, never a field we read
FALLBACK_TOKEN_LIFETIME = 60.0
MIN_CALL_SECONDS = 0.05  # less time than this left: the call is not started
DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 8.0

_watchdog = Watchdog()  # one per process: a single thread watches every call's deadline


class _NoTelemetry:
    def token_fetched(self) -> None:
        return None

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        return None


@dataclass(frozen=True)
class VendorAnswer:
    """The answer to an authorized call that the client does not interpret itself (message routes)."""

    status: int
    data: Any  # the JSON body, or None when there is none or it is not JSON
    error: str  # the vendor's error text for a non-2xx answer, bounded


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
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
        watchdog: Watchdog | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._tokens = tokens or TokenCache(clock)
        self._margin = expiry_margin
        self._clock = clock
        self._telemetry: VendorTelemetry = telemetry or _NoTelemetry()
        self._budget: RequestBudget = budget or Unlimited()
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._monotonic = monotonic
        self._watchdog = watchdog or _watchdog
        self._invocation_end: float | None = None  # monotonic seconds

    def begin(self, deadline: float) -> None:
        """A new invocation: no call may run past `deadline` (epoch seconds, this client's clock)."""
        self._invocation_end = self._monotonic() + (deadline - self._clock())

    @property
    def outbound_url(self) -> str:
        return f"{self._base_url}/message/outbound"

    @property
    def token_url(self) -> str:
        return f"{self._base_url}/oauth2/tokens"

    @property
    def search_url(self) -> str:
        return f"{self._base_url}/message/search"

    def send(self, payload: Mapping[str, Any], not_after: float | None = None) -> Acceptance:
        """POST /message/outbound. Raises PermanentError or TransientError per DESIGN.md section 4.

        `not_after` (epoch seconds, this client's clock): the request's validity end (DESIGN.md section 9).
        The rate-limit wait happens inside the call, so it is checked once the slot is granted, right before
        the HTTP request: ValidityEnded, nothing sent, when it has passed.
        """
        response = self._authorized(
            "outbound", "POST", self.outbound_url, "", json_body(payload), sends=True, not_after=not_after
        )
        return self._accepted(response)

    def search(self, phone_number: str, page: int = 1, results: int = 100) -> SearchPage:
        """GET /message/search?phoneNumber=...: one page of the number's messages (DESIGN.md section 4b).

        Raises TransientError when there is no readable answer (the caller retries later).
        """
        query = urllib.parse.urlencode({"phoneNumber": phone_number, "Page": page, "Results": results})
        response = self._authorized("search", "GET", self.search_url, query, b"", sends=False)
        if 200 <= response.status < 300:
            found = read_search_page(self._json(response.data))
            if found is None:
                raise TransientError(TransientKind.UNAVAILABLE, f"HTTP {response.status}: unreadable search answer")
            return found
        if response.status in (429, 503):
            self._raise_for_status(response, sends=False)
        raise TransientError(
            TransientKind.UNAVAILABLE,
            f"search refused with HTTP {response.status}: {error_text(response.status, response.data)}",
        )

    def _authorized(
        self,
        endpoint: str,
        method: str,
        url: str,
        query: str,
        body: bytes | list[bytes],
        *,
        sends: bool,
        not_after: float | None = None,
    ) -> _Response:
        """One call with a bearer token scoped to `url`; on 401/403 a fresh token (and secret), once."""
        for attempt in (1, 2):
            force_secret = attempt == 2

            def fetch(force: bool = force_secret) -> BearerToken:
                return self._issue_token(url, force)

            token = self._tokens.get(url, fetch)
            target = f"{url}?{query}" if query else url
            response = self._call(
                endpoint,
                target,
                body,
                {"Authorization": f"Bearer {token}"},
                sends=sends,
                method=method,
                not_after=not_after,
            )
            if response.status not in AUTH_STATUSES:
                return response
            # The token expired early or its scope is wrong: drop it, re-read the secret, try once more.
            self._tokens.invalidate(url, token)
        raise TransientError(
            TransientKind.AUTH,
            f"Telegent refused a fresh token with HTTP {response.status}: {error_text(response.status, response.data)}",
        )

    @property
    def details_url(self) -> str:
        return f"{self._base_url}/message/details"

    def details(self, message_id: str) -> MessageDetails | None:
        """GET /message/details?MessageId= with a token scoped to the bare details URL (no query).

        None when the vendor does not know the message (404); TransientError when there is no answer.
        """
        query = urllib.parse.urlencode({"MessageId": message_id})
        response = self._authorized("details", "GET", self.details_url, query, b"", sends=False)
        if response.status == 404:
            return None
        if not 200 <= response.status < 300:
            if response.status in (429, 503):
                self._raise_for_status(response, sends=False)
            raise TransientError(
                TransientKind.UNAVAILABLE,
                f"details refused with HTTP {response.status}: {error_text(response.status, response.data)}",
            )
        data = unwrap_data(self._json(response.data))
        status = ci_get(data, "Status")
        when = ci_get(data, "DeliveredOn") or ci_get(data, "UpdatedOn") or ci_get(data, "StatusAt")
        return MessageDetails(
            message_id=message_id,
            vendor_status=status.strip() if isinstance(status, str) and status.strip() else None,
            status_at=parse_time(when),
        )

    def call(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> VendorAnswer:
        """Another authorized call (e.g. `message/routes`): a token scoped to the bare `path` URL, cached
        like every other scope; the answer is returned whatever its status. Raises TransientError when
        there is no answer (connect failure, deadline) or no token."""
        url = f"{self._base_url}/{path.strip('/')}"
        encoded = urllib.parse.urlencode(query or {})
        body: bytes | list[bytes] = json_body(payload) if payload is not None else b""
        response = self._authorized(endpoint, method, url, encoded, body, sends=False)
        return VendorAnswer(response.status, self._json(response.data), error_text(response.status, response.data))

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
        self,
        endpoint: str,
        url: str,
        body: bytes | list[bytes],
        headers: dict[str, str],
        *,
        sends: bool,
        method: str = "POST",
        not_after: float | None = None,
    ) -> _Response:
        self._budget.acquire()
        if not_after is not None and self._clock() >= not_after:
            # The slot came too late for this request (DESIGN.md section 9): it is not sent.
            raise ValidityEnded("its validity ended while it waited for a rate-limit slot")
        limit = self._time_for_call(endpoint)
        started = time.perf_counter()
        status: int | None = None
        watch: CallWatch | None = None
        request_headers = {"Accept": "application/json", **headers}
        if method == "POST":
            request_headers["Content-Type"] = "application/json"
            # An explicit length keeps a chunk list from being sent with chunked encoding.
            request_headers["Content-Length"] = str(len(body) if isinstance(body, bytes) else sum(map(len, body)))
        try:
            with self._watchdog.watch(self._monotonic() + limit) as watch:
                raw = self._http.request(
                    method,
                    url,
                    body=body if method == "POST" else None,
                    headers=request_headers,
                    redirect=False,
                    timeout=urllib3.Timeout(
                        connect=min(self._connect_timeout, limit), read=min(self._read_timeout, limit)
                    ),
                )
            if watch.expired:
                # Cut off mid-answer: what was read may even parse (headers ended by the cut), but is not the answer.
                raise HTTPError("the call's deadline passed before the answer was complete")
            status = raw.status
            return _Response(raw.status, raw.headers, raw.data)
        except (MaxRetryError, HTTPError, OSError) as exc:
            reason = exc.reason if isinstance(exc, MaxRetryError) else exc
            if isinstance(reason, NewConnectionError | ConnectTimeoutError):
                raise TransientError(TransientKind.CONNECT, f"could not connect to Telegent {endpoint}") from None
            kind = TransientKind.AMBIGUOUS if sends else TransientKind.UNAVAILABLE
            if watch is not None and watch.expired:
                raise TransientError(
                    kind, f"no complete answer from Telegent {endpoint} within the call's {limit:.1f} s deadline"
                ) from None
            raise TransientError(
                kind, f"no complete answer from Telegent {endpoint}: {type(reason).__name__}"
            ) from None
        finally:
            self._telemetry.vendor_call(endpoint, status, (time.perf_counter() - started) * 1000)

    def _time_for_call(self, endpoint: str) -> float:
        """The call's total time: connect + read timeout, cut to what is left of the invocation."""
        limit = self._connect_timeout + self._read_timeout
        if self._invocation_end is not None:
            limit = min(limit, self._invocation_end - self._monotonic())
        if limit < MIN_CALL_SECONDS:
            raise TransientError(TransientKind.DEADLINE, f"{endpoint} not attempted: the invocation is ending")
        return limit

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
