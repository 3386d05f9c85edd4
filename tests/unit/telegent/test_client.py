"""Vendor client against a scripted fake HTTP pool: no sockets."""

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from messaging.errors import PermanentError, TransientError, TransientKind
from messaging.ports import Credentials
from telegent.body import json_body
from telegent.client import TelegentClient
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

BASE = "https://api.telegent.test/v1.0"
OUTBOUND = f"{BASE}/message/outbound"
NOW = 1_800_000_000.0
PAYLOAD = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Owner": "+18018018011", "Body": "hi"}


class FakeResponse:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = headers or {}
        self.data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""


def expiry_text(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(NOW + seconds_from_now, tz=UTC).strftime("%m/%d/%Y %I:%M:%S %p")


def token_ok(name: str = "tok-1", ttl: float = 300) -> FakeResponse:
    return FakeResponse(200, {"token": name, "successful": True, "tokenExpiry": expiry_text(ttl), "error": ""})


def accepted(message_id: str = "TMID-1") -> FakeResponse:
    return FakeResponse(200, {"MessageId": message_id, "Status": "Queued", "Cost": 0.0045, "MessageType": "sms"})


class FakePool:
    """Answers by URL from scripted queues; records what was asked."""

    def __init__(self) -> None:
        self.script: dict[str, list[FakeResponse | Exception]] = {"tokens": [], "outbound": []}
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.lock = threading.Lock()

    def request(self, method: str, url: str, body: Any, headers: dict[str, str], **_: Any) -> FakeResponse:
        endpoint = "tokens" if url.endswith("/oauth2/tokens") else "outbound"
        raw = body if isinstance(body, bytes) else b"".join(body)
        assert headers["Content-Length"] == str(len(raw))
        with self.lock:
            self.calls.append((endpoint, json.loads(raw), headers))
            queue = self.script[endpoint]
            answer = queue.pop(0) if queue else (token_ok() if endpoint == "tokens" else accepted())
        if isinstance(answer, Exception):
            raise answer
        return answer

    def count(self, endpoint: str) -> int:
        return sum(1 for call in self.calls if call[0] == endpoint)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Creds:
    def __init__(self) -> None:
        self.reads: list[bool] = []

    def __call__(self, force: bool = False) -> Credentials:
        self.reads.append(force)
        return Credentials("DID-1", "s3cret")


def client(pool: FakePool, clock: Callable[[], float] | None = None, creds: Creds | None = None) -> TelegentClient:
    clock = clock or Clock()
    return TelegentClient(BASE, creds or Creds(), pool, TokenCache(clock), expiry_margin=60, clock=clock)  # type: ignore[arg-type]


def test_token_request_is_scoped_to_the_full_outbound_url_and_reused() -> None:
    pool = FakePool()
    vendor = client(pool)
    for _ in range(5):
        assert vendor.send(PAYLOAD).message_id == "TMID-1"
    assert pool.count("tokens") == 1
    assert pool.calls[0][1] == {"AccountKey": "DID-1", "AccountSecret": "s3cret", "ApiEndpoint": OUTBOUND}
    assert pool.calls[1][2]["Authorization"] == "Bearer tok-1"
    assert pool.calls[1][1] == PAYLOAD


def test_token_refetched_only_after_expiry_minus_margin() -> None:
    pool, clock = FakePool(), Clock()
    vendor = client(pool, clock)
    vendor.send(PAYLOAD)
    clock.now += 239  # 300 s token, 60 s margin
    vendor.send(PAYLOAD)
    assert pool.count("tokens") == 1
    clock.now += 2
    vendor.send(PAYLOAD)
    assert pool.count("tokens") == 2


def test_short_lived_tokens_keep_half_their_life() -> None:
    pool, clock = FakePool(), Clock()
    pool.script["tokens"] = [token_ok(ttl=10)]
    vendor = client(pool, clock)
    vendor.send(PAYLOAD)
    clock.now += 4
    vendor.send(PAYLOAD)
    assert pool.count("tokens") == 1
    clock.now += 2
    vendor.send(PAYLOAD)
    assert pool.count("tokens") == 2


def test_401_drops_the_token_rereads_the_secret_and_retries_once() -> None:
    pool, creds = FakePool(), Creds()
    pool.script["tokens"] = [token_ok("old"), token_ok("new")]
    pool.script["outbound"] = [FakeResponse(401, {"StatusCode": 401, "Message": "expired"}), accepted("TMID-9")]
    result = client(pool, creds=creds).send(PAYLOAD)
    assert result.message_id == "TMID-9"
    assert creds.reads == [False, True]
    assert [c[2].get("Authorization") for c in pool.calls if c[0] == "outbound"] == ["Bearer old", "Bearer new"]


def test_403_twice_is_a_transient_auth_failure() -> None:
    pool = FakePool()
    pool.script["outbound"] = [FakeResponse(403, {"StatusCode": 403, "Message": "scope"})] * 2
    with pytest.raises(TransientError) as caught:
        client(pool).send(PAYLOAD)
    assert caught.value.kind == TransientKind.AUTH
    assert pool.count("outbound") == 2


def test_refused_credentials_are_reread_then_reported() -> None:
    pool, creds = FakePool(), Creds()
    pool.script["tokens"] = [FakeResponse(200, {"token": "", "successful": False, "error": "bad secret"})] * 2
    with pytest.raises(TransientError) as caught:
        client(pool, creds=creds).send(PAYLOAD)
    assert caught.value.kind == TransientKind.AUTH
    assert "bad secret" in caught.value.message
    assert creds.reads == [False, True]
    assert pool.count("outbound") == 0


@pytest.mark.parametrize("status", [400, 404, 405, 409, 415, 422])
def test_vendor_refusals_are_permanent_with_code_and_message(status: int) -> None:
    pool = FakePool()
    pool.script["outbound"] = [FakeResponse(status, {"StatusCode": status, "Message": "nope"})]
    with pytest.raises(PermanentError) as caught:
        client(pool).send(PAYLOAD)
    assert (caught.value.code, caught.value.message) == (str(status), "nope")


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after"),
    [
        (429, {"Retry-After": "7"}, TransientKind.THROTTLED, 7.0),
        (429, {}, TransientKind.THROTTLED, None),
        (503, {"Retry-After": "2"}, TransientKind.UNAVAILABLE, 2.0),
        (408, {}, TransientKind.AMBIGUOUS, None),
        (500, {}, TransientKind.AMBIGUOUS, None),
        (502, {}, TransientKind.AMBIGUOUS, None),
        (504, {}, TransientKind.AMBIGUOUS, None),
    ],
)
def test_transient_statuses(status: int, headers: dict, kind: TransientKind, retry_after: float | None) -> None:
    pool = FakePool()
    pool.script["outbound"] = [FakeResponse(status, {"StatusCode": status, "Message": "x"}, headers)]
    with pytest.raises(TransientError) as caught:
        client(pool).send(PAYLOAD)
    assert caught.value.kind == kind
    assert caught.value.retry_after == retry_after


