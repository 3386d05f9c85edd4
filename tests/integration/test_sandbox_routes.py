"""The sandbox's message routes, delivery receipts (credential, delay, shapes, magic numbers, faults),
details following the receipts, and inbound messages, over real HTTP (telegent-api.md section 5)."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3

from infra.local.sandbox import DEFAULT_ACCOUNT_KEY, DEFAULT_ACCOUNT_SECRET, SandboxControl, TelegentSandbox
from infra.local.sandbox_routes import (
    MAGIC_FAILED,
    MAGIC_NEVER_FINAL,
    MAGIC_NO_RECEIPT,
    MAGIC_UNDELIVERED,
    RECEIPT_SHAPES,
)
from messaging.lifecycle import Status
from messaging.receipts import Inbound, Receipt, Unrecognised, parse_envelope, receipt_envelope

pytestmark = pytest.mark.integration

TO, FROM = "+18015737111", "+18018018011"
USER, PASSWORD, TOKEN = "telegent", "callback-password", "callback-token"


# --------------------------------------------------------------------------- a webhook that records


@dataclass
class Hit:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def envelope(self) -> str:
        """What our webhook would queue for this call (so the tracker's parser can read it)."""
        return receipt_envelope(
            self.method,
            self.headers.get("content-type"),
            self.query,
            self.body.decode(),
            datetime.now(UTC),
            body_base64=False,
        )


@dataclass
class Receiver:
    """An HTTP endpoint standing in for our webhook: records every call, answers from a script."""

    hits: list[Hit] = field(default_factory=list)
    script: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, count: int, timeout: float = 10) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.hits) >= count:
                    return list(self.hits)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} calls, got {len(self.hits)}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urllib.parse.urlsplit(self.path)
            with state.lock:
                state.hits.append(
                    Hit(self.command, parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=state.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.server.shutdown()
    state.server.server_close()


@pytest.fixture
def sandbox() -> Iterator[TelegentSandbox]:
    with TelegentSandbox() as sb:
        sb.configure_receipts(delay=0.05, retry_seconds=0.05)
        yield sb


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=5))
    yield pool
    pool.clear()


def token(http: urllib3.PoolManager, sb: Any, endpoint: str) -> str:
    body = {"AccountKey": DEFAULT_ACCOUNT_KEY, "AccountSecret": DEFAULT_ACCOUNT_SECRET}
    response = http.request("POST", sb.endpoint_url("tokens"), json={**body, "ApiEndpoint": sb.endpoint_url(endpoint)})
    assert response.status == 200
    return str(response.json()["token"])


def call(
    http: urllib3.PoolManager,
    sb: Any,
    endpoint: str,
    method: str = "POST",
    body: Any = None,
    query: str = "",
    bearer: str | None = None,
) -> urllib3.BaseHTTPResponse:
    url = sb.endpoint_url(endpoint) + (f"?{query}" if query else "")
    headers = {"Authorization": f"Bearer {bearer or token(http, sb, endpoint)}"}
    return (
        http.request(method, url, json=body, headers=headers)
        if body is not None
        else http.request(method, url, headers=headers)
    )


def send(http: urllib3.PoolManager, sb: Any, to: str = TO) -> str:
    response = call(http, sb, "outbound", body={"To": [{"Number": to}], "From": FROM, "Body": "Hello"})
    assert response.status == 200, response.data
    return str(response.json()["MessageId"])


def details_status(http: urllib3.PoolManager, sb: Any, message_id: str) -> str:
    response = call(http, sb, "details", "GET", query=urllib.parse.urlencode({"MessageId": message_id}))
    assert response.status == 200
    return str(response.json()["Status"])


