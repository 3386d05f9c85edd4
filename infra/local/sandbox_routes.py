"""Message routes, delivery receipts and inbound messages of the Telegent sandbox (telegent-api.md section 5).

The vendor half lives in `infra.local.sandbox` (it authorises the call, parses JSON, wraps errors);
this module holds the behaviour, so the two grow apart without stepping on each other:

- Routes: `POST /v1.0/message/routes` (create), `GET /v1.0/message/routes?MessageRouteId=`,
  `POST /v1.0/message/routes/update` (MessageRouteId plus the fields to change),
  `POST /v1.0/message/routes/delete`, `GET /v1.0/account/message/routes` (all of them). Field
  names are the vendor's (`CallbackMessageUrl`, `CallbackMessageAuthenticationType`
  `None|Basic|Bearer`, `CallbackMessageUsername`, `CallbackMessagePasswordToken`, and the same
  for the inbound `Message*` side). Passwords and tokens are never echoed in an answer.
- Progress: while the account has an enabled route, every accepted send reaches its final
  status `delay` seconds later (`GET /message/details` shows it) and a delivery receipt goes to the
  route's `CallbackMessageUrl` with the route's credential. Without a route nothing happens (the
  message stays `Queued`, as before routes existed; `set_message_status` moves it by hand).
- Magic recipient numbers choose the outcome (`MAGIC_NUMBERS`); everything else is `Delivered`.
- Receipt faults (`ReceiptSettings`, control API `/_sandbox/receipts`): duplicates, a stale
  `Sent` receipt after the final one, an unknown status string, lost receipts, and the payload
  shape (`RECEIPT_SHAPES`).
- Inbound: `receive_inbound` plays a handset texting one of our numbers: the route's
  `MessageUrl` is called with the vendor's snake_case fields (`Message_ID`, `Message_Body`, ...).

Callbacks run on one background thread (`close()` stops it; the sandbox's `stop()` calls it).
Every attempt is recorded (`callbacks()`), credentials excluded. See docs/sandbox.md.
"""

from __future__ import annotations

import base64
import copy
import functools
import heapq
import itertools
import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

API_PREFIX = "/v1.0"

# Lower-cased path -> (endpoint name, method). `/message/routes` also answers GET (one route).
ROUTE_ENDPOINTS: dict[str, tuple[str, str]] = {
    f"{API_PREFIX}/message/routes": ("routes", "POST"),
    f"{API_PREFIX}/message/routes/update": ("routes_update", "POST"),
    f"{API_PREFIX}/message/routes/delete": ("routes_delete", "POST"),
    f"{API_PREFIX}/account/message/routes": ("account_routes", "GET"),
}
ROUTE_METHODS: dict[str, frozenset[str]] = {
    "routes": frozenset({"GET", "POST"}),
    "routes_update": frozenset({"POST"}),
    "routes_delete": frozenset({"POST"}),
    "account_routes": frozenset({"GET"}),
}
ROUTE_ENDPOINT_NAMES = frozenset(ROUTE_METHODS)

# Control API (/_sandbox/<name>) -> allowed methods.
ROUTE_CONTROL: dict[str, set[str]] = {
    "routes": {"GET", "POST"},
    "receipts": {"GET", "POST"},
    "callbacks": {"GET"},
    "inbound": {"POST"},
}

# Recipient numbers whose fate is fixed (everything else: Delivered). Fictional 500-555 numbers.
MAGIC_FAILED = "+15005550001"  # final status Failed, receipt sent
MAGIC_UNDELIVERED = "+15005550002"  # final status Undelivered, receipt sent
MAGIC_NO_RECEIPT = "+15005550003"  # Delivered in details, but no receipt ever comes (receipt lost)
MAGIC_NEVER_FINAL = "+15005550004"  # stays Queued for good: no final status, no receipt


@dataclass(frozen=True)
class Outcome:
    status: str | None  # the final vendor status; None = never final
    receipt: bool  # whether a receipt is sent for it
    error_code: str | None = None


