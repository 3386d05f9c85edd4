"""Local stand-in for the Telegent mPaaS API (token, outbound, details, search) with fault injection.

Why it exists: build machines may not call the real vendor, and the relay's error semantics
(DESIGN.md §4) can only be exercised if 401/429/5xx, timeouts and malformed bodies can be
produced on demand. Where the vendor docs are vague the sandbox is deliberately strict (exact
seed request schema, exact token scope) so client bugs show up here instead of in production.

Run alone:               telegent-sandbox --port 8765   (or python -m infra.local.sandbox)
In-process:              with TelegentSandbox() as sandbox: ... sandbox.base_url ...
Out-of-process control:  SandboxControl("http://127.0.0.1:8765")  (same methods)
In a child process:      with sandbox_process() as sandbox: ...  (a SandboxControl)

Faults are dicts with keys path ("outbound"|"tokens"|"details"|"search"|"*"), status, retry_after,
body, malformed, drop, delay_ms, accept_then_fail, trickle_ms, trickle_bytes, count; each request
takes the oldest fault whose path matches it. How they combine:
- delay_ms is slept first; on its own it only delays normal processing.
- status answers with that status (vendor error body, or `body`) without processing.
- drop closes the connection without any response.
- malformed with a status answers that status with a truncated JSON body; without a status the
  request is processed normally and the real response body is truncated.
- accept_then_fail processes the request normally (the message is stored as sent) and then
  answers `status` or drops; it is only consumed by requests that would have succeeded.
- trickle_ms writes the whole answer (status line, headers, body) `trickle_bytes` bytes at a
  time with that pause between writes: a slow link whose every read stays under the client's
  read timeout. Alone it trickles the normal answer (an outbound message is stored as sent).

Message search (GET /v1.0/message/search?phoneNumber=&Page=&Results=, telegent-api.md section 4)
lists the accepted messages to or from that number, newest first, in the documented shape (plus
CreatedOn, as the send and details answers carry). A message becomes searchable
`search_index_delay` seconds after it was accepted (config; default 0).

`accept_then_fail_rate` (config, 0..1) makes that share of the successful sends lose their answer
after the message was stored: the client sees a dropped connection or a 500/502/504 (an ambiguous
send). Draws come from a generator seeded with `random_seed` (config) for repeatable runs.

Message routes (`/v1.0/message/routes`, `/routes/update`, `/routes/delete`, `GET /v1.0/account/message/routes`),
delivery receipts to the route's CallbackMessageUrl, magic recipient numbers, receipt faults and
inbound messages live in infra.local.sandbox_routes (control API: /_sandbox/routes, /receipts,
/callbacks, /inbound). Reference: docs/sandbox.md.

The control API has no authentication: never expose the sandbox beyond localhost.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import copy
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any

from infra.local.ports import LOOPBACK, free_port
from infra.local.sandbox_routes import (
    ROUTE_CONTROL,
    ROUTE_ENDPOINT_NAMES,
    ROUTE_ENDPOINTS,
    ROUTE_METHODS,
    RouteError,
    Routes,
    wait_for,
)

API_PREFIX = "/v1.0"
CONTROL_PREFIX = "/_sandbox/"
DEFAULT_ACCOUNT_KEY = "DID-sandbox"
DEFAULT_ACCOUNT_SECRET = "sandbox-secret"
DEFAULT_TOKEN_TTL = 300.0
TOKEN_EXPIRY_FORMAT = "%m/%d/%Y %I:%M:%S %p"
SMS_COST = 0.0045
MMS_COST = 0.02
RATE_WINDOW_SECONDS = 60.0
REDACTED = "<redacted>"

# Lower-cased path -> (endpoint name, allowed method). Routing is case-insensitive like the
# vendor's ASP.NET server (the docs use both /oauth2/ and /OAuth2/).
ENDPOINTS: dict[str, tuple[str, str]] = {
    f"{API_PREFIX}/oauth2/tokens": ("tokens", "POST"),
    f"{API_PREFIX}/message/outbound": ("outbound", "POST"),
    f"{API_PREFIX}/message/details": ("details", "GET"),
    f"{API_PREFIX}/message/search": ("search", "GET"),
    **ROUTE_ENDPOINTS,
}
ENDPOINT_PATHS = {name: path for path, (name, _method) in ENDPOINTS.items()}
FAULT_PATHS = frozenset({"outbound", "tokens", "details", "search", "*"} | ROUTE_ENDPOINT_NAMES)
FAULT_STATUSES = frozenset({400, 401, 403, 404, 405, 408, 409, 415, 422, 429, 500, 502, 503, 504})
CONFIG_KEYS = frozenset(
    {"token_ttl", "latency_ms", "rate_limit_per_minute", "account_key", "account_secret"}
    | {"search_index_delay", "accept_then_fail_rate", "random_seed"}
)
SEARCH_DEFAULT_RESULTS = 20
SEARCH_MAX_RESULTS = 500
# How an answer is lost under accept_then_fail_rate: a dropped connection or a 5xx.
LOST_ANSWERS: tuple[int | None, ...] = (None, 500, 502, 504)
OUTBOUND_FIELDS = frozenset({"To", "From", "Owner", "Body", "CampaignId", "MmsMedia", "MmsBase64"})

# Default error texts, taken from the vendor OpenAPI examples where it has them.
STATUS_MESSAGES: dict[int, str] = {
    200: "OK",
    400: "Bad request: one or more required fields are missing or contain an invalid value.",
    401: "Unauthorized: Bearer token is missing, expired, or invalid. Re-authenticate via POST /v1.0/oauth2/tokens.",
    403: "Forbidden: your token does not have permission to access this resource. Check the ApiEndpoint scope.",
    404: "Not found: the requested resource does not exist or belongs to a different account.",
    405: "Method not allowed: verify the HTTP method required for this endpoint.",
    408: "Request timeout: the server did not receive a complete request within the allowed time. "
    "Retry with exponential backoff.",
    409: "Conflict: the request conflicts with the current state of the resource.",
    415: "Unsupported media type: send the body as application/json.",
    422: "Unprocessable entity: the request is well-formed but could not be processed.",
    429: "Too many requests: rate limit exceeded. Slow your request cadence and retry after a short delay.",
    500: "Internal server error: an unexpected error occurred. If the problem persists contact support@telegent.com.",
    502: "Bad gateway: an upstream service returned an invalid response.",
    503: "Service unavailable: the API is temporarily unavailable. Retry after a short delay.",
    504: "Gateway timeout: an upstream service did not respond in time. Retry with exponential backoff.",
}

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_MIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
_ALNUM = string.ascii_letters + string.digits
_JWT_CLAIM_ID = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
_JWT_CLAIM_USERDATA = "http://schemas.microsoft.com/ws/2008/06/identity/claims/userdata"
_JSON_TYPES = ("application/json", "text/json")


# --------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """One queued misbehaviour (see the module docstring for how the keys combine)."""

    path: str = "outbound"
    status: int | None = None
    retry_after: float | str | None = None
    body: Any = None
    malformed: bool = False
    drop: bool = False
    delay_ms: float | None = None
    accept_then_fail: bool = False
    trickle_ms: float | None = None
    trickle_bytes: int = 1
    count: int = 1

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | Fault) -> Fault:
        """Build and validate a fault from a control-API dict, so typos fail loudly."""
        if isinstance(data, Fault):
            fault = copy.deepcopy(data)
        else:
            if not isinstance(data, Mapping):
                raise ValueError(f"a fault must be an object, got {type(data).__name__}")
            unknown = sorted(set(data) - {f.name for f in fields(cls)})
            if unknown:
                raise ValueError(f"unknown fault keys: {', '.join(unknown)}")
            fault = cls(**data)
        fault.validate()
        return fault

    def validate(self) -> None:
        """Reject combinations that cannot mean anything, rather than guessing."""
        if self.path not in FAULT_PATHS:
            raise ValueError(f"fault path must be one of {sorted(FAULT_PATHS)}, got {self.path!r}")
        for name in ("malformed", "drop", "accept_then_fail"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"fault {name} must be a boolean")
        if self.status is not None:
            allowed = FAULT_STATUSES | ({200} if self.malformed else set())
            if not _is_int(self.status) or self.status not in allowed:
                raise ValueError(f"fault status must be one of {sorted(allowed)}, got {self.status!r}")
        if not _is_int(self.count) or self.count < 1:
            raise ValueError("fault count must be an integer >= 1")
        if self.delay_ms is not None and (not _is_number(self.delay_ms) or self.delay_ms < 0):
            raise ValueError("fault delay_ms must be a number >= 0")
        if self.trickle_ms is not None and (not _is_number(self.trickle_ms) or self.trickle_ms < 0):
            raise ValueError("fault trickle_ms must be a number >= 0")
        if not _is_int(self.trickle_bytes) or self.trickle_bytes < 1:
            raise ValueError("fault trickle_bytes must be an integer >= 1")
        if self.drop and self.trickle_ms is not None:
            raise ValueError("a dropped connection sends nothing to trickle")
        retry_after = self.retry_after
        if retry_after is not None and not (
            (isinstance(retry_after, str) and retry_after.strip())
            or (not isinstance(retry_after, str) and _is_number(retry_after) and retry_after >= 0)
        ):
            raise ValueError("fault retry_after must be seconds >= 0 or a non-empty string")
        if self.body is not None and not isinstance(self.body, str):
            try:
                json.dumps(self.body)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"fault body is not JSON-serialisable: {exc}") from None
        if self.drop and (self.status is not None or self.malformed or self.body is not None):
            raise ValueError("a dropped connection sends no response: drop excludes status/malformed/body")
        if self.accept_then_fail and self.status is None and not self.drop:
            raise ValueError("accept_then_fail needs a status or drop")
        if not (self.status is not None or self.malformed or self.drop or self.delay_ms or self.trickle_ms):
            raise ValueError("fault does nothing: set status, malformed, drop, delay_ms or trickle_ms")

    def matches(self, endpoint: str) -> bool:
        return self.path in ("*", endpoint)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- request validation


def _is_absolute_http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        return False
    parts = urllib.parse.urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _check_e164(value: Any) -> str | None:
    if isinstance(value, str) and _E164.fullmatch(value):
        return None
    return f"must be an E.164 number like +18015737111 (got {_short(value)})"


def _check_url(value: Any) -> str | None:
    return None if _is_absolute_http_url(value) else f"must be an absolute http(s) URL (got {_short(value)})"


def _check_base64(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty base64 string"
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "is not valid base64"
    return None


def _check_mime(value: Any) -> str | None:
    if isinstance(value, str) and _MIME.fullmatch(value):
        return None
    return f"must be a MIME type like image/png (got {_short(value)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_items(
    value: Any, name: str, keys: Mapping[str, Callable[[Any], str | None]], *, non_empty: bool
) -> list[str]:
    """Validate an array of small objects whose keys are all required and all known."""
    if not isinstance(value, list):
        return [f"{name} must be an array"]
    if non_empty and not value:
        return [f"{name} must not be empty"]
    errors: list[str] = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{where} must be an object with {', '.join(keys)}")
            continue
        errors.extend(f"{where} has unknown field '{extra}'" for extra in sorted(set(item) - set(keys)))
        for key, check in keys.items():
            if key not in item:
                errors.append(f"{where}.{key} is required")
            elif (problem := check(item[key])) is not None:
                errors.append(f"{where}.{key} {problem}")
    return errors


def validate_outbound(body: Mapping[str, Any]) -> list[str]:
    """Every problem with a send request, checked against the vendor seed schema (empty = valid).

    Stricter than the vendor is known to be (unknown fields, exact key case) on purpose: the
    relay must send exactly the seed's shape, so any extra key is our bug.
    """
    errors = [f"unknown field '{name}'" for name in sorted(set(body) - OUTBOUND_FIELDS)]
    if body.get("To") is None:
        errors.append("The To field is required.")
    else:
        errors.extend(_check_items(body["To"], "To", {"Number": _check_e164}, non_empty=True))
    if body.get("From") is None:
        errors.append("The From field is required.")
    elif (problem := _check_e164(body["From"])) is not None:
        errors.append(f"From {problem}")
    # ASP.NET's [Required] rejects empty strings too, so an empty Body is "missing".
    if body.get("Body") is None or body["Body"] == "":
        errors.append("The Body field is required.")
    elif not isinstance(body["Body"], str):
        errors.append("Body must be a string")
    if body.get("Owner") is not None and (problem := _check_e164(body["Owner"])) is not None:
        errors.append(f"Owner {problem}")
    if body.get("CampaignId") is not None and not isinstance(body["CampaignId"], str):
        errors.append("CampaignId must be a string")
    if body.get("MmsMedia") is not None:
        errors.extend(_check_items(body["MmsMedia"], "MmsMedia", {"MediaUrl": _check_url}, non_empty=False))
    if body.get("MmsBase64") is not None:
        errors.extend(
            _check_items(
                body["MmsBase64"],
                "MmsBase64",
                {"Base64": _check_base64, "BaseType": _check_mime},
                non_empty=False,
            )
        )
    return errors


def _same_endpoint(scope: str, called: str) -> bool:
    """True when a token's ApiEndpoint names exactly the URL called (case-insensitive, default ports)."""
    scope_parts = urllib.parse.urlsplit(scope)
    if scope_parts.query or scope_parts.fragment:
        return False

    def key(parts: urllib.parse.SplitResult) -> tuple[str, str, int | None, str] | None:
        try:
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        return (
            scheme,
            (parts.hostname or "").lower(),
            port or {"http": 80, "https": 443}.get(scheme),
            (parts.path.lower()),
        )

    scope_key = key(scope_parts)
    return scope_key is not None and scope_key == key(urllib.parse.urlsplit(called))