def basic(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def route_fields(receiver: Receiver, **overrides: Any) -> dict[str, Any]:
    return {
        "RouteName": "Main SMS Webhook",
        "MessageUrl": receiver.url + "/inbound",
        "MessageUrlMethod": "POST",
        "CallbackMessageUrl": receiver.url,
        "CallbackMessageUrlMethod": "POST",
        "CallbackMessageAuthenticationType": "Basic",
        "CallbackMessageUsername": USER,
        "CallbackMessagePasswordToken": PASSWORD,
        **overrides,
    }


def settled_receipts(sb: Any, count: int) -> list[dict[str, Any]]:
    """Wait until `count` receipt decisions (delivered, refused, given up or skipped) are logged."""
    done = ("delivered", "refused", "given_up", "skipped")
    entries = sb.wait_for_callbacks(lambda found: len([e for e in found if e["outcome"] in done]) >= count)
    return [e for e in entries if e["outcome"] in done]


# --------------------------------------------------------------------------- routes API


def test_route_create_get_update_list_delete(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    created = call(http, sandbox, "routes", body=route_fields(receiver, CallbackMessageUrlMethod="post"))
    assert created.status == 200, created.data
    route = created.json()
    route_id = route["MessageRouteId"]
    assert route_id.startswith("MRID-")
    assert route["CallbackMessageUrl"] == receiver.url
    assert route["CallbackMessageUrlMethod"] == "POST"  # normalised
    assert route["CallbackMessageAuthenticationType"] == "Basic"
    assert route["MessageRouteEnabled"] is True
    assert route["OutboundBypass"] is False
    assert PASSWORD not in created.data.decode()  # never echoed
    assert "CallbackMessagePasswordToken" not in route

    fetched = call(http, sandbox, "routes", "GET", query=f"MessageRouteId={route_id}")
    assert fetched.status == 200
    assert fetched.json() == route

    updated = call(
        http,
        sandbox,
        "routes_update",
        body={
            "MessageRouteId": route_id,
            "CallbackMessageUrl": receiver.url + "/v2",
            "CallbackMessageAuthenticationType": "Bearer",
            "CallbackMessagePasswordToken": TOKEN,
        },
    )
    assert updated.status == 200, updated.data
    assert updated.json()["CallbackMessageUrl"] == receiver.url + "/v2"
    assert updated.json()["CallbackMessageAuthenticationType"] == "Bearer"
    assert updated.json()["RouteName"] == "Main SMS Webhook"  # untouched fields kept

    listed = call(http, sandbox, "account_routes", "GET")
    assert listed.status == 200
    assert [r["MessageRouteId"] for r in listed.json()] == [route_id]

    deleted = call(http, sandbox, "routes_delete", body={"MessageRouteId": route_id})
    assert deleted.status == 200
    assert call(http, sandbox, "routes", "GET", query=f"MessageRouteId={route_id}").status == 404
    assert call(http, sandbox, "account_routes", "GET").json() == []


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"RouteName": ""}, "RouteName field is required"),
        ({"MessageUrl": None}, "MessageUrl field is required"),
        ({"CallbackMessageUrl": "/relative"}, "CallbackMessageUrl field is not a valid"),
        ({"CallbackMessageUrlMethod": "PUT"}, "CallbackMessageUrlMethod field must be GET or POST"),
        ({"CallbackMessageAuthenticationType": "Digest"}, "must be None, Basic or Bearer"),
        ({"CallbackMessageUsername": None}, "Basic authentication needs"),
        ({"CallbackMessageAuthenticationType": "Bearer", "CallbackMessagePasswordToken": ""}, "Bearer authentication"),
        ({"OutboundBypass": "yes"}, "OutboundBypass field must be true or false"),
        ({"CallbackUrl": "http://x.example"}, "unknown field 'CallbackUrl'"),
    ],
)
def test_invalid_routes_are_refused(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver, overrides: dict[str, Any], needle: str
) -> None:
    response = call(http, sandbox, "routes", body=route_fields(receiver, **overrides))
    assert response.status == 400
    assert needle in response.json()["Message"]
    assert sandbox.routes() == []