DEFAULT_OUTCOME = Outcome("Delivered", receipt=True)
MAGIC_NUMBERS: dict[str, Outcome] = {
    MAGIC_FAILED: Outcome("Failed", receipt=True, error_code="SANDBOX_CARRIER_FAILED"),
    MAGIC_UNDELIVERED: Outcome("Undelivered", receipt=True, error_code="SANDBOX_UNREACHABLE"),
    MAGIC_NO_RECEIPT: Outcome("Delivered", receipt=False),
    MAGIC_NEVER_FINAL: Outcome(None, receipt=False),
}

# Receipt payload shapes (the real one is undocumented): how the fields are named and carried.
RECEIPT_SHAPES = (
    "pascal_json",  # POST application/json {"MessageId", "Status", "Direction", "Timestamp", "ErrorCode"}
    "snake_json",  # POST application/json {"Message_ID", "Owner", "To", "From", "Status", "Direction", "Date_Time"}
    "form",  # POST application/x-www-form-urlencoded MessageID=&DeliveryStatus=&DoneDate=<epoch ms>&ErrorCode=
    "query",  # GET ?messageId=&status=&timestamp=&errorCode=
    "wrapped_json",  # POST application/json {"Event": "Message_Status", "Data": {pascal_json fields}}
    "json_list",  # POST application/json [{pascal_json fields}]
    "unrecognised",  # POST application/json {"Notification": {"Ref", "Code"}}: no field the tracker knows
    "rotate",  # each receipt in the next of the first six shapes
)
_ROTATION = RECEIPT_SHAPES[:6]
AUTH_TYPES = ("None", "Basic", "Bearer")
URL_METHODS = ("GET", "POST")
RETRYABLE_STATUSES = frozenset({408, 429})  # plus every 5xx and every connection failure

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_STRING_FIELDS = (
    "RouteName",
    "MessageUrl",
    "MessageUrlMethod",
    "MessageAuthenticationType",
    "MessageUsername",
    "MessagePasswordToken",
    "CallbackMessageUrl",
    "CallbackMessageUrlMethod",
    "CallbackMessageAuthenticationType",
    "CallbackMessageUsername",
    "CallbackMessagePasswordToken",
    "AccountId",
)
_BOOL_FIELDS = ("MessageRouteEnabled", "InboundBypass", "OutboundBypass", "IntelligentRouteEnabled")
ROUTE_FIELDS = frozenset(_STRING_FIELDS + _BOOL_FIELDS)
_SECRET_FIELDS = frozenset({"MessagePasswordToken", "CallbackMessagePasswordToken"})
_ROUTE_DEFAULTS: dict[str, Any] = {
    "MessageRouteEnabled": True,
    "MessageAuthenticationType": "None",
    "MessageUsername": None,
    "MessagePasswordToken": None,
    "CallbackMessageUrl": None,
    "CallbackMessageUrlMethod": "POST",
    "CallbackMessageAuthenticationType": "None",
    "CallbackMessageUsername": None,
    "CallbackMessagePasswordToken": None,
    "InboundBypass": False,
    "OutboundBypass": False,
    "IntelligentRouteEnabled": False,
    "AccountId": None,
}


