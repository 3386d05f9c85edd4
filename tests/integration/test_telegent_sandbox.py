"""The Telegent sandbox over real HTTP: vendor behaviour, faults, rate limit and control API."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3

from infra.local.ports import free_port
from infra.local.sandbox import (
    DEFAULT_ACCOUNT_KEY,
    DEFAULT_ACCOUNT_SECRET,
    TOKEN_EXPIRY_FORMAT,
    SandboxControl,
    TelegentSandbox,
)

pytestmark = pytest.mark.integration

TO = "+18015737111"
FROM = "+18018018011"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # every byte value, to prove byte-exact transport
SMS = {"To": [{"Number": TO}], "From": FROM, "Body": "Hello there!!!"}
MMS = {
    "CampaignId": "JCID-dsuhofh3882",
    "To": [{"Number": TO}],
    "From": FROM,
    "Owner": FROM,
    "Body": "Look",
    "MmsMedia": [{"MediaUrl": "https://example.com/a.png"}],
    "MmsBase64": [{"Base64": base64.b64encode(PNG).decode(), "BaseType": "image/png"}],
}


@pytest.fixture
def sandbox() -> Iterator[TelegentSandbox]:
    with TelegentSandbox() as sb:
        yield sb


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=5))
    yield pool
    pool.clear()


def get_token(http: urllib3.PoolManager, sb: Any, endpoint: str = "outbound", **overrides: Any) -> str:
    response = request_token(http, sb, sb.endpoint_url(endpoint), **overrides)
    assert response.status == 200, response.data
    return response.json()["token"]


def request_token(
    http: urllib3.PoolManager, sb: Any, api_endpoint: str | None, path: str = "/oauth2/tokens", **overrides: Any
) -> urllib3.BaseHTTPResponse:
    body = {"AccountKey": DEFAULT_ACCOUNT_KEY, "AccountSecret": DEFAULT_ACCOUNT_SECRET, **overrides}
    if api_endpoint is not None:
        body["ApiEndpoint"] = api_endpoint
    return http.request("POST", sb.base_url + path, json=body)


def send(http: urllib3.PoolManager, sb: Any, body: Any, token: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
    return http.request(
        "POST", sb.endpoint_url("outbound"), json=body, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def details(http: urllib3.PoolManager, sb: Any, message_id: str, token: str) -> urllib3.BaseHTTPResponse:
    return http.request(
        "GET",
        sb.endpoint_url("details"),
        fields={"MessageId": message_id},
        headers={"Authorization": f"Bearer {token}"},
    )


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("path", ["/oauth2/tokens", "/OAuth2/tokens"])
def test_token_is_a_jwt_with_utc_expiry(sandbox: TelegentSandbox, http: urllib3.PoolManager, path: str) -> None:
    before = datetime.now(UTC)
    response = request_token(http, sandbox, sandbox.endpoint_url("outbound"), path=path)

    assert response.status == 200
    body = response.json()
    assert body["successful"] is True
    assert body["error"] == ""
    assert len(body["token"].split(".")) == 3
    claims = jwt_claims(body["token"])
    assert claims["exp"] == int(claims["exp"])
    expiry = datetime.strptime(body["tokenExpiry"], TOKEN_EXPIRY_FORMAT).replace(tzinfo=UTC)
    assert expiry == datetime.fromtimestamp(claims["exp"], UTC)  # tokenExpiry is exp, in UTC
    assert timedelta(seconds=298) <= expiry - before <= timedelta(seconds=301)
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d [AP]M", body["tokenExpiry"])


@pytest.mark.parametrize(
    ("overrides", "api_endpoint", "status", "needle"),
    [
        ({"AccountSecret": "wrong"}, "OUTBOUND", 401, "AccountSecret"),
        ({"AccountKey": "DID-other"}, "OUTBOUND", 401, "AccountKey"),
        ({}, None, 400, "ApiEndpoint field is required"),
        ({}, "/v1.0/message/outbound", 400, "fully-qualified"),
        ({"AccountKey": None}, "OUTBOUND", 400, "AccountKey field is required"),
    ],
)
def test_token_request_rejected(
    sandbox: TelegentSandbox,
    http: urllib3.PoolManager,
    overrides: dict[str, Any],
    api_endpoint: str | None,
    status: int,
    needle: str,
) -> None:
    url = sandbox.endpoint_url("outbound") if api_endpoint == "OUTBOUND" else api_endpoint
    response = request_token(http, sandbox, url, **overrides)

    assert response.status == status
    assert response.json()["StatusCode"] == status
    assert needle in response.json()["Message"]
    assert "token" not in response.json()


def test_token_scope_must_be_exactly_the_called_url(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    details_token = get_token(http, sandbox, "details")
    with_query = request_token(http, sandbox, sandbox.endpoint_url("outbound") + "?x=1").json()["token"]
    other_host = request_token(
        http, sandbox, sandbox.endpoint_url("outbound").replace("127.0.0.1", "localhost")
    ).json()["token"]
    upper_case = request_token(http, sandbox, sandbox.endpoint_url("outbound").upper()).json()["token"]

    for token in (details_token, with_query, other_host):
        response = send(http, sandbox, SMS, token)
        assert response.status == 401
        assert "scope" in response.json()["Message"]
    assert send(http, sandbox, SMS, upper_case).status == 200  # the comparison ignores case
    assert len(sandbox.sent_messages()) == 1


def test_token_expires_after_its_ttl(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.set_token_ttl(1.0)
    token = get_token(http, sandbox)
    assert send(http, sandbox, SMS, token).status == 200

    time.sleep(1.05)
    response = send(http, sandbox, SMS, token)

    assert response.status == 401
    assert response.json() == {"StatusCode": 401, "Message": response.json()["Message"]}
    assert "expired" in response.json()["Message"]
    assert send(http, sandbox, SMS, get_token(http, sandbox)).status == 200


def test_expire_tokens_invalidates_every_token(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    outbound, details_token = get_token(http, sandbox), get_token(http, sandbox, "details")
    sandbox.expire_tokens()

    assert send(http, sandbox, SMS, outbound).status == 401
    assert details(http, sandbox, "TMID-x", details_token).status == 401


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic abc", "Bearer not-a-token"])
def test_outbound_needs_a_valid_bearer(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = http.request("POST", sandbox.endpoint_url("outbound"), json=SMS, headers=headers)

    assert response.status == 401
    assert response.json()["StatusCode"] == 401
    assert sandbox.sent_messages() == []


# --------------------------------------------------------------------------- outbound


def test_outbound_sms_success_shape(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    response = send(http, sandbox, SMS, get_token(http, sandbox))

    assert response.status == 200
    body = response.json()
    assert re.fullmatch(r"TMID-[A-Za-z0-9]{20}", body["MessageId"])
    assert body["Direction"] == "Outbound"
    assert body["Type"] == "p2p"
    assert body["Status"] == "Queued"
    assert body["Cost"] == 0.0045
    assert body["MessageType"] == "sms"
    assert body["To"] == [{"Number": TO}]
    assert body["From"] == FROM
    assert body["Owner"] == FROM  # defaults to From
    assert body["Body"] == SMS["Body"]
    assert body["CampaignId"] is None
    assert body["MmsMedia"] == []
    assert body["MmsBase64"] == []
    created = datetime.fromisoformat(body["CreatedOn"])
    assert created.tzinfo is None
    assert abs(created.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(seconds=5)
    [stored] = sandbox.sent_messages()
    assert stored["message_id"] == body["MessageId"]
    assert stored["request"] == SMS
    assert stored["returned_status"] == 200


def test_outbound_mms_keeps_media_byte_exact(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    response = send(http, sandbox, MMS, get_token(http, sandbox))

    assert response.status == 200
    body = response.json()
    assert body["MessageType"] == "mms"
    assert body["Cost"] == 0.02
    assert body["CampaignId"] == "JCID-dsuhofh3882"
    assert body["MmsMedia"] == MMS["MmsMedia"]
    [stored] = sandbox.sent_messages()
    assert base64.b64decode(stored["request"]["MmsBase64"][0]["Base64"]) == PNG
    assert stored["request"]["MmsBase64"][0]["BaseType"] == "image/png"


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in SMS.items() if k != key}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (_without("To"), "To field is required"),
        ({**SMS, "To": []}, "To must not be empty"),
        ({**SMS, "To": TO}, "To must be an array"),
        ({**SMS, "To": [TO]}, "To[0] must be an object"),
        ({**SMS, "To": [{"Number": "8015737111"}]}, "To[0].Number must be an E.164"),
        ({**SMS, "To": [{"Number": "+1 801 573 7111"}]}, "To[0].Number must be an E.164"),
        ({**SMS, "To": [{"Number": TO, "Name": "x"}]}, "To[0] has unknown field 'Name'"),
        ({**SMS, "To": [{"number": TO}]}, "To[0].Number is required"),
        (_without("From"), "From field is required"),
        ({**SMS, "From": "18018018011"}, "From must be an E.164"),
        (_without("Body"), "Body field is required"),
        ({**SMS, "Body": ""}, "Body field is required"),
        ({**SMS, "Body": 42}, "Body must be a string"),
        ({**SMS, "Owner": "owner"}, "Owner must be an E.164"),
        ({**SMS, "CampaignId": 7}, "CampaignId must be a string"),
        ({**SMS, "MmsMedia": [{"MediaUrl": "/a.png"}]}, "MmsMedia[0].MediaUrl must be an absolute"),
        ({**SMS, "MmsMedia": [{"MediaUrl": "ftp://example.com/a.png"}]}, "MmsMedia[0].MediaUrl"),
        ({**SMS, "MmsBase64": [{"Base64": "not base64!", "BaseType": "image/png"}]}, "is not valid base64"),
        ({**SMS, "MmsBase64": [{"Base64": "", "BaseType": "image/png"}]}, "non-empty base64"),
        ({**SMS, "MmsBase64": [{"Base64": "AAAA", "BaseType": "png"}]}, "BaseType must be a MIME type"),
        ({**SMS, "MmsBase64": [{"Base64": "AAAA"}]}, "MmsBase64[0].BaseType is required"),
        ({**SMS, "IdempotencyKey": "k-1"}, "unknown field 'IdempotencyKey'"),
        ({**SMS, "MmsS3": [{"Bucket": "b", "Key": "k"}]}, "unknown field 'MmsS3'"),
        ({**SMS, "to": [{"Number": TO}]}, "unknown field 'to'"),
        ([SMS], "must be a JSON object"),
    ],
)
def test_outbound_rejects_invalid_input(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, body: Any, needle: str
) -> None:
    response = send(http, sandbox, body, get_token(http, sandbox))

    assert response.status == 400
    assert response.json()["StatusCode"] == 400
    assert needle in response.json()["Message"]
    assert sandbox.sent_messages() == []


@pytest.mark.parametrize(
    ("content_type", "raw", "status"),
    [
        ("application/json", b"{not json", 400),
        ("application/json", b"\xff\xfe", 400),
        ("text/plain", json.dumps(SMS).encode(), 415),
        (None, json.dumps(SMS).encode(), 415),
    ],
)
def test_outbound_rejects_non_json(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, content_type: str | None, raw: bytes, status: int
) -> None:
    headers = {"Authorization": f"Bearer {get_token(http, sandbox)}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = http.request("POST", sandbox.endpoint_url("outbound"), body=raw, headers=headers)

    assert response.status == status
    assert response.json()["StatusCode"] == status
    assert sandbox.sent_messages() == []


def test_wrong_method_is_405_and_unknown_path_404(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    wrong_method = http.request("GET", sandbox.endpoint_url("outbound"))
    unknown = http.request("POST", sandbox.base_url + "/messages/outbound", json=SMS)

    assert wrong_method.status == 405
    assert wrong_method.json()["StatusCode"] == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert unknown.status == 404
    assert unknown.json()["StatusCode"] == 404


def test_concurrent_sends_are_all_recorded(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox)
    ids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        response = send(http, sandbox, {**SMS, "Body": f"m{n}"}, token)
        with lock:
            ids.append(response.json()["MessageId"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(ids)) == 20
    assert {m["message_id"] for m in sandbox.sent_messages()} == set(ids)
    assert len(sandbox.requests("outbound")) == 20


# --------------------------------------------------------------------------- details


def test_details_returns_stored_message_and_status_updates(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sent = send(http, sandbox, MMS, get_token(http, sandbox)).json()
    token = get_token(http, sandbox, "details")

    queued = details(http, sandbox, sent["MessageId"], token)
    sandbox.set_message_status(sent["MessageId"], "Delivered")
    delivered = details(http, sandbox, sent["MessageId"], token)

    assert queued.status == 200
    view = queued.json()
    assert view["MessageId"] == sent["MessageId"]
    assert view["To"] == TO  # a string here, unlike the send response
    assert view["From"] == FROM
    assert view["Status"] == "Queued"
    assert view["MessageType"] == "mms"
    assert view["MmsMedia"] == MMS["MmsMedia"]
    assert view["CreatedOn"] == sent["CreatedOn"]
    assert delivered.json()["Status"] == "Delivered"


def test_details_errors(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox, "details")
    outbound_token = get_token(http, sandbox)

    unknown = details(http, sandbox, "TMID-doesnotexist000000", token)
    missing = http.request("GET", sandbox.endpoint_url("details"), headers={"Authorization": f"Bearer {token}"})
    wrong_scope = details(http, sandbox, "TMID-doesnotexist000000", outbound_token)

    assert unknown.status == 404
    assert unknown.json()["StatusCode"] == 404
    assert "TMID-doesnotexist000000" in unknown.json()["Message"]
    assert missing.status == 400
    assert wrong_scope.status == 401
    with pytest.raises(KeyError, match="TMID-nope"):
        sandbox.set_message_status("TMID-nope", "Delivered")


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("status", "retry_after"), [(429, 7), (503, 2.5), (500, None), (502, None), (504, None), (403, None)]
)
def test_status_fault_with_retry_after(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, status: int, retry_after: float | None
) -> None:
    token = get_token(http, sandbox)
    sandbox.add_fault("outbound", status, retry_after=retry_after)

    faulted = send(http, sandbox, SMS, token)
    after = send(http, sandbox, SMS, token)

    assert faulted.status == status
    assert faulted.json()["StatusCode"] == status
    expected_header = None if retry_after is None else str(int(-(-retry_after // 1)))
    assert faulted.headers.get("Retry-After") == expected_header
    assert after.status == 200  # a fault is used once by default
    assert len(sandbox.sent_messages()) == 1  # the faulted request was not processed
    assert sandbox.requests("outbound")[0]["fault"]["status"] == status


def test_faults_are_fifo_per_path_and_honour_count(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.add_faults(
        [
            {"path": "outbound", "status": 503, "count": 2},
            {"path": "tokens", "status": 500},
            {"path": "outbound", "status": 429, "body": {"Title": "Too Many", "Status": 429}},
            {"path": "*", "status": 408},
        ]
    )

    token_fail = request_token(http, sandbox, sandbox.endpoint_url("outbound"))
    # The "*" fault is queued behind the outbound ones but is the next one matching tokens.
    token_timeout = request_token(http, sandbox, sandbox.endpoint_url("outbound"))
    token = get_token(http, sandbox)
    statuses = [send(http, sandbox, SMS, token).status for _ in range(4)]

    assert token_fail.status == 500
    assert token_timeout.status == 408
    assert [r["status"] for r in sandbox.token_requests()] == [500, 408, 200]
    assert statuses == [503, 503, 429, 200]
    assert sandbox.requests("outbound")[2]["fault"]["body"] == {"Title": "Too Many", "Status": 429}
    assert sandbox.pending_faults() == []


def test_fault_body_override_as_text(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.add_fault("tokens", 500, body="<html>upstream</html>")
    response = request_token(http, sandbox, sandbox.endpoint_url("outbound"))

    assert response.status == 500
    assert response.data == b"<html>upstream</html>"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_malformed_fault_with_status_is_not_processed(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox)
    sandbox.add_fault("outbound", 500, malformed=True)

    response = send(http, sandbox, SMS, token)

    assert response.status == 500
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.data)
    assert sandbox.sent_messages() == []


def test_malformed_fault_alone_corrupts_real_response(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox)
    sandbox.add_fault("outbound", malformed=True)

    response = send(http, sandbox, SMS, token)

    assert response.status == 200
    assert response.data.startswith(b'{"MessageId": "TMID-')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.data)
    assert len(sandbox.sent_messages()) == 1  # the vendor did accept it


def test_drop_fault_closes_without_response(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox)
    sandbox.add_fault("outbound", drop=True)

    with pytest.raises(urllib3.exceptions.ProtocolError):
        send(http, sandbox, SMS, token)
    after = send(http, sandbox, SMS, token)

    first, second = sandbox.requests("outbound")
    assert first["outcome"] == "dropped"
    assert first["status"] is None
    assert second["status"] == after.status == 200
    assert len(sandbox.sent_messages()) == 1


def test_delay_fault_provokes_read_timeout(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox)
    sandbox.add_faults([{"path": "outbound", "delay_ms": 2000}, {"path": "outbound", "delay_ms": 150}])

    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        send(http, sandbox, SMS, token, timeout=urllib3.Timeout(connect=1, read=0.2))
    timed_out_after = time.monotonic() - started
    started = time.monotonic()
    slow = send(http, sandbox, SMS, token)

    assert 0.2 <= timed_out_after < 1.5
    assert slow.status == 200
    assert time.monotonic() - started >= 0.15
    assert sandbox.requests("outbound")[0]["outcome"] == "pending"  # still asleep on the server


@pytest.mark.parametrize(("status", "drop"), [(502, False), (None, True)])
def test_accept_then_fail_records_message_as_sent(
    sandbox: TelegentSandbox, http: urllib3.PoolManager, status: int | None, drop: bool
) -> None:
    token = get_token(http, sandbox)
    sandbox.add_fault("outbound", status, accept_then_fail=True, drop=drop)

    rejected = send(http, sandbox, {**SMS, "From": "bad"}, token)  # would fail anyway: fault not used
    if drop:
        with pytest.raises(urllib3.exceptions.ProtocolError):
            send(http, sandbox, SMS, token)
    else:
        assert send(http, sandbox, SMS, token).status == 502

    assert rejected.status == 400
    [message] = sandbox.sent_messages()
    assert message["request"] == SMS
    assert message["returned_status"] == status
    assert sandbox.pending_faults() == []
    lookup = details(http, sandbox, message["message_id"], get_token(http, sandbox, "details"))
    assert lookup.json()["Status"] == "Queued"  # the vendor has it even though the client saw a failure


def test_invalid_faults_are_rejected(sandbox: TelegentSandbox) -> None:
    with pytest.raises(ValueError, match="fault status"):
        sandbox.add_fault("outbound", 418)
    with pytest.raises(ValueError, match="fault path"):
        sandbox.add_fault("no-such-endpoint", 500)
    with pytest.raises(ValueError, match="unknown fault keys"):
        sandbox.add_fault("outbound", 500, retry=1)
    with pytest.raises(ValueError, match="does nothing"):
        sandbox.add_fault("outbound")
    with pytest.raises(ValueError, match="accept_then_fail needs"):
        sandbox.add_fault("outbound", accept_then_fail=True)
    assert sandbox.pending_faults() == []


# --------------------------------------------------------------------------- limits, latency, recording


def test_rate_limit_counts_token_requests_and_sets_retry_after(
    sandbox: TelegentSandbox, http: urllib3.PoolManager
) -> None:
    control = SandboxControl(sandbox.root_url)
    control.set_rate_limit(3)
    token = get_token(http, sandbox)
    first = [send(http, sandbox, SMS, token).status for _ in range(2)]
    for _ in range(5):
        control.requests()  # control calls are neither limited nor counted

    limited = send(http, sandbox, SMS, token)
    limited_token = request_token(http, sandbox, sandbox.endpoint_url("outbound"))

    assert first == [200, 200]
    assert limited.status == 429
    assert limited.json()["StatusCode"] == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited_token.status == 429
    control.set_rate_limit(None)
    assert send(http, sandbox, SMS, token).status == 200


def test_latency_applies_to_vendor_requests(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.set_latency_ms(200)
    started = time.monotonic()
    token = get_token(http, sandbox)
    elapsed = time.monotonic() - started

    assert token
    assert elapsed >= 0.2
    assert sandbox.config()["latency_ms"] == 200


def test_recording_redacts_secrets_and_reset_clears(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    token = get_token(http, sandbox)
    send(http, sandbox, SMS, token)
    sandbox.add_fault("outbound", 500)

    [token_request] = sandbox.token_requests()
    outbound = sandbox.requests("/v1.0/message/outbound")[0]
    recorded = json.dumps(sandbox.requests())

    assert token_request["body"]["AccountSecret"] == "<redacted>"
    assert token_request["body"]["AccountKey"] == DEFAULT_ACCOUNT_KEY
    assert token_request["has_authorization"] is False
    assert outbound["has_authorization"] is True
    assert outbound["auth_scheme"] == "Bearer"
    assert outbound["body"] == SMS
    assert outbound["status"] == 200
    assert "Authorization" not in outbound["headers"]
    assert token not in recorded
    assert DEFAULT_ACCOUNT_SECRET not in recorded

    sandbox.reset()
    assert sandbox.requests() == []
    assert sandbox.sent_messages() == []
    assert sandbox.pending_faults() == []
    assert send(http, sandbox, SMS, token).status == 200  # tokens survive a reset


# --------------------------------------------------------------------------- out of process


# The installed entry points, run outside the repo: nothing but the installed package is importable there.
SANDBOX_COMMANDS = {
    "module": [sys.executable, "-m", "infra.local.sandbox"],
    "console script": [str(Path(sys.executable).with_name("telegent-sandbox"))],
}


@pytest.mark.parametrize("command", SANDBOX_COMMANDS.values(), ids=SANDBOX_COMMANDS.keys())
def test_control_api_against_subprocess(http: urllib3.PoolManager, command: list[str], tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port), "--token-ttl", "30"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == f"telegent sandbox listening on http://127.0.0.1:{port}/v1.0"
        control = SandboxControl(f"http://127.0.0.1:{port}")
        assert control.health()["ok"] is True
        assert control.configure(account_secret="rotated")["account_key"] == DEFAULT_ACCOUNT_KEY
        assert request_token(http, control, control.endpoint_url("outbound")).status == 401
        token = get_token(http, control, AccountSecret="rotated")

        control.add_fault("outbound", 503, retry_after=1)
        assert control.pending_faults()[0]["status"] == 503
        faulted = send(http, control, SMS, token)
        sent = send(http, control, SMS, token).json()
        control.set_message_status(sent["MessageId"], "Failed")
        control.expire_tokens()
        expired = send(http, control, SMS, token)

        assert faulted.status == 503
        assert faulted.headers["Retry-After"] == "1"
        assert [r["status"] for r in control.requests("outbound")] == [503, 200, 401]
        assert len(control.token_requests()) == 2
        [message] = control.sent_messages()
        assert message["status"] == "Failed"
        assert message["request"] == SMS
        assert expired.status == 401
        with pytest.raises(ValueError, match="fault status"):
            control.add_fault("outbound", 418)
        with pytest.raises(KeyError):
            control.set_message_status("TMID-unknown", "Delivered")
        control.reset()
        assert control.requests() == []
        assert control.sent_messages() == []
    finally:
        process.terminate()
        try:
            returncode = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        _, stderr = process.communicate()
    assert returncode == 0, stderr
    assert "rotated" not in stderr