def test_connection_errors_are_connect_class_and_read_errors_ambiguous() -> None:
    pool = FakePool()
    refused = MaxRetryError(None, OUTBOUND, NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    timeout = MaxRetryError(None, OUTBOUND, ReadTimeoutError(None, OUTBOUND, "read timed out"))  # type: ignore[arg-type]
    pool.script["outbound"] = [refused, timeout, ProtocolError("connection dropped")]
    vendor = client(pool)
    kinds = []
    for _ in range(3):
        with pytest.raises(TransientError) as caught:
            vendor.send(PAYLOAD)
        kinds.append(caught.value.kind)
    assert kinds == [TransientKind.CONNECT, TransientKind.AMBIGUOUS, TransientKind.AMBIGUOUS]


def test_2xx_without_message_id_or_malformed_is_ambiguous() -> None:
    pool = FakePool()
    pool.script["outbound"] = [FakeResponse(200, b"{not json"), FakeResponse(200, {"Status": "Queued"})]
    vendor = client(pool)
    for _ in range(2):
        with pytest.raises(TransientError) as caught:
            vendor.send(PAYLOAD)
        assert caught.value.kind == TransientKind.AMBIGUOUS


@pytest.mark.parametrize(
    "body",
    [
        {"MessageId": "TMID-7", "Status": "Queued", "Cost": 0.0045},
        {"MessageID": "TMID-7", "status": "Queued", "cost": "$0.0045"},
        {"Successful": True, "Data": {"messageId": "TMID-7", "Status": "Queued", "Cost": "0.0045"}},
    ],
)
def test_tolerant_reading_of_success(body: dict) -> None:
    pool = FakePool()
    pool.script["outbound"] = [FakeResponse(200, body)]
    result = client(pool).send(PAYLOAD)
    assert (result.message_id, result.vendor_status, result.cost) == ("TMID-7", "Queued", Decimal("0.0045"))


def test_error_text_reads_all_three_envelopes() -> None:
    assert error_text(400, b'{"StatusCode": 400, "Message": "Bad request"}') == "Bad request"
    problem = {"Title": "One or more validation errors occurred.", "Status": 400, "Errors": {"$.From": ["bad"]}}
    assert error_text(400, json.dumps(problem).encode()) == "One or more validation errors occurred.: $.From: bad"
    assert error_text(401, b'{"successful": false, "error": "invalid secret"}') == "invalid secret"
    assert error_text(502, b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert error_text(502, b"") == "HTTP 502"


def test_small_parsers() -> None:
    assert parse_token_expiry("05/02/2025 06:36:13 PM") == datetime(2025, 5, 2, 18, 36, 13, tzinfo=UTC)
    assert parse_token_expiry("2025-05-02") is None
    claims = base64.urlsafe_b64encode(json.dumps({"exp": 1746210973}).encode()).decode().rstrip("=")
    assert jwt_expiry(f"h.{claims}.s") == datetime(2025, 5, 2, 18, 36, 13, tzinfo=UTC)
    assert jwt_expiry("opaque") is None
    assert parse_cost("$1,000.50") == Decimal("1000.50")
    assert parse_cost(True) is None
    assert parse_retry_after("Thu, 01 Jan 2030 00:00:10 GMT", datetime(2030, 1, 1, tzinfo=UTC).timestamp()) == 10
    assert parse_retry_after("soon", NOW) is None
    assert ci_get({"messageid": 1}, "MessageId") == 1
    assert unwrap_data({"data": {"a": 1}}) == {"a": 1}


def test_token_cache_fetches_once_under_concurrency() -> None:
    cache = TokenCache(time.time)
    fetches = []

    def fetch() -> BearerToken:
        fetches.append(1)
        time.sleep(0.05)
        return BearerToken("t", time.time() + 60)

    threads = [threading.Thread(target=cache.get, args=("scope", fetch)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fetches) == 1


def test_invalidate_keeps_a_token_another_thread_already_replaced() -> None:
    cache = TokenCache(time.time)
    cache.get("scope", lambda: BearerToken("new", time.time() + 60))
    cache.invalidate("scope", "old")
    assert cache.get("scope", lambda: BearerToken("other", time.time() + 60)) == "new"
    cache.invalidate("scope", "new")
    assert cache.get("scope", lambda: BearerToken("other", time.time() + 60)) == "other"


def test_json_body_splices_media_bytes_without_changing_the_json() -> None:
    media = bytearray(base64.b64encode(bytes(range(256)) * 100))
    payload = {
        **PAYLOAD,
        "Body": 'quotes " and a marker-like "x0"',
        "MmsBase64": [{"Base64": media, "BaseType": "image/png"}],
    }
    chunks = json_body(payload)
    assert any(chunk is media for chunk in chunks)  # the very buffer, not a copy
    assert json.loads(b"".join(chunks)) == {
        **payload,
        "MmsBase64": [{"Base64": media.decode(), "BaseType": "image/png"}],
    }


def test_secret_never_in_repr() -> None:
    assert "s3cret" not in repr(Credentials("DID-1", "s3cret"))
    assert "tok" not in repr(BearerToken("tok-abc", 0))


def test_a_large_echo_of_the_media_is_not_parsed() -> None:
    echo = "A" * 200_000
    pool = FakePool()
    body = {"MessageId": "TMID-5", "Status": "Queued", "MmsBase64": [{"Base64": echo, "BaseType": "image/png"}]}
    pool.script["outbound"] = [FakeResponse(200, body)]
    result = client(pool).send(PAYLOAD)
    assert result.message_id == "TMID-5"


def test_large_bodies_have_their_media_echo_blanked_before_parsing() -> None:
    echo = "QUJD" * 50_000
    raw = json.dumps({"MessageId": "TMID-5", "MmsBase64": [{"Base64": echo, "BaseType": "image/png"}]}).encode()
    parsed = TelegentClient._json(raw)
    assert parsed["MessageId"] == "TMID-5"
    assert parsed["MmsBase64"][0]["Base64"] == ""


def test_the_handler_import_does_not_load_the_xray_sdk() -> None:
    import os
    import subprocess
    import sys

    code = "import sys, sender.handler; print('aws_xray_sdk.core' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": "functions"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "False"