class RouteError(Exception):
    """A vendor call the sandbox refuses: `status` and a message for the vendor's error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- receipt settings


@dataclass
class ReceiptSettings:
    """How progress and receipts behave (control API /_sandbox/receipts; back to defaults on reset)."""

    delay: float = 1.0  # seconds from acceptance to the final status (details and receipt)
    shape: str = "pascal_json"
    duplicates: int = 0  # extra copies of every receipt
    reorder: bool = False  # after the final receipt, a stale "Sent" receipt (an earlier status, late)
    unknown_status: str | None = None  # replaces the final status string (receipt and details)
    drop: bool = False  # receipts lost: details still progress, no callback is made
    max_attempts: int = 3  # per callback; retried on connection errors, 408, 429 and 5xx
    retry_seconds: float = 1.0
    timeout: float = 5.0  # per callback call

    def changed(self, changes: Mapping[str, Any]) -> ReceiptSettings:
        """A validated copy with `changes` applied (all or nothing)."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f"unknown receipt settings: {', '.join(unknown)}")
        new = ReceiptSettings(**{**asdict(self), **changes})
        new.validate()
        return new

    def validate(self) -> None:
        for name in ("delay", "retry_seconds"):
            if not _is_number(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0")
        if not _is_number(self.timeout) or self.timeout <= 0:
            raise ValueError("timeout must be a number of seconds > 0")
        if self.shape not in RECEIPT_SHAPES:
            raise ValueError(f"shape must be one of {list(RECEIPT_SHAPES)}, got {self.shape!r}")
        if not _is_int(self.duplicates) or not 0 <= self.duplicates <= 10:
            raise ValueError("duplicates must be an integer from 0 to 10")
        if not _is_int(self.max_attempts) or not 1 <= self.max_attempts <= 10:
            raise ValueError("max_attempts must be an integer from 1 to 10")
        for name in ("reorder", "drop"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a boolean")
        if self.unknown_status is not None and (
            not isinstance(self.unknown_status, str) or not self.unknown_status.strip()
        ):
            raise ValueError("unknown_status must be a non-empty string or null")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        return False
    parts = urllib.parse.urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


# --------------------------------------------------------------------------- routes


def validate_route(route: Mapping[str, Any]) -> list[str]:
    """Every problem with a complete route (defaults applied), in the vendor's words where it has them."""
    errors: list[str] = []
    if not isinstance(route.get("RouteName"), str) or not route["RouteName"].strip():
        errors.append("The RouteName field is required.")
    if route.get("MessageUrl") in (None, ""):
        errors.append("The MessageUrl field is required.")
    elif not _is_http_url(route["MessageUrl"]):
        errors.append("The MessageUrl field is not a valid fully-qualified http or https URL.")
    if route.get("CallbackMessageUrl") not in (None, "") and not _is_http_url(route["CallbackMessageUrl"]):
        errors.append("The CallbackMessageUrl field is not a valid fully-qualified http or https URL.")
    for name in ("MessageUrlMethod", "CallbackMessageUrlMethod"):
        if route.get(name) not in URL_METHODS:
            errors.append(f"The {name} field must be GET or POST.")
    for side in ("Message", "CallbackMessage"):
        kind = route.get(f"{side}AuthenticationType")
        if kind not in AUTH_TYPES:
            errors.append(f"The {side}AuthenticationType field must be None, Basic or Bearer.")
            continue
        password = route.get(f"{side}PasswordToken")
        if kind == "Basic" and not (route.get(f"{side}Username") and password):
            errors.append(f"Basic authentication needs {side}Username and {side}PasswordToken.")
        if kind == "Bearer" and not password:
            errors.append(f"Bearer authentication needs {side}PasswordToken (the token).")
    for name in _STRING_FIELDS:
        if route.get(name) is not None and not isinstance(route[name], str):
            errors.append(f"The {name} field must be a string.")
    for name in _BOOL_FIELDS:
        if not isinstance(route.get(name), bool):
            errors.append(f"The {name} field must be true or false.")
    return errors


def _normalised(fields_: Mapping[str, Any]) -> dict[str, Any]:
    """Methods upper-cased and auth types in the vendor's casing, so `post`/`basic` are accepted."""
    out = dict(fields_)
    for name in ("MessageUrlMethod", "CallbackMessageUrlMethod"):
        if isinstance(out.get(name), str):
            out[name] = out[name].strip().upper()
    for name in ("MessageAuthenticationType", "CallbackMessageAuthenticationType"):
        value = out.get(name)
        if isinstance(value, str):
            out[name] = next((kind for kind in AUTH_TYPES if kind.lower() == value.strip().lower()), value)
        elif value is None and name in out:
            out[name] = "None"
    if out.get("CallbackMessageUrl") == "":
        out["CallbackMessageUrl"] = None
    return out


def route_view(route: Mapping[str, Any]) -> dict[str, Any]:
    """A route as the vendor answers it: every field except passwords and tokens."""
    return {name: value for name, value in route.items() if name not in _SECRET_FIELDS and not name.startswith("_")}


def authorization_header(route: Mapping[str, Any], side: str) -> str | None:
    """The Authorization header the vendor sends on `side` ("Message" or "CallbackMessage") calls."""
    kind = route.get(f"{side}AuthenticationType")
    secret = route.get(f"{side}PasswordToken") or ""
    if kind == "Basic":
        pair = f"{route.get(f'{side}Username') or ''}:{secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    if kind == "Bearer":
        return f"Bearer {secret}"
    return None


# --------------------------------------------------------------------------- receipt payloads


@dataclass(frozen=True)
class ReceiptFacts:
    message_id: str
    status: str
    at: datetime
    error_code: str | None
    to: str
    sender: str


@dataclass(frozen=True)
class Call:
    """One HTTP call to a customer webhook, before the route's method and credential are applied."""

    fields: dict[str, Any]  # flat fields (a GET route sends these as the query)
    body: Any  # the JSON value or form fields a POST carries
    encoding: str  # "json" | "form" | "query"


def receipt_call(facts: ReceiptFacts, shape: str) -> Call:
    """The receipt in one of RECEIPT_SHAPES (not "rotate": the caller picks the shape)."""
    stamp = facts.at.isoformat()
    pascal: dict[str, Any] = {
        "MessageId": facts.message_id,
        "Status": facts.status,
        "Direction": "Outbound",
        "Timestamp": stamp,
    }
    if facts.error_code:
        pascal["ErrorCode"] = facts.error_code
    if shape == "pascal_json":
        return Call(pascal, pascal, "json")
    if shape == "snake_json":
        snake: dict[str, Any] = {
            "Message_ID": facts.message_id,
            "Owner": facts.sender,
            "To": facts.to,
            "From": facts.sender,
            "Status": facts.status,
            "Direction": "Outbound",
            "Date_Time": stamp,
        }
        if facts.error_code:
            snake["Error_Code"] = facts.error_code
        return Call(snake, snake, "json")
    if shape == "form":
        form = {
            "MessageID": facts.message_id,
            "DeliveryStatus": facts.status,
            "DoneDate": str(int(facts.at.timestamp() * 1000)),
        }
        if facts.error_code:
            form["ErrorCode"] = facts.error_code
        return Call(form, form, "form")
    if shape == "query":
        query = {"messageId": facts.message_id, "status": facts.status, "timestamp": stamp.replace("+00:00", "Z")}
        if facts.error_code:
            query["errorCode"] = facts.error_code
        return Call(query, None, "query")
    if shape == "wrapped_json":
        return Call(pascal, {"Event": "Message_Status", "Data": pascal}, "json")
    if shape == "json_list":
        return Call(pascal, [pascal], "json")
    if shape == "unrecognised":
        opaque = {"Notification": {"Ref": facts.message_id, "Code": facts.status}}
        return Call({"Ref": facts.message_id, "Code": facts.status}, opaque, "json")
    raise ValueError(f"no receipt shape {shape!r}")


def inbound_call(message_id: str, sender: str, to: str, body: str, media_url: str | None, at: datetime) -> Call:
    """An inbound message as telegent-api.md section 5 names its fields (snake_case, Direction Inbound)."""
    payload: dict[str, Any] = {
        "Message_ID": message_id,
        "Owner": to,
        "To": to,
        "From": sender,
        "Message_Body": body,
        "Segment": str(_segments(body)),
        "Direction": "Inbound",
        "Received_On": at.isoformat(),
    }
    if media_url:
        payload["MMS_Media_URL"] = media_url
    return Call(payload, payload, "json")


def _segments(body: str) -> int:
    """Good enough for a sandbox: GSM-7 lengths (160 / 153 per part) or UCS-2 (70 / 67)."""
    single, part = (160, 153) if all(ord(ch) < 128 for ch in body) else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / part)


@dataclass
class _Wire:
    method: str
    url: str
    content_type: str | None
    data: bytes | None


def _on_the_wire(call: Call, url: str, route_method: str) -> _Wire:
    """A GET route carries every shape as query parameters; a POST route the shape's own body."""
    if call.encoding == "query" or route_method == "GET":
        flat = {name: "" if value is None else str(value) for name, value in call.fields.items()}
        separator = "&" if urllib.parse.urlsplit(url).query else ("" if url.endswith("?") else "?")
        return _Wire("GET", f"{url}{separator}{urllib.parse.urlencode(flat)}", None, None)
    if call.encoding == "form":
        return _Wire("POST", url, "application/x-www-form-urlencoded", urllib.parse.urlencode(call.body).encode())
    return _Wire("POST", url, "application/json", json.dumps(call.body).encode())


# --------------------------------------------------------------------------- scheduler


class _Scheduler:
    """Jobs due at a monotonic time, run one at a time on a daemon thread started on demand."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closing = False

    def at(self, due: float, job: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), job))
            if self._thread is None or not self._thread.is_alive():
                self._closing = False
                self._thread = threading.Thread(target=self._run, name="telegent-sandbox-callbacks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def close(self, timeout: float) -> None:
        """Drop what is pending and wait (bounded) for the job in progress."""
        with self._cond:
            self._closing = True
            self._heap.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            if self._thread is thread:
                self._thread = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._closing:
                    return
                _due, _seq, job = heapq.heappop(self._heap)
            job()


# --------------------------------------------------------------------------- the route book


class Routes:
    """Routes, progress of accepted messages, receipts and inbound calls; thread-safe.

    `set_status(message_id, status)` changes what `GET /message/details` shows (KeyError when the
    message is gone, e.g. after a reset). `stopping` is the sandbox's stop event: waits end early.
    """

    def __init__(self, set_status: Callable[[str, str], Any], stopping: threading.Event) -> None:
        self._set_status = set_status
        self._stopping = stopping
        self._lock = threading.Lock()
        self._routes: dict[str, dict[str, Any]] = {}
        self._settings = ReceiptSettings()
        self._log: list[dict[str, Any]] = []
        self._log_seq = itertools.count(1)
        self._rotation = itertools.count()
        self._generation = 0  # bumped by reset: jobs of an older generation do nothing
        self._scheduler = _Scheduler()
        # No proxies: callbacks go to local servers, an HTTP(S)_PROXY from the environment would break them.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ---- vendor endpoints (already authorised by the sandbox; `body` is the parsed JSON object)

    def vendor_call(self, endpoint: str, method: str, query: str, body: Mapping[str, Any] | None) -> Any:
        """The answer of one route endpoint, or RouteError."""
        if endpoint == "routes" and method == "GET":
            return self.get_route(_query_value(query, "MessageRouteId"))
        if endpoint == "routes":
            return self.create_route(body or {})
        if endpoint == "routes_update":
            return self.update_route(body or {})
        if endpoint == "routes_delete":
            route_id = (body or {}).get("MessageRouteId")
            self.delete_route(route_id if isinstance(route_id, str) else None)
            return {"MessageRouteId": route_id, "successful": True}
        return self.list_routes()

    def create_route(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._unknown_fields(body, allowed=ROUTE_FIELDS)
        route = {**_ROUTE_DEFAULTS, **_normalised(body)}
        if errors := validate_route(route):
            raise RouteError(400, "Bad request: " + " ".join(errors))
        route_id = f"MRID-{uuid.uuid4()}"
        with self._lock:
            self._routes[route_id] = {"MessageRouteId": route_id, **route, "_created": time.monotonic()}
            return route_view(self._routes[route_id])

    def update_route(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._unknown_fields(body, allowed=ROUTE_FIELDS | {"MessageRouteId"})
        route_id = body.get("MessageRouteId")
        if not isinstance(route_id, str) or not route_id:
            raise RouteError(400, "Bad request: The MessageRouteId field is required.")
        changes = _normalised({k: v for k, v in body.items() if k != "MessageRouteId"})
        with self._lock:
            current = self._routes.get(route_id)
            if current is None:
                raise RouteError(404, f"Not found: message route '{route_id}' was not found.")
            updated = {**current, **changes}
            if errors := validate_route(updated):
                raise RouteError(400, "Bad request: " + " ".join(errors))
            self._routes[route_id] = updated
            return route_view(updated)

    def get_route(self, route_id: str | None) -> dict[str, Any]:
        if not route_id:
            raise RouteError(400, "Bad request: the MessageRouteId query parameter is required.")
        with self._lock:
            route = self._routes.get(route_id)
            if route is None:
                raise RouteError(404, f"Not found: message route '{route_id}' was not found.")
            return route_view(route)

    def delete_route(self, route_id: str | None) -> None:
        if not route_id:
            raise RouteError(400, "Bad request: The MessageRouteId field is required.")
        with self._lock:
            if self._routes.pop(route_id, None) is None:
                raise RouteError(404, f"Not found: message route '{route_id}' was not found.")

    def list_routes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [route_view(route) for route in self._ordered()]

    @staticmethod
    def _unknown_fields(body: Mapping[str, Any], *, allowed: frozenset[str]) -> None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise RouteError(400, "Bad request: " + " ".join(f"unknown field '{name}'." for name in unknown))

    def _ordered(self) -> list[dict[str, Any]]:
        """Caller holds the lock. Oldest first."""
        return sorted(self._routes.values(), key=lambda route: route["_created"])

    def _account_route(self) -> dict[str, Any] | None:
        """The route every number uses (the sandbox has no number provisioning): the oldest enabled one."""
        with self._lock:
            enabled = [route for route in self._ordered() if route["MessageRouteEnabled"]]
            return copy.deepcopy(enabled[0]) if enabled else None

    # ---- control operations

    def control(self, method: str, name: str, query: str, payload: Any) -> Any:
        """/_sandbox/routes|receipts|callbacks|inbound; ValueError -> 400, KeyError -> 404."""
        if name == "routes" and method == "GET":
            return self.list_routes()
        if name == "routes":
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object of route fields (with MessageRouteId to update one)")
            return self.set_route(payload)
        if name == "receipts" and method == "GET":
            return self.receipt_settings()
        if name == "receipts":
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object of receipt settings")
            return self.configure(payload)
        if name == "callbacks":
            return self.callbacks(_query_value(query, "kind"))
        if not isinstance(payload, dict):
            raise ValueError('send {"From": ..., "To": ..., "Body": ...}')
        unknown = sorted(set(payload) - {"From", "To", "Body", "MediaUrl"})
        if unknown:
            raise ValueError(f"unknown inbound fields: {', '.join(unknown)}")
        return self.receive_inbound(
            payload.get("From"), payload.get("To"), payload.get("Body"), payload.get("MediaUrl")
        )

    def set_route(self, fields_: Mapping[str, Any]) -> dict[str, Any]:
        """Create a route, or update the one named by MessageRouteId; RouteError becomes ValueError/KeyError."""
        try:
            return self.update_route(fields_) if "MessageRouteId" in fields_ else self.create_route(fields_)
        except RouteError as error:
            if error.status == 404:
                raise KeyError(error.message) from None
            raise ValueError(error.message) from None

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._settings = self._settings.changed(changes)
            return asdict(self._settings)

    def receipt_settings(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._settings)

    def callbacks(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every callback attempt (and every receipt decided against), oldest first."""
        with self._lock:
            return copy.deepcopy([entry for entry in self._log if kind in (None, entry["kind"])])

    def reset(self) -> None:
        """Routes, pending deliveries, the callback log and the receipt settings go."""
        self._scheduler.clear()
        with self._lock:
            self._generation += 1
            self._routes.clear()
            self._log.clear()
            self._settings = ReceiptSettings()

    def close(self) -> None:
        with self._lock:
            timeout = self._settings.timeout
        self._scheduler.close(timeout + 1)

    def pending(self) -> int:
        return self._scheduler.pending()

    # ---- progress and receipts

    def on_accepted(self, message_id: str, to: str, sender: str) -> None:
        """A send was accepted: schedule its progress, if the account has a route."""
        route = self._account_route()
        if route is None:
            return
        outcome = MAGIC_NUMBERS.get(to, DEFAULT_OUTCOME)
        if outcome.status is None:
            meta = {"kind": "receipt", "message_id": message_id, "status": None, "outcome": "skipped"}
            self._record(meta, "magic number: never final")
            return
        with self._lock:
            delay, generation = self._settings.delay, self._generation
        accepted_at = datetime.now(UTC)
        self._scheduler.at(
            time.monotonic() + delay,
            lambda: self._progress(generation, route["MessageRouteId"], message_id, to, sender, outcome, accepted_at),
        )

    def _progress(
        self,
        generation: int,
        route_id: str,
        message_id: str,
        to: str,
        sender: str,
        outcome: Outcome,
        accepted_at: datetime,
    ) -> None:
        with self._lock:
            if generation != self._generation:
                return
            settings = copy.deepcopy(self._settings)
            route = copy.deepcopy(self._routes.get(route_id))
        status = settings.unknown_status or str(outcome.status)
        try:
            self._set_status(message_id, status)
        except KeyError:
            return  # the message is gone (reset)
        reason = self._no_receipt_reason(route, outcome, settings)
        if reason is not None or route is None:
            self._record({"kind": "receipt", "message_id": message_id, "status": status, "outcome": "skipped"}, reason)
            return
        now = datetime.now(UTC)
        statuses = [(status, now, outcome.error_code)] * (1 + settings.duplicates)
        if settings.reorder:
            halfway = accepted_at + timedelta(seconds=settings.delay / 2)
            statuses.append(("Sent", halfway, None))
        for vendor_status, at, error_code in statuses:
            shape = settings.shape if settings.shape != "rotate" else _ROTATION[next(self._rotation) % len(_ROTATION)]
            facts = ReceiptFacts(message_id, vendor_status, at, error_code, to, sender)
            call = receipt_call(facts, shape)
            meta = {"kind": "receipt", "message_id": message_id, "status": vendor_status, "shape": shape}
            self._scheduler.at(time.monotonic(), functools.partial(self._deliver, generation, route_id, call, meta, 1))

    @staticmethod
    def _no_receipt_reason(route: Mapping[str, Any] | None, outcome: Outcome, settings: ReceiptSettings) -> str | None:
        if route is None:
            return "the route was deleted"
        if not outcome.receipt:
            return "magic number: no receipt"
        if settings.drop:
            return "drop fault: receipt lost"
        if not route["MessageRouteEnabled"]:
            return "the route is disabled"
        if route["OutboundBypass"]:
            return "OutboundBypass"
        if not route.get("CallbackMessageUrl"):
            return "the route has no CallbackMessageUrl"
        return None

    def _deliver(self, generation: int, route_id: str, call: Call, meta: dict[str, Any], attempt: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            route = copy.deepcopy(self._routes.get(route_id))
            settings = copy.deepcopy(self._settings)
        if route is None or not route.get("CallbackMessageUrl"):
            self._record({**meta, "outcome": "skipped"}, "the route was deleted or lost its CallbackMessageUrl")
            return
        entry = self._call(route, "CallbackMessage", call, settings.timeout, {**meta, "attempt": attempt})
        if entry["outcome"] == "failed" and attempt < settings.max_attempts:
            self._scheduler.at(
                time.monotonic() + settings.retry_seconds,
                lambda: self._deliver(generation, route_id, call, meta, attempt + 1),
            )
        elif entry["outcome"] == "failed":
            self._mark_given_up(entry)

    # ---- inbound

    def receive_inbound(self, sender: Any, to: Any, body: Any, media_url: Any = None) -> dict[str, Any]:
        """A handset texts `to` (one of our numbers): the route's MessageUrl is called now (retried like receipts)."""
        for name, value in (("From", sender), ("To", to)):
            if not isinstance(value, str) or not _E164.fullmatch(value):
                raise ValueError(f"{name} must be an E.164 number like +18015737111")
        if not isinstance(body, str) or (not body and not media_url):
            raise ValueError("Body must be a string (empty only with MediaUrl)")
        if media_url is not None and not _is_http_url(media_url):
            raise ValueError("MediaUrl must be an absolute http(s) URL")
        route = self._account_route()
        if route is None:
            raise ValueError("no enabled message route: create one first (POST /v1.0/message/routes)")
        message_id = f"TMID-{uuid.uuid4().hex[:20].upper()}"
        result: dict[str, Any] = {"Message_ID": message_id, "MessageRouteId": route["MessageRouteId"]}
        if route["InboundBypass"]:
            self._record({"kind": "inbound", "message_id": message_id, "outcome": "skipped"}, "InboundBypass")
            return {**result, "delivered": False, "reason": "InboundBypass", "attempts": []}
        call = inbound_call(message_id, sender, to, body, media_url, datetime.now(UTC))
        with self._lock:
            settings = copy.deepcopy(self._settings)
        attempts: list[dict[str, Any]] = []
        for attempt in range(1, settings.max_attempts + 1):
            meta = {"kind": "inbound", "message_id": message_id, "attempt": attempt}
            attempts.append(self._call(route, "Message", call, settings.timeout, meta))
            if attempts[-1]["outcome"] != "failed":
                break
            if attempt == settings.max_attempts:
                self._mark_given_up(attempts[-1])
                attempts[-1]["outcome"] = "given_up"
            elif self._stopping.wait(settings.retry_seconds):
                break
        return {**result, "delivered": attempts[-1]["outcome"] == "delivered", "attempts": attempts}

    # ---- HTTP

    def _call(
        self, route: Mapping[str, Any], side: str, call: Call, timeout: float, meta: dict[str, Any]
    ) -> dict[str, Any]:
        """One HTTP call to the route's `side` URL with its credential; recorded, never raises."""
        url = str(route[f"{side}Url"])
        wire = _on_the_wire(call, url, str(route[f"{side}UrlMethod"]))
        headers = {"User-Agent": "TelegentSandbox/1.0"}
        if wire.content_type:
            headers["Content-Type"] = wire.content_type
        authorization = authorization_header(route, side)
        if authorization:
            headers["Authorization"] = authorization
        request = urllib.request.Request(wire.url, data=wire.data, method=wire.method, headers=headers)
        http_status: int | None = None
        error: str | None = None
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read()
                http_status = int(response.status)
        except urllib.error.HTTPError as exc:
            http_status = exc.code
            exc.close()
        except (OSError, ValueError) as exc:  # URLError, refused, reset, timeout
            error = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
        if http_status is not None and 200 <= http_status < 300:
            outcome = "delivered"
        elif http_status is None or http_status >= 500 or http_status in RETRYABLE_STATUSES:
            outcome = "failed"  # retried while attempts are left, then "given_up"
        else:
            outcome = "refused"
        entry = {
            **meta,
            "route_id": route["MessageRouteId"],
            "method": wire.method,
            "url": wire.url,
            "content_type": wire.content_type,
            "body": wire.data.decode("utf-8") if wire.data is not None else None,
            "auth_scheme": authorization.partition(" ")[0] if authorization else None,
            "http_status": http_status,
            "error": error,
            "outcome": outcome,
        }
        return self._record(entry, None)

    def _record(self, entry: dict[str, Any], reason: str | None) -> dict[str, Any]:
        with self._lock:
            entry = {"seq": next(self._log_seq), "time": time.time(), **entry}
            if reason is not None:
                entry["reason"] = reason
            self._log.append(entry)
            return copy.deepcopy(entry)

    def _mark_given_up(self, entry: Mapping[str, Any]) -> None:
        with self._lock:
            for logged in self._log:
                if logged["seq"] == entry["seq"]:
                    logged["outcome"] = "given_up"


def _query_value(query: str, name: str) -> str | None:
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    values = [value for key, found in params.items() if key.lower() == name.lower() for value in found]
    return values[0] if values else None


def wait_for(
    read: Callable[[], list[dict[str, Any]]],
    predicate: Callable[[list[dict[str, Any]]], bool],
    timeout: float,
    interval: float = 0.05,
) -> list[dict[str, Any]]:
    """Poll `read()` until `predicate` holds (returns the entries) or `timeout` passes (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        entries = read()
        if predicate(entries):
            return entries
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout}s; entries now: {entries}")
        time.sleep(interval)