# --------------------------------------------------------------------------- replies


@dataclass
class _Reply:
    """What the handler thread writes back (or, with drop, deliberately does not)."""

    status: int = 0
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    trickle_ms: float | None = None  # write it slowly: trickle_bytes at a time, this pause between
    trickle_bytes: int = 1


def _trickled(reply: _Reply, fault: Fault | None) -> _Reply:
    if fault is not None and fault.trickle_ms is not None and not reply.drop:
        reply.trickle_ms, reply.trickle_bytes = fault.trickle_ms, fault.trickle_bytes
    return reply


def _json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), headers=dict(headers or {}))


def _error(status: int, message: str | None = None, headers: Mapping[str, str] | None = None) -> _Reply:
    """The OpenAPI 1.0.8 error envelope, which is what the relay must at least understand."""
    return _json_reply(status, {"StatusCode": status, "Message": message or STATUS_MESSAGES[status]}, headers)


def _truncated(reply: _Reply) -> _Reply:
    """Cut a JSON body in half: a prefix of a JSON object is never valid JSON."""
    body = reply.body or b'{"StatusCode": 200, "Message": "OK"}'
    return _Reply(reply.status, body[: max(1, len(body) // 2)], reply.content_type, dict(reply.headers))


def _retry_after_header(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(math.ceil(value))


@dataclass
class _Request:
    """A vendor request as the state machine sees it (no sockets, easy to reason about)."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    called_url: str

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass
class _Token:
    scope: str
    expires_at: float


# --------------------------------------------------------------------------- state


class _SandboxState:
    """All shared state and behaviour; the HTTP handler only does I/O around it.

    Every mutable field is guarded by `lock`; sleeps (latency, delays) happen outside it and
    wake early when the sandbox stops.
    """

    def __init__(
        self,
        *,
        account_key: str,
        account_secret: str,
        token_ttl: float,
        latency_ms: float,
        rate_limit_per_minute: int | None,
    ) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.root_url = ""
        self._signing_key = secrets.token_bytes(32)
        self._account_key = DEFAULT_ACCOUNT_KEY
        self._account_secret = DEFAULT_ACCOUNT_SECRET
        self._token_ttl = DEFAULT_TOKEN_TTL
        self._latency_ms = 0.0
        self._rate_limit: int | None = None
        self._tokens: dict[str, _Token] = {}
        self.issued_tokens: list[str] = []  # every token ever issued, for 'never logged' checks
        self._messages: dict[str, dict[str, Any]] = {}
        self._records: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._window: deque[float] = deque()
        self._seq = 0
        self._search_index_delay = 0.0
        self._accept_then_fail_rate = 0.0
        self._random_seed: int | None = None
        self._random = random.Random()  # fault draws, not security
        self.routes = Routes(self.set_message_status, self.stopping)
        self.configure(
            {
                "account_key": account_key,
                "account_secret": account_secret,
                "token_ttl": token_ttl,
                "latency_ms": latency_ms,
                "rate_limit_per_minute": rate_limit_per_minute,
            }
        )

    # ---- control operations (shared by the Python API and the HTTP control API)

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Validate everything first so a bad value changes nothing."""
        unknown = sorted(set(changes) - CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        new: dict[str, Any] = {}
        if "token_ttl" in changes:
            ttl = changes["token_ttl"]
            if not _is_number(ttl) or ttl <= 0:
                raise ValueError("token_ttl must be a number of seconds > 0")
            new["token_ttl"] = float(ttl)
        if "latency_ms" in changes:
            latency = changes["latency_ms"]
            if not _is_number(latency) or latency < 0:
                raise ValueError("latency_ms must be a number >= 0")
            new["latency_ms"] = float(latency)
        if "rate_limit_per_minute" in changes:
            limit = changes["rate_limit_per_minute"]
            if limit is not None and (not _is_int(limit) or limit < 0):
                raise ValueError("rate_limit_per_minute must be an integer >= 0, 0 or null to disable")
            new["rate_limit_per_minute"] = limit or None
        for key in ("account_key", "account_secret"):
            if key in changes:
                if not isinstance(changes[key], str) or not changes[key]:
                    raise ValueError(f"{key} must be a non-empty string")
                new[key] = changes[key]
        new.update(self._check_search_and_loss(changes))
        with self.lock:
            self._search_index_delay = new.get("search_index_delay", self._search_index_delay)
            self._accept_then_fail_rate = new.get("accept_then_fail_rate", self._accept_then_fail_rate)
            if "random_seed" in new:
                self._random_seed = new["random_seed"]
                self._random.seed(self._random_seed)
            self._token_ttl = new.get("token_ttl", self._token_ttl)
            self._latency_ms = new.get("latency_ms", self._latency_ms)
            self._account_key = new.get("account_key", self._account_key)
            self._account_secret = new.get("account_secret", self._account_secret)
            if "rate_limit_per_minute" in new:
                # A new budget starts now: old requests would make a fresh limit fire at once.
                self._rate_limit = new["rate_limit_per_minute"]
                self._window.clear()
        return self.config()

    def config(self) -> dict[str, Any]:
        with self.lock:
            return {
                "token_ttl": self._token_ttl,
                "latency_ms": self._latency_ms,
                "rate_limit_per_minute": self._rate_limit,
                "account_key": self._account_key,
                "search_index_delay": self._search_index_delay,
                "accept_then_fail_rate": self._accept_then_fail_rate,
                "random_seed": self._random_seed,
            }

    @staticmethod
    def _check_search_and_loss(changes: Mapping[str, Any]) -> dict[str, Any]:
        new: dict[str, Any] = {}
        if "search_index_delay" in changes:
            delay = changes["search_index_delay"]
            if not _is_number(delay) or delay < 0:
                raise ValueError("search_index_delay must be a number of seconds >= 0")
            new["search_index_delay"] = float(delay)
        if "accept_then_fail_rate" in changes:
            rate = changes["accept_then_fail_rate"]
            if not _is_number(rate) or not 0 <= rate <= 1:
                raise ValueError("accept_then_fail_rate must be a number from 0 to 1")
            new["accept_then_fail_rate"] = float(rate)
        if "random_seed" in changes:
            seed = changes["random_seed"]
            if seed is not None and not _is_int(seed):
                raise ValueError("random_seed must be an integer or null")
            new["random_seed"] = seed
        return new

    def add_faults(self, faults: Iterable[Mapping[str, Any] | Fault]) -> None:
        parsed = [Fault.from_mapping(item) for item in faults]  # all or nothing
        with self.lock:
            self._faults.extend(parsed)

    def pending_faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(fault) for fault in self._faults]

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def set_message_status(self, message_id: str, status: str) -> dict[str, Any]:
        if not isinstance(status, str) or not status:
            raise ValueError("Status must be a non-empty string")
        with self.lock:
            message = self._messages.get(message_id)
            if message is None:
                raise KeyError(f"no message {message_id!r}")
            message["status"] = status
            return copy.deepcopy(message)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Recorded vendor requests; `path` is an endpoint name (outbound/tokens/details) or a path."""
        with self.lock:
            return copy.deepcopy(
                [
                    record
                    for record in self._records
                    if path is None
                    or path in (record["endpoint"], record["path"])
                    or record["path"].lower() == path.lower()
                ]
            )

    def sent_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self._messages.values()))

    def reset(self) -> None:
        """Forget records, faults, messages and the rate window; config and tokens stay."""
        with self.lock:
            self._records.clear()
            self._faults.clear()
            self._messages.clear()
            self._window.clear()
        self.routes.reset()

    def health(self) -> dict[str, Any]:
        return {"ok": True, "base_url": self.root_url + API_PREFIX}

    # ---- vendor requests

    def handle_vendor(self, request: _Request) -> _Reply:
        """Answer one vendor request and keep its record up to date."""
        route = ENDPOINTS.get(request.path.lower())
        record = self._begin_record(request, route[0] if route else None)
        reply = self._vendor_reply(request, route, record)
        with self.lock:
            record["status"] = None if reply.drop else reply.status
            record["outcome"] = "dropped" if reply.drop else "responded"
            message = self._messages.get(record["message_id"] or "")
            if message is not None:
                message["returned_status"] = record["status"]
        return reply

    def _vendor_reply(self, request: _Request, route: tuple[str, str] | None, record: dict[str, Any]) -> _Reply:
        with self.lock:
            latency = self._latency_ms
        if not self._sleep(latency / 1000):
            return _Reply(drop=True)
        if (limited := self._check_rate_limit()) is not None:
            return limited
        if route is None:
            return _error(404, f"Not found: no endpoint {request.path}.")
        endpoint, method = route
        fault = self._next_fault(endpoint, record)
        if fault is not None and not fault.accept_then_fail:
            if fault.delay_ms and not self._sleep(fault.delay_ms / 1000):
                return _Reply(drop=True)
            if fault.drop:
                return _Reply(drop=True)
            if fault.status is not None:
                return _trickled(self._fault_reply(fault, fault.status), fault)
            reply = self._process(request, endpoint, method, record)
            return _trickled(_truncated(reply) if fault.malformed else reply, fault)
        reply = self._process(request, endpoint, method, record)
        if fault is not None and reply.status == 200 and self._consume(fault, record):
            if fault.delay_ms and not self._sleep(fault.delay_ms / 1000):
                return _Reply(drop=True)
            if fault.drop or fault.status is None:
                return _Reply(drop=True)
            return _trickled(self._fault_reply(fault, fault.status), fault)
        if fault is None and endpoint == "outbound" and reply.status == 200:
            return self._maybe_lose_answer(reply, record)
        return reply

    def _maybe_lose_answer(self, reply: _Reply, record: dict[str, Any]) -> _Reply:
        """accept_then_fail_rate: the message is stored as sent, but its answer never arrives."""
        with self.lock:
            if not self._accept_then_fail_rate or self._random.random() >= self._accept_then_fail_rate:
                return reply
            lost = self._random.choice(LOST_ANSWERS)
            record["fault"] = {
                "accept_then_fail_rate": self._accept_then_fail_rate,
                "status": lost,
                "drop": lost is None,
            }
        return _Reply(drop=True) if lost is None else _error(lost)

    def _begin_record(self, request: _Request, endpoint: str | None) -> dict[str, Any]:
        authorization = request.header("authorization")
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = None
        if isinstance(body, dict) and "AccountSecret" in body:
            body["AccountSecret"] = REDACTED
        with self.lock:
            self._seq += 1
            record: dict[str, Any] = {
                "seq": self._seq,
                "time": time.time(),
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "endpoint": endpoint,
                "headers": {k: v for k, v in request.headers if k.lower() != "authorization"},
                "has_authorization": authorization is not None,
                "auth_scheme": authorization.partition(" ")[0] if authorization else None,
                "body": body,
                "body_bytes": len(request.body),
                "status": None,
                "outcome": "pending",
                "fault": None,
                "message_id": None,
            }
            self._records.append(record)
        return record

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the sandbox stops meanwhile; False means 'stopping, give up'."""
        if seconds <= 0:
            return not self.stopping.is_set()
        return not self.stopping.wait(seconds)

    def _check_rate_limit(self) -> _Reply | None:
        """Sliding 60 s window over admitted vendor requests (token requests included)."""
        with self.lock:
            if not self._rate_limit:
                return None
            now = time.monotonic()
            while self._window and now - self._window[0] >= RATE_WINDOW_SECONDS:
                self._window.popleft()
            if len(self._window) >= self._rate_limit:
                retry_after = max(1, math.ceil(RATE_WINDOW_SECONDS - (now - self._window[0])))
                return _error(429, headers={"Retry-After": str(retry_after)})
            self._window.append(now)
        return None

    def _next_fault(self, endpoint: str, record: dict[str, Any]) -> Fault | None:
        """The oldest fault matching `endpoint`, used up at once unless it is accept_then_fail
        (that one is used up only by a request that succeeds, see `_consume`)."""
        with self.lock:
            fault = next((fault for fault in self._faults if fault.matches(endpoint)), None)
            if fault is not None and not fault.accept_then_fail:
                self._use(fault, record)
            return fault

    def _consume(self, fault: Fault, record: dict[str, Any]) -> bool:
        """Use up one application of `fault`; False if another request took its last use."""
        with self.lock:
            if not any(queued is fault for queued in self._faults):
                return False
            self._use(fault, record)
            return True

    def _use(self, fault: Fault, record: dict[str, Any]) -> None:
        """Caller holds the lock."""
        record["fault"] = {**asdict(fault), "count": 1}
        fault.count -= 1
        if fault.count <= 0:
            self._faults = [queued for queued in self._faults if queued is not fault]

    @staticmethod
    def _fault_reply(fault: Fault, status: int) -> _Reply:
        headers = {} if fault.retry_after is None else {"Retry-After": _retry_after_header(fault.retry_after)}
        if fault.malformed:
            template = _error(status, headers=headers) if status != 200 else _Reply(200, headers=headers)
            return _truncated(template)
        if fault.body is None:
            return _error(status, headers=headers)
        if isinstance(fault.body, str):
            return _Reply(status, fault.body.encode(), "text/plain; charset=utf-8", headers)
        return _json_reply(status, fault.body, headers)

    def _process(self, request: _Request, endpoint: str, method: str, record: dict[str, Any]) -> _Reply:
        if endpoint in ROUTE_ENDPOINT_NAMES:
            return self._route_call(request, endpoint)
        if request.method != method:
            return _error(405, headers={"Allow": method})
        if endpoint == "tokens":
            return self._issue_token(request)
        if endpoint == "outbound":
            return self._send_message(request, record)
        if endpoint == "search":
            return self._search_messages(request)
        return self._message_details(request)

    def _search_messages(self, request: _Request) -> _Reply:
        """GET /message/search: the number's messages, newest first, paged (telegent-api.md section 4)."""
        if (denied := self._authorize(request)) is not None:
            return denied
        params = urllib.parse.parse_qs(request.query, keep_blank_values=True)

        def param(name: str) -> str | None:
            values = [value for key, found in params.items() if key.lower() == name.lower() for value in found]
            return values[0] if values else None

        number = param("phoneNumber")
        if not number:
            return _error(400, "Bad request: the phoneNumber query parameter is required.")
        try:
            page = int(param("Page") or 1)
            size = int(param("Results") or SEARCH_DEFAULT_RESULTS)
        except ValueError:
            return _error(400, "Bad request: Page and Results must be integers.")
        if page < 1 or not 1 <= size <= SEARCH_MAX_RESULTS:
            return _error(400, f"Bad request: Page must be >= 1 and Results from 1 to {SEARCH_MAX_RESULTS}.")
        now = time.time()
        with self.lock:
            visible_before = now - self._search_index_delay
            found = [
                copy.deepcopy(message)
                for message in self._messages.values()
                if message["received_at"] <= visible_before
                and (
                    message["request"].get("From") == number
                    or any(item.get("Number") == number for item in message["request"].get("To") or [])
                )
            ]
        found.sort(key=lambda message: message["received_at"], reverse=True)
        start = (page - 1) * size
        return _json_reply(
            200,
            {
                "PhoneNumber": number,
                "ResultsTotalRecords": len(found),
                "ResultsPages": math.ceil(len(found) / size),
                "Results": [_search_view(message) for message in found[start : start + size]],
            },
        )

    @staticmethod
    def _parse_json(request: _Request) -> tuple[dict[str, Any] | None, _Reply | None]:
        """JSON object body or the error reply ASP.NET would give (415 wrong type, 400 bad JSON)."""
        mime = (request.header("content-type") or "").split(";")[0].strip().lower()
        if mime not in _JSON_TYPES and not (mime.startswith("application/") and mime.endswith("+json")):
            return None, _error(415, f"Unsupported media type {mime or '(none)'}: send application/json.")
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None, _error(400, "Bad request: the body is not valid JSON.")
        if not isinstance(body, dict):
            return None, _error(400, "Bad request: the body must be a JSON object.")
        return body, None

    def _authorize(self, request: _Request) -> _Reply | None:
        """401 unless the bearer token is known, unexpired and scoped to exactly this URL."""
        authorization = request.header("authorization")
        if not authorization:
            return _error(401, "Unauthorized: Bearer token is missing.")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _error(401, "Unauthorized: the Authorization header must be 'Bearer <token>'.")
        with self.lock:
            known = self._tokens.get(token)
            issued = None if known is None else _Token(known.scope, known.expires_at)
        if issued is None:
            return _error(401, "Unauthorized: Bearer token is invalid.")
        if time.time() >= issued.expires_at:
            return _error(401, "Unauthorized: Bearer token has expired. Re-authenticate via POST /v1.0/oauth2/tokens.")
        if not _same_endpoint(issued.scope, request.called_url):
            return _error(
                401,
                f"Unauthorized: the token's ApiEndpoint scope ({issued.scope}) does not match "
                f"the URL you called ({request.called_url}).",
            )
        return None

    def _issue_token(self, request: _Request) -> _Reply:
        body, problem = self._parse_json(request)
        if body is None:
            return problem or _error(400)
        errors: list[str] = []
        for name in ("AccountKey", "AccountSecret", "ApiEndpoint"):
            value = body.get(name)
            if value is None or value == "":
                errors.append(f"The {name} field is required.")
            elif not isinstance(value, str):
                errors.append(f"The {name} field must be a string.")
        if not errors and not _is_absolute_http_url(body["ApiEndpoint"]):
            errors.append("The ApiEndpoint field is not a valid fully-qualified http or https URL.")
        if errors:
            return _error(400, "Bad request: " + " ".join(errors))
        with self.lock:
            key, secret, ttl = self._account_key, self._account_secret, self._token_ttl
        key_ok = hmac.compare_digest(key.encode(), body["AccountKey"].encode())
        secret_ok = hmac.compare_digest(secret.encode(), body["AccountSecret"].encode())
        if not (key_ok and secret_ok):
            return _error(401, "Unauthorized: invalid AccountKey or AccountSecret.")
        now = time.time()
        expires_at = now + ttl
        exp = int(expires_at)  # floor: the claim never promises more life than the server grants
        token = self._make_jwt(key, exp)
        with self.lock:
            self._tokens = {t: info for t, info in self._tokens.items() if info.expires_at > now}
            self._tokens[token] = _Token(body["ApiEndpoint"], expires_at)
            self.issued_tokens.append(token)
        return _json_reply(
            200,
            {
                "token": token,
                "successful": True,
                "tokenExpiry": datetime.fromtimestamp(exp, UTC).strftime(TOKEN_EXPIRY_FORMAT),
                "error": "",
            },
        )

    def _make_jwt(self, account_key: str, exp: int) -> str:
        """HS256 JWT shaped like the vendor's (claims from the decoded Postman sample)."""

        def segment(data: Mapping[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        claims = {
            _JWT_CLAIM_ID: account_key,
            _JWT_CLAIM_USERDATA: secrets.token_urlsafe(24),
            "exp": exp,
            "iss": "https://api.telegent.co",
            "aud": "com.telegent.co",
        }
        signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}"
        signature = hmac.new(self._signing_key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    def _send_message(self, request: _Request, record: dict[str, Any]) -> _Reply:
        if (denied := self._authorize(request)) is not None:
            return denied
        body, problem = self._parse_json(request)
        if body is None:
            return problem or _error(400)
        errors = validate_outbound(body)
        if errors:
            return _error(400, "Bad request: " + "; ".join(errors))
        mms = bool(body.get("MmsMedia")) or bool(body.get("MmsBase64"))
        message_id = "TMID-" + "".join(secrets.choice(_ALNUM) for _ in range(20))
        created_on = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        response = {
            "MessageId": message_id,
            "Direction": "Outbound",
            "Type": "p2p",
            "CampaignId": body.get("CampaignId"),
            "Cost": MMS_COST if mms else SMS_COST,
            "Status": "Queued",
            "To": body["To"],
            "From": body["From"],
            "Owner": body.get("Owner") or body["From"],
            "Body": body["Body"],
            "CreatedOn": created_on,
            "MessageType": "mms" if mms else "sms",
            "MmsMedia": body.get("MmsMedia") or [],
            "MmsBase64": body.get("MmsBase64") or [],
        }
        with self.lock:
            self._messages[message_id] = {
                "message_id": message_id,
                "status": "Queued",
                "request": copy.deepcopy(body),
                "response": copy.deepcopy(response),
                "created_on": created_on,
                "received_at": time.time(),
                "returned_status": None,
            }
            record["message_id"] = message_id
        self.routes.on_accepted(message_id, body["To"][0]["Number"], body["From"])
        return _json_reply(200, response)

    def _route_call(self, request: _Request, endpoint: str) -> _Reply:
        """The message route endpoints (infra.local.sandbox_routes), token-scoped like the others."""
        allowed = ROUTE_METHODS[endpoint]
        if request.method not in allowed:
            return _error(405, headers={"Allow": ", ".join(sorted(allowed))})
        if (denied := self._authorize(request)) is not None:
            return denied
        body = None
        if request.method == "POST":
            body, problem = self._parse_json(request)
            if body is None:
                return problem or _error(400)
        try:
            return _json_reply(200, self.routes.vendor_call(endpoint, request.method, request.query, body))
        except RouteError as error:
            return _error(error.status, error.message)

    def _message_details(self, request: _Request) -> _Reply:
        if (denied := self._authorize(request)) is not None:
            return denied
        params = urllib.parse.parse_qs(request.query, keep_blank_values=True)
        ids = [value for name, values in params.items() if name.lower() == "messageid" for value in values]
        if not ids or not ids[0]:
            return _error(400, "Bad request: the MessageId query parameter is required.")
        with self.lock:
            message = copy.deepcopy(self._messages.get(ids[0]))
        if message is None:
            return _error(404, f"Not found: message with ID '{ids[0]}' was not found.")
        return _json_reply(200, _details_view(message))


def _search_view(message: Mapping[str, Any]) -> dict[str, Any]:
    """One search result in the documented shape: MessageID/CampaignID spellings, Cost as "$0.0045"."""
    sent = message["response"]
    return {
        "MessageID": sent["MessageId"],
        "Direction": "Outbound",
        "Type": sent["Type"],
        "CampaignID": sent["CampaignId"],
        "Cost": f"${sent['Cost']}",
        "Status": message["status"],
        "To": sent["To"],
        "From": sent["From"],
        "Owner": sent["Owner"],
        "Body": sent["Body"],
        "MmsMedia": sent["MmsMedia"],
        "MmsBase64": sent["MmsBase64"],
        "CreatedOn": sent["CreatedOn"],
    }


def _details_view(message: Mapping[str, Any]) -> dict[str, Any]:
    """The details shape from telegent-api.md §4 (note: `To` is a string there)."""
    sent = message["response"]
    numbers = [item["Number"] for item in sent["To"]]
    view = {
        "MessageId": sent["MessageId"],
        "Direction": "OUTBOUND",
        "Type": sent["Type"],
        "CampaignId": sent["CampaignId"],
        "Cost": sent["Cost"],
        "To": ",".join(numbers),
        "From": sent["From"],
        "Body": sent["Body"],
        "Region": "United States" if all(n.startswith("+1") for n in numbers) else None,
        "CreatedOn": sent["CreatedOn"],
        "MessageType": sent["MessageType"],
        "Status": message["status"],
    }
    if sent["MessageType"] == "mms":
        view["MmsMedia"] = sent["MmsMedia"]
    return view


# --------------------------------------------------------------------------- control API routing


def _handle_control(state: _SandboxState, method: str, name: str, query: str, raw: bytes) -> _Reply:
    """The /_sandbox/ endpoints: never recorded, delayed or rate-limited."""
    routes: dict[str, set[str]] = {
        "health": {"GET"},
        "requests": {"GET"},
        "messages": {"GET"},
        "faults": {"GET", "POST"},
        "config": {"GET", "POST"},
        "reset": {"POST"},
        "expire-tokens": {"POST"},
        "status": {"POST"},
        **ROUTE_CONTROL,
    }
    if name not in routes:
        return _json_reply(404, {"error": f"unknown control endpoint {name!r}"})
    if method not in routes[name]:
        return _json_reply(405, {"error": f"{name} accepts {sorted(routes[name])}"})
    try:
        payload = json.loads(raw) if raw.strip() else None
    except ValueError:
        return _json_reply(400, {"error": "body is not valid JSON"})
    try:
        result = _run_control(state, method, name, query, payload)
    except KeyError as exc:
        return _json_reply(404, {"error": str(exc.args[0]) if exc.args else "not found"})
    except (ValueError, TypeError) as exc:
        return _json_reply(400, {"error": str(exc)})
    return _json_reply(200, result)


def _run_control(state: _SandboxState, method: str, name: str, query: str, payload: Any) -> Any:
    if name in ROUTE_CONTROL:
        return state.routes.control(method, name, query, payload)
    if name == "health":
        return state.health()
    if name == "requests":
        path = urllib.parse.parse_qs(query).get("path", [None])[0]
        return state.requests(path)
    if name == "messages":
        return state.sent_messages()
    if name == "faults" and method == "GET":
        return state.pending_faults()
    if name == "faults":
        if not isinstance(payload, dict | list):
            raise ValueError("send a fault object or a list of them")
        state.add_faults([payload] if isinstance(payload, dict) else payload)
        return state.pending_faults()
    if name == "config":
        if method == "GET":
            return state.config()
        if not isinstance(payload, dict):
            raise ValueError("send a JSON object of config changes")
        return state.configure(payload)
    if name == "reset":
        state.reset()
    elif name == "expire-tokens":
        state.expire_tokens()
    elif name == "status":
        if not isinstance(payload, dict) or not isinstance(payload.get("MessageId"), str):
            raise ValueError('send {"MessageId": ..., "Status": ...}')
        return state.set_message_status(payload["MessageId"], payload.get("Status", ""))
    return {"ok": True}


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that can cut open keep-alive connections when it stops."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: _SandboxState, *, verbose: bool) -> None:
        self.state = state
        self.verbose = verbose
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads the request, hands it to the state, writes the reply; nothing else."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the pooled client in the Lambda
    server_version = "TelegentSandbox/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus the client's delayed
        # ACK adds ~40 ms to every response.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._write(_error(400, "Bad request: unreadable body framing."), path)
            return
        state = self.server.state
        if path.startswith(CONTROL_PREFIX):
            reply = _handle_control(state, self.command, path[len(CONTROL_PREFIX) :], parts.query, body)
        else:
            host = self.headers.get("Host") or urllib.parse.urlsplit(state.root_url).netloc
            request = _Request(
                method=self.command,
                path=path,
                query=parts.query,
                headers=list(self.headers.items()),
                body=body,
                called_url=f"http://{host}{path}",
            )
            reply = state.handle_vendor(request)
        self._write(reply, path)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(65537).split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, reply: _Reply, path: str) -> None:
        if reply.drop:
            self.close_connection = True
            self._log_line(path, "dropped")
            return
        if reply.trickle_ms is not None:
            self._trickle(reply, path)
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout fired)

    def _trickle(self, reply: _Reply, path: str) -> None:
        """The whole answer, a few bytes at a time (trickle fault); stops when the client gives up."""
        self.close_connection = True
        head = [f"HTTP/1.1 {reply.status} {STATUS_MESSAGES.get(reply.status, '')}".rstrip()]
        head += [f"Content-Type: {reply.content_type}", f"Content-Length: {len(reply.body)}", "Connection: close"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + reply.body
        step, pause = reply.trickle_bytes, (reply.trickle_ms or 0) / 1000
        try:
            for offset in range(0, len(raw), step):
                if offset and self.server.state.stopping.wait(pause):
                    return
                self.wfile.write(raw[offset : offset + step])
        except OSError:
            return  # the client cut the call off (its deadline)
        self._log_line(path, f"{reply.status} trickled")

    def _log_line(self, path: str, outcome: str) -> None:
        if self.server.verbose:
            print(f"{self.command} {path} {outcome}", file=sys.stderr, flush=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Method, path and status only: bodies and tokens must never reach a log."""
        self._log_line(urllib.parse.urlsplit(self.path).path, str(int(code) if _is_int(code) else code))

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"telegent sandbox: {format % args}\n")


# --------------------------------------------------------------------------- public API


class _SandboxApi(ABC):
    """The calls tests make, identical for an in-process sandbox and a remote one."""

    @property
    @abstractmethod
    def base_url(self) -> str:
        """Vendor base URL to configure the client with, e.g. http://127.0.0.1:PORT/v1.0."""

    @abstractmethod
    def health(self) -> dict[str, Any]: ...

    @abstractmethod
    def requests(self, path: str | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def sent_messages(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def add_faults(self, faults: Iterable[Mapping[str, Any] | Fault]) -> None: ...

    @abstractmethod
    def pending_faults(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def configure(self, **changes: Any) -> dict[str, Any]: ...

    @abstractmethod
    def config(self) -> dict[str, Any]: ...

    @abstractmethod
    def expire_tokens(self) -> None: ...

    @abstractmethod
    def set_message_status(self, message_id: str, status: str) -> dict[str, Any]: ...

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def _routes_control(self, method: str, name: str, payload: Any = None, query: str = "") -> Any:
        """/_sandbox/routes|receipts|callbacks|inbound (infra.local.sandbox_routes.Routes.control)."""

    def set_route(self, **fields: Any) -> dict[str, Any]:
        """Create a message route (vendor field names), or update the one named by MessageRouteId."""
        return self._routes_control("POST", "routes", fields)

    def routes(self) -> list[dict[str, Any]]:
        return self._routes_control("GET", "routes")

    def configure_receipts(self, **changes: Any) -> dict[str, Any]:
        """Receipt delay, shape and faults (see ReceiptSettings); back to defaults on reset()."""
        return self._routes_control("POST", "receipts", changes)

    def receipt_settings(self) -> dict[str, Any]:
        return self._routes_control("GET", "receipts")

    def callbacks(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every receipt/inbound call attempt made (kind "receipt" or "inbound"), and receipts skipped."""
        return self._routes_control("GET", "callbacks", query=urllib.parse.urlencode({"kind": kind} if kind else {}))

    def receive_inbound(self, sender: str, to: str, body: str, media_url: str | None = None) -> dict[str, Any]:
        """A handset texts `to`: the route's MessageUrl is called (like the vendor would) before this returns."""
        payload = {"From": sender, "To": to, "Body": body, **({"MediaUrl": media_url} if media_url else {})}
        return self._routes_control("POST", "inbound", payload)

    def wait_for_callbacks(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 10.0,
        kind: str | None = "receipt",
    ) -> list[dict[str, Any]]:
        """Poll callbacks(kind) until predicate(entries) holds; TimeoutError otherwise."""
        return wait_for(lambda: self.callbacks(kind), predicate, timeout)

    def add_fault(self, path: str = "outbound", status: int | None = None, **options: Any) -> None:
        """Queue one fault, e.g. add_fault("outbound", 429, retry_after=2, count=3)."""
        self.add_faults([{"path": path, "status": status, **options}])

    def token_requests(self) -> list[dict[str, Any]]:
        return self.requests("tokens")

    def set_token_ttl(self, seconds: float) -> None:
        self.configure(token_ttl=seconds)

    def set_latency_ms(self, milliseconds: float) -> None:
        self.configure(latency_ms=milliseconds)

    def set_rate_limit(self, per_minute: int | None) -> None:
        self.configure(rate_limit_per_minute=per_minute)

    def set_search_index_delay(self, seconds: float) -> None:
        """Messages become searchable this long after they were accepted."""
        self.configure(search_index_delay=seconds)

    def set_accept_then_fail_rate(self, rate: float, seed: int | None = None) -> None:
        """This share of successful sends is stored as sent, then its answer is lost (dropped or 5xx)."""
        self.configure(accept_then_fail_rate=rate, random_seed=seed)

    def search_requests(self) -> list[dict[str, Any]]:
        return self.requests("search")

    def endpoint_url(self, endpoint: str) -> str:
        """Full URL of "tokens", "outbound" or "details": what a token's ApiEndpoint must be."""
        return self.base_url + ENDPOINT_PATHS[endpoint][len(API_PREFIX) :]


class TelegentSandbox(_SandboxApi):
    """The sandbox served from a daemon thread of this process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_key: str = DEFAULT_ACCOUNT_KEY,
        account_secret: str = DEFAULT_ACCOUNT_SECRET,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        latency_ms: float = 0.0,
        rate_limit_per_minute: int | None = None,
        verbose: bool = False,
    ) -> None:
        self._host = host
        self._port = port
        self._verbose = verbose
        self._state = _SandboxState(
            account_key=account_key,
            account_secret=account_secret,
            token_ttl=token_ttl,
            latency_ms=latency_ms,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def issued_tokens(self) -> list[str]:
        """Every bearer token this sandbox has issued (in-process only)."""
        with self._state.lock:
            return list(self._state.issued_tokens)

    def start(self) -> TelegentSandbox:
        """Bind (port 0 = any free port) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("sandbox already started")
        self._state.stopping.clear()
        server = _Server((self._host, self._port), self._state, verbose=self._verbose)
        url_host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        self._state.root_url = f"http://{url_host}:{server.server_address[1]}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="telegent-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes delayed handlers and cuts keep-alive connections."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._state.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        self._state.routes.close()  # pending receipts are dropped, a call in progress ends
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> TelegentSandbox:
        return self if self._server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """http://host:port (the control API lives under /_sandbox/)."""
        if not self._state.root_url or self._server is None:
            raise RuntimeError("sandbox is not running")
        return self._state.root_url

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    @property
    def port(self) -> int:
        return int(urllib.parse.urlsplit(self.root_url).port or 0)

    def health(self) -> dict[str, Any]:
        return self._state.health()

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        return self._state.requests(path)

    def sent_messages(self) -> list[dict[str, Any]]:
        return self._state.sent_messages()

    def add_faults(self, faults: Iterable[Mapping[str, Any] | Fault]) -> None:
        self._state.add_faults(faults)

    def pending_faults(self) -> list[dict[str, Any]]:
        return self._state.pending_faults()

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._state.configure(changes)

    def config(self) -> dict[str, Any]:
        return self._state.config()

    def expire_tokens(self) -> None:
        self._state.expire_tokens()

    def set_message_status(self, message_id: str, status: str) -> dict[str, Any]:
        return self._state.set_message_status(message_id, status)

    def reset(self) -> None:
        self._state.reset()

    def _routes_control(self, method: str, name: str, payload: Any = None, query: str = "") -> Any:
        return self._state.routes.control(method, name, query, payload)


class SandboxControl(_SandboxApi):
    """Drives a sandbox in another process through /_sandbox/ (stdlib urllib only).

    Raises ValueError for rejected input and KeyError for unknown messages, like the in-process
    sandbox does, so tests do not care which one they hold.
    """

    def __init__(self, root_url: str, timeout: float = 10.0) -> None:
        root = root_url.rstrip("/")
        if root.lower().endswith(API_PREFIX):
            root = root[: -len(API_PREFIX)]
        if urllib.parse.urlsplit(root).scheme not in ("http", "https"):
            raise ValueError(f"root_url must be an http(s) URL, got {root_url!r}")
        self.root_url = root
        self.timeout = timeout
        # No proxies: the sandbox is local and an HTTP(S)_PROXY from the environment would break it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    def _call(self, method: str, name: str, payload: Any = None, query: Mapping[str, str] | None = None) -> Any:
        url = f"{self.root_url}{CONTROL_PREFIX}{name}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(payload).encode() if payload is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail)["error"]
            if exc.code == 400:
                raise ValueError(detail) from None
            if exc.code == 404:
                raise KeyError(detail) from None
            raise RuntimeError(f"sandbox control {name} failed: HTTP {exc.code} {detail}") from None
        return json.loads(raw) if raw else None

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "requests", query={"path": path} if path else None)

    def sent_messages(self) -> list[dict[str, Any]]:
        return self._call("GET", "messages")

    def add_faults(self, faults: Iterable[Mapping[str, Any] | Fault]) -> None:
        self._call("POST", "faults", [asdict(f) if isinstance(f, Fault) else dict(f) for f in faults])

    def pending_faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "config", changes)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "config")

    def expire_tokens(self) -> None:
        self._call("POST", "expire-tokens")

    def set_message_status(self, message_id: str, status: str) -> dict[str, Any]:
        return self._call("POST", "status", {"MessageId": message_id, "Status": status})

    def reset(self) -> None:
        self._call("POST", "reset")

    def _routes_control(self, method: str, name: str, payload: Any = None, query: str = "") -> Any:
        return self._call(method, name, payload, dict(urllib.parse.parse_qsl(query)) if query else None)


@contextlib.contextmanager
def sandbox_process(
    host: str = LOOPBACK,
    *,
    args: Sequence[str] = (),
    control_timeout: float = 10.0,
    startup_timeout: float = 15.0,
) -> Iterator[SandboxControl]:
    """The sandbox in a child process (`python -m infra.local.sandbox`), driven through a SandboxControl.

    A process of its own never competes with the caller for the GIL (the bench times the handler
    against it). `args` are extra command-line options (e.g. ["--token-ttl", "30"]). The child is
    stopped (SIGTERM, then SIGKILL) when the block ends.
    """
    port = free_port(host)
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.sandbox", "--host", host, "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        control = SandboxControl(f"http://{host}:{port}", timeout=control_timeout)
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                control.health()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the Telegent sandbox did not start") from None
                time.sleep(0.1)
        yield control
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; the one printed line tells the caller where."""
    parser = argparse.ArgumentParser(
        prog="telegent-sandbox",
        description="Local Telegent mPaaS API sandbox (faults and inspection: /_sandbox/, see docs/sandbox.md).",
    )
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL, help="token lifetime, seconds")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every vendor request")
    parser.add_argument("--rate-limit-per-minute", type=int, default=None, help="off when omitted")
    parser.add_argument("--account-key", default=DEFAULT_ACCOUNT_KEY)
    parser.add_argument("--account-secret", default=DEFAULT_ACCOUNT_SECRET)
    parser.add_argument("--verbose", action="store_true", help="log method, path and status")
    args = parser.parse_args(argv)
    try:
        sandbox = TelegentSandbox(
            args.host,
            args.port,
            account_key=args.account_key,
            account_secret=args.account_secret,
            token_ttl=args.token_ttl,
            latency_ms=args.latency_ms,
            rate_limit_per_minute=args.rate_limit_per_minute,
            verbose=args.verbose,
        ).start()
    except (OSError, ValueError) as exc:
        print(f"telegent sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"telegent sandbox listening on {sandbox.base_url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