def test_route_endpoints_are_token_scoped_and_check_methods(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    outbound_token = token(http, sandbox, "outbound")
    wrong_scope = call(http, sandbox, "routes", body=route_fields(receiver), bearer=outbound_token)
    assert wrong_scope.status == 401
    routes_token = token(http, sandbox, "routes")
    update_with_routes_token = call(
        http, sandbox, "routes_update", body={"MessageRouteId": "MRID-x"}, bearer=routes_token
    )
    assert update_with_routes_token.status == 401  # /routes/update needs its own scope
    no_token = http.request("POST", sandbox.endpoint_url("routes"), json=route_fields(receiver))
    assert no_token.status == 401
    assert call(http, sandbox, "routes_update", "GET").status == 405
    assert call(http, sandbox, "routes_update", body={"MessageRouteId": "MRID-none"}).status == 404
    assert call(http, sandbox, "routes", "GET").status == 400  # MessageRouteId missing
    assert sandbox.routes() == []


def test_faults_apply_to_route_endpoints(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    bearer = token(http, sandbox, "routes")
    sandbox.add_fault("routes", 503, retry_after=2)
    refused = call(http, sandbox, "routes", body=route_fields(receiver), bearer=bearer)
    assert (refused.status, refused.headers["Retry-After"]) == (503, "2")
    assert sandbox.routes() == []
    assert call(http, sandbox, "routes", body=route_fields(receiver), bearer=bearer).status == 200


# --------------------------------------------------------------------------- receipts


def test_send_progresses_to_delivered_and_the_receipt_carries_the_basic_credential(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.configure_receipts(delay=0.3)
    assert call(http, sandbox, "routes", body=route_fields(receiver)).status == 200
    sent_at = time.monotonic()
    message_id = send(http, sandbox)
    assert details_status(http, sandbox, message_id) == "Queued"  # until the delay has passed

    [hit] = receiver.wait(1)
    assert time.monotonic() - sent_at >= 0.3
    assert (hit.method, hit.path) == ("POST", "/hook")
    assert hit.headers["authorization"] == basic()
    assert hit.headers["content-type"] == "application/json"
    payload = hit.json()
    assert (payload["MessageId"], payload["Status"], payload["Direction"]) == (message_id, "Delivered", "Outbound")
    assert "ErrorCode" not in payload
    assert details_status(http, sandbox, message_id) == "Delivered"

    [entry] = settled_receipts(sandbox, 1)
    assert (entry["outcome"], entry["http_status"], entry["auth_scheme"]) == ("delivered", 200, "Basic")
    assert PASSWORD not in json.dumps(sandbox.callbacks())  # the log never holds the credential


def test_bearer_credential_and_get_method(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.set_route(
        **route_fields(
            receiver,
            CallbackMessageUrl=receiver.url + "?source=telegent",
            CallbackMessageUrlMethod="GET",
            CallbackMessageAuthenticationType="Bearer",
            CallbackMessageUsername=None,
            CallbackMessagePasswordToken=TOKEN,
        )
    )
    message_id = send(http, sandbox)
    [hit] = receiver.wait(1)
    assert hit.method == "GET"
    assert hit.headers["authorization"] == f"Bearer {TOKEN}"
    query = dict(urllib.parse.parse_qsl(hit.query))
    assert query["source"] == "telegent"  # the route URL's own query is kept
    assert (query["MessageId"], query["Status"]) == (message_id, "Delivered")
    assert hit.body == b""


def test_no_credential_when_the_route_says_none(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.set_route(**route_fields(receiver, CallbackMessageAuthenticationType="None"))
    send(http, sandbox)
    [hit] = receiver.wait(1)
    assert "authorization" not in hit.headers


SHAPES = [shape for shape in RECEIPT_SHAPES if shape != "rotate"]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_receipt_shape_on_the_wire_and_through_the_trackers_parser(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver, shape: str
) -> None:
    sandbox.configure_receipts(shape=shape)
    sandbox.set_route(**route_fields(receiver))
    message_id = send(http, sandbox, MAGIC_FAILED)
    [hit] = receiver.wait(1)
    expected_wire = {
        "pascal_json": ("POST", "application/json"),
        "snake_json": ("POST", "application/json"),
        "form": ("POST", "application/x-www-form-urlencoded"),
        "query": ("GET", None),
        "wrapped_json": ("POST", "application/json"),
        "json_list": ("POST", "application/json"),
        "unrecognised": ("POST", "application/json"),
    }[shape]
    assert (hit.method, hit.headers.get("content-type")) == expected_wire
    if shape == "snake_json":
        assert hit.json()["Message_ID"] == message_id
        assert hit.json()["To"] == MAGIC_FAILED
    if shape == "form":
        assert dict(urllib.parse.parse_qsl(hit.body.decode()))["DeliveryStatus"] == "Failed"

    [parsed] = parse_envelope(hit.envelope())
    if shape == "unrecognised":
        assert isinstance(parsed, Unrecognised)
        return
    assert isinstance(parsed, Receipt), parsed
    assert (parsed.message_id, parsed.vendor_status, parsed.status) == (message_id, "Failed", Status.FAILED)
    assert parsed.error_code == "SANDBOX_CARRIER_FAILED"
    assert parsed.occurred_at is not None


def test_rotate_cycles_through_the_shapes(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.configure_receipts(shape="rotate")
    sandbox.set_route(**route_fields(receiver))
    ids = [send(http, sandbox) for _ in range(6)]
    receiver.wait(6)
    entries = settled_receipts(sandbox, 6)
    assert sorted(e["shape"] for e in entries) == sorted(SHAPES[:6])
    parsed = [parse_envelope(hit.envelope())[0] for hit in receiver.hits]
    assert sorted(p.message_id for p in parsed if isinstance(p, Receipt)) == sorted(ids)


@pytest.mark.parametrize(
    ("number", "final", "receipt_status"),
    [
        (TO, "Delivered", "Delivered"),
        (MAGIC_FAILED, "Failed", "Failed"),
        (MAGIC_UNDELIVERED, "Undelivered", "Undelivered"),
        (MAGIC_NO_RECEIPT, "Delivered", None),
        (MAGIC_NEVER_FINAL, "Queued", None),
    ],
)
def test_magic_numbers_choose_the_outcome(
    sandbox: TelegentSandbox,
    http: urllib3.PoolManager,
    receiver: Receiver,
    number: str,
    final: str,
    receipt_status: str | None,
) -> None:
    sandbox.set_route(**route_fields(receiver))
    message_id = send(http, sandbox, number)
    [entry] = settled_receipts(sandbox, 1)
    assert entry["message_id"] == message_id
    if receipt_status is None:
        assert entry["outcome"] == "skipped"
        assert "magic number" in entry["reason"]
        assert receiver.hits == []
    else:
        assert entry["outcome"] == "delivered"
        assert receiver.hits[0].json()["Status"] == receipt_status
    assert details_status(http, sandbox, message_id) == final


def test_duplicates_and_a_stale_sent_after_the_final(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.configure_receipts(duplicates=2, reorder=True, delay=0.2)
    sandbox.set_route(**route_fields(receiver))
    message_id = send(http, sandbox)
    hits = receiver.wait(4)
    payloads = [hit.json() for hit in hits]
    assert [p["Status"] for p in payloads] == ["Delivered", "Delivered", "Delivered", "Sent"]
    assert payloads[0] == payloads[1] == payloads[2]  # exact duplicates
    assert {p["MessageId"] for p in payloads} == {message_id}
    assert payloads[3]["Timestamp"] < payloads[0]["Timestamp"]  # an earlier status, arriving late
    assert details_status(http, sandbox, message_id) == "Delivered"  # details keep the final word


def test_unknown_status_string_in_receipt_and_details(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.configure_receipts(unknown_status="CarrierAck")
    sandbox.set_route(**route_fields(receiver))
    message_id = send(http, sandbox)
    [hit] = receiver.wait(1)
    assert hit.json()["Status"] == "CarrierAck"
    [parsed] = parse_envelope(hit.envelope())
    assert isinstance(parsed, Receipt)
    assert (parsed.vendor_status, parsed.status, parsed.final) == ("CarrierAck", None, False)
    assert details_status(http, sandbox, message_id) == "CarrierAck"


@pytest.mark.parametrize(
    ("settings", "route_overrides", "reason"),
    [
        ({"drop": True}, {}, "drop fault"),
        ({}, {"OutboundBypass": True}, "OutboundBypass"),
        ({}, {"CallbackMessageUrl": None, "CallbackMessageAuthenticationType": "None"}, "no CallbackMessageUrl"),
    ],
)
def test_lost_receipts_still_progress_in_details(
    sandbox: TelegentSandbox,
    http: urllib3.PoolManager,
    receiver: Receiver,
    settings: dict[str, Any],
    route_overrides: dict[str, Any],
    reason: str,
) -> None:
    sandbox.configure_receipts(**settings)
    sandbox.set_route(**route_fields(receiver, **route_overrides))
    message_id = send(http, sandbox)
    [entry] = settled_receipts(sandbox, 1)
    assert (entry["outcome"], entry["message_id"]) == ("skipped", message_id)
    assert reason in entry["reason"]
    assert receiver.hits == []
    assert details_status(http, sandbox, message_id) == "Delivered"


def test_without_a_route_messages_stay_queued(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    message_id = send(http, sandbox)
    time.sleep(0.3)  # six times the configured delay: nothing is scheduled at all
    assert sandbox.callbacks() == []
    assert details_status(http, sandbox, message_id) == "Queued"


def test_failed_calls_are_retried_and_refusals_are_not(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.set_route(**route_fields(receiver))
    receiver.script[:] = [503, 200]
    send(http, sandbox)
    receiver.wait(2)
    entries = settled_receipts(sandbox, 1)
    attempts = sandbox.callbacks("receipt")
    assert [(a["attempt"], a["http_status"], a["outcome"]) for a in attempts] == [
        (1, 503, "failed"),
        (2, 200, "delivered"),
    ]
    assert entries[0]["outcome"] == "delivered"

    sandbox.reset()
    sandbox.configure_receipts(delay=0.05, retry_seconds=0.05, max_attempts=2)
    sandbox.set_route(**route_fields(receiver))
    receiver.hits.clear()
    receiver.script[:] = [401]
    send(http, sandbox)
    [refused] = settled_receipts(sandbox, 1)
    assert (refused["outcome"], refused["http_status"], refused["attempt"]) == ("refused", 401, 1)

    receiver.script[:] = [500, 502]
    send(http, sandbox)
    entries = settled_receipts(sandbox, 2)
    assert (entries[-1]["outcome"], entries[-1]["attempt"]) == ("given_up", 2)
    assert len(receiver.wait(3)) == 3


def test_unreachable_callback_is_given_up(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.configure_receipts(max_attempts=2, timeout=1)
    sandbox.set_route(**route_fields(receiver, CallbackMessageUrl="http://127.0.0.1:9/nothing-listens"))
    send(http, sandbox)
    [entry] = settled_receipts(sandbox, 1)
    assert (entry["outcome"], entry["http_status"], entry["attempt"]) == ("given_up", None, 2)
    assert entry["error"]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({"shape": "xml"}, "shape must be one of"),
        ({"delay": -1}, "delay must be"),
        ({"duplicates": 11}, "duplicates must be"),
        ({"reorder": "yes"}, "reorder must be a boolean"),
        ({"colour": "red"}, "unknown receipt settings: colour"),
    ],
)
def test_receipt_settings_are_validated(sandbox: TelegentSandbox, bad: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        sandbox.configure_receipts(shape="form", **bad) if "shape" not in bad else sandbox.configure_receipts(**bad)
    assert sandbox.receipt_settings()["shape"] == "pascal_json"  # all or nothing


def test_reset_forgets_routes_settings_and_pending_receipts(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, receiver: Receiver
) -> None:
    sandbox.configure_receipts(delay=0.5, shape="form")
    sandbox.set_route(**route_fields(receiver))
    send(http, sandbox)
    sandbox.reset()
    time.sleep(0.8)  # past the delay: the pending receipt was dropped
    assert receiver.hits == []
    assert sandbox.routes() == []
    assert sandbox.callbacks() == []
    assert sandbox.receipt_settings()["shape"] == "pascal_json"


def test_stop_with_receipts_pending_ends_the_callback_thread(http: urllib3.PoolManager, receiver: Receiver) -> None:
    def callback_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "telegent-sandbox-callbacks"}

    others = callback_threads()  # other sandboxes of this test session may have theirs
    sb = TelegentSandbox().start()
    sb.configure_receipts(delay=30)
    sb.set_route(**route_fields(receiver))
    send(http, sb)
    [mine] = callback_threads() - others
    sb.stop()
    assert not mine.is_alive()  # stop() did not wait out the 30 s receipt (its join is bounded)
    assert receiver.hits == []


# --------------------------------------------------------------------------- inbound


def test_inbound_message_calls_the_message_url_like_the_vendor(sandbox: TelegentSandbox, receiver: Receiver) -> None:
    sandbox.set_route(
        **route_fields(
            receiver,
            MessageAuthenticationType="Basic",
            MessageUsername="in-user",
            MessagePasswordToken="in-password",
        )
    )
    result = sandbox.receive_inbound("+18015737111", "+18018018011", "STOP")
    assert result["delivered"] is True
    [hit] = receiver.hits
    assert (hit.method, hit.path) == ("POST", "/hook/inbound")
    assert hit.headers["authorization"] == basic("in-user", "in-password")
    payload = hit.json()
    assert payload["Message_ID"] == result["Message_ID"]
    assert (payload["From"], payload["To"], payload["Owner"]) == ("+18015737111", "+18018018011", "+18018018011")
    assert (payload["Message_Body"], payload["Direction"], payload["Segment"]) == ("STOP", "Inbound", "1")
    [parsed] = parse_envelope(hit.envelope())
    assert isinstance(parsed, Inbound)
    assert (parsed.sender, parsed.body) == ("+18015737111", "STOP")
    [entry] = sandbox.callbacks("inbound")
    assert (entry["outcome"], entry["auth_scheme"]) == ("delivered", "Basic")


def test_inbound_by_get_with_media(sandbox: TelegentSandbox, receiver: Receiver) -> None:
    sandbox.set_route(**route_fields(receiver, MessageUrlMethod="GET"))
    sandbox.receive_inbound("+18015737111", "+18018018011", "", media_url="https://example.com/a.png")
    [hit] = receiver.hits
    query = dict(urllib.parse.parse_qsl(hit.query, keep_blank_values=True))
    assert hit.method == "GET"
    assert (query["MMS_Media_URL"], query["Direction"], query["Message_Body"]) == (
        "https://example.com/a.png",
        "Inbound",
        "",
    )
    assert "authorization" not in hit.headers


def test_inbound_needs_a_route_and_valid_numbers(sandbox: TelegentSandbox, receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="no enabled message route"):
        sandbox.receive_inbound("+18015737111", "+18018018011", "STOP")
    sandbox.set_route(**route_fields(receiver, InboundBypass=True))
    with pytest.raises(ValueError, match=r"E\.164"):
        sandbox.receive_inbound("555-1234", "+18018018011", "STOP")
    bypassed = sandbox.receive_inbound("+18015737111", "+18018018011", "STOP")
    assert (bypassed["delivered"], bypassed["reason"]) == (False, "InboundBypass")
    assert receiver.hits == []


# --------------------------------------------------------------------------- control API over HTTP


def test_everything_works_through_the_remote_control(http: urllib3.PoolManager, receiver: Receiver) -> None:
    with TelegentSandbox() as sb:
        control = SandboxControl(sb.root_url)
        control.configure_receipts(delay=0.05, shape="snake_json")
        route = control.set_route(**route_fields(receiver))
        assert control.routes() == [route]
        updated = control.set_route(MessageRouteId=route["MessageRouteId"], CallbackMessageUrl=receiver.url + "/x")
        assert updated["CallbackMessageUrl"] == receiver.url + "/x"
        with pytest.raises(KeyError):
            control.set_route(MessageRouteId="MRID-none", RouteName="x")
        with pytest.raises(ValueError, match="RouteName"):
            control.set_route(**route_fields(receiver, RouteName=""))
        message_id = send(http, control)
        entries = control.wait_for_callbacks(lambda found: any(e["outcome"] == "delivered" for e in found))
        assert entries[-1]["message_id"] == message_id
        assert receiver.wait(1)[0].json()["Message_ID"] == message_id
        inbound = control.receive_inbound("+18015737111", "+18018018011", "HELP")
        assert inbound["delivered"] is True
        assert [e["kind"] for e in control.callbacks("inbound")] == ["inbound"]
        with pytest.raises(ValueError, match=r"E\.164"):
            control.receive_inbound("nope", "+18018018011", "HELP")
