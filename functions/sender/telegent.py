"""Telegent mPaaS client: bearer tokens per endpoint scope, the outbound send, tolerant response reading.

Strict in what we send (the seed's shape), tolerant in what we read (DESIGN.md section 6b).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError

from sender.errors import PermanentError, TransientError, TransientKind
from sender.ratelimit import RequestBudget, Unlimited

TOKEN_EXPIRY_FORMAT = "%m/%d/%Y %I:%M:%S %p"
AUTH_STATUSES = frozenset({401, 403})
LARGE_RESPONSE = 64 * 1024
ECHOED_MEDIA = re.compile(rb'"[A-Za-z0-9+/=]{4096,}"')  # long base64 strings: media, never a field we read
FALLBACK_TOKEN_LIFETIME = 60.0
ERROR_TEXT_MAX = 500


@dataclass(frozen=True)
class Credentials:
    account_key: str
    account_secret: str = field(repr=False)


# Returns the account credentials; True asks for a fresh read (after the vendor refused a token).
CredentialsSource = Callable[[bool], Credentials]


class VendorTelemetry(Protocol):
    def token_fetched(self) -> None: ...

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None: ...


class _NoTelemetry:
    def token_fetched(self) -> None:
        return None

    def vendor_call(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        return None


@dataclass(frozen=True)
class Acceptance:
    """Telegent took the message (2xx with a MessageId)."""

    message_id: str
    vendor_status: str
    message_type: str | None
    cost: Decimal | None


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    data: bytes


# ---------------------------------------------------------------- tolerant reading helpers


def ci_get(data: Any, name: str) -> Any:
    """Field lookup ignoring case: the vendor spells MessageId/MessageID, successful/Successful."""
    if not isinstance(data, Mapping):
        return None
    if name in data:
        return data[name]
    lowered = name.lower()
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def unwrap_data(data: Any) -> Any:
    """Some docs promise {"Successful": true, "Data": {...}}; most examples are flat. Accept both."""
    inner = ci_get(data, "Data")
    return inner if isinstance(inner, Mapping) else data


def parse_cost(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip().lstrip("$").replace(",", ""))
        except InvalidOperation:
            return None
    return None


def parse_token_expiry(text: Any) -> datetime | None:
    """`tokenExpiry` is `MM/dd/yyyy hh:mm:ss AM/PM` with no zone; the vendor's sample JWT shows it is UTC."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip(), TOKEN_EXPIRY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def jwt_expiry(token: str) -> datetime | None:
    """`exp` from the token's payload, used when tokenExpiry is missing or unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def error_text(status: int, raw: bytes) -> str:
    """A readable message from any of the vendor's three error envelopes, else the raw text."""
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        message = ci_get(data, "Message") or ci_get(data, "error") or ci_get(data, "Title")
        errors = ci_get(data, "Errors")
        if isinstance(errors, Mapping) and errors:
            details = "; ".join(
                f"{field_name}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for field_name, msgs in errors.items()
            )
            message = f"{message}: {details}" if message else details
        if message:
            return str(message)[:ERROR_TEXT_MAX]
    text = raw.decode("utf-8", "replace").strip() if raw else ""
    return (text or f"HTTP {status}")[:ERROR_TEXT_MAX]


def json_body(payload: Mapping[str, Any]) -> list[bytes]:
    """JSON as a list of chunks; bytes-like values (base64 media) are spliced in as strings, uncopied.

    A 5 MB MMS would otherwise exist as bytes, base64 str, JSON str and encoded bytes at once.
    """
    marker = uuid.uuid4().hex
    raw: list[bytes | bytearray] = []

    def swap(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            raw.append(value)
            return f"{marker}{len(raw) - 1}"
        if isinstance(value, Mapping):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(payload), separators=(",", ":"))
    chunks: list[bytes] = []
    position = 0
    for index, value in enumerate(raw):
        token = f'"{marker}{index}"'
        found = text.index(token, position)
        chunks += [text[position:found].encode(), b'"', value, b'"']  # type: ignore[list-item]
        position = found + len(token)
    chunks.append(text[position:].encode())
    return chunks


# ---------------------------------------------------------------- token cache


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


# ---------------------------------------------------------------- client


def new_pool_manager(connect_timeout: float, read_timeout: float, maxsize: int) -> urllib3.PoolManager:
    """One pool per container. Automatic retries only for connection errors: nothing reached the vendor."""
    return urllib3.PoolManager(
        num_pools=4,
        maxsize=maxsize,
        block=False,
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        retries=urllib3.Retry(total=None, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2),
        cert_reqs="CERT_REQUIRED",
    )


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
