"""The sandbox's message search, its indexing delay, the trickle fault and lost answers (DESIGN.md 4b)."""

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from infra.local.sandbox import DEFAULT_ACCOUNT_KEY, DEFAULT_ACCOUNT_SECRET, SandboxControl, TelegentSandbox

pytestmark = pytest.mark.integration

TO, OTHER, FROM = "+18015737111", "+18015737222", "+18018018011"


@pytest.fixture
def sandbox() -> Iterator[TelegentSandbox]:
    with TelegentSandbox() as sb:
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


def send(http: urllib3.PoolManager, sb: Any, to: str, body: str) -> urllib3.BaseHTTPResponse:
    return http.request(
        "POST",
        sb.endpoint_url("outbound"),
        json={"To": [{"Number": to}], "From": FROM, "Body": body},
        headers={"Authorization": f"Bearer {token(http, sb, 'outbound')}"},
    )


def search(http: urllib3.PoolManager, sb: Any, query: str, bearer: str | None = None) -> urllib3.BaseHTTPResponse:
    bearer = bearer or token(http, sb, "search")
    return http.request("GET", f"{sb.endpoint_url('search')}?{query}", headers={"Authorization": f"Bearer {bearer}"})


def number(value: str) -> str:
    return urllib.parse.urlencode({"phoneNumber": value})


def test_search_lists_the_numbers_messages_newest_first_in_the_documented_shape(
    sandbox: TelegentSandbox, http: urllib3.PoolManager
) -> None:
    first = send(http, sandbox, TO, "one").json()["MessageId"]
    send(http, sandbox, OTHER, "elsewhere")
    second = send(http, sandbox, TO, "two").json()["MessageId"]
    answer = search(http, sandbox, number(TO))
    assert answer.status == 200
    data = answer.json()
    assert (data["PhoneNumber"], data["ResultsTotalRecords"], data["ResultsPages"]) == (TO, 2, 1)
    assert [item["MessageID"] for item in data["Results"]] == [second, first]
    item = data["Results"][1]
    assert item["Direction"] == "Outbound"
    assert item["Cost"] == "$0.0045"
    assert item["To"] == [{"Number": TO}]
    assert (item["From"], item["Owner"], item["Body"], item["Status"]) == (FROM, FROM, "one", "Queued")
    assert item["CreatedOn"]
    # The sender's number finds all three.
    assert search(http, sandbox, number(FROM)).json()["ResultsTotalRecords"] == 3


def test_search_pages(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    for index in range(5):
        send(http, sandbox, TO, f"m{index}")
    page = search(http, sandbox, f"{number(TO)}&Page=2&Results=2").json()
    assert (page["ResultsTotalRecords"], page["ResultsPages"]) == (5, 3)
    assert [item["Body"] for item in page["Results"]] == ["m2", "m1"]
    assert search(http, sandbox, f"{number(TO)}&Page=9&Results=2").json()["Results"] == []


@pytest.mark.parametrize(
    "query", ["", "phoneNumber=", "phoneNumber=%2B1801&Page=0", "phoneNumber=%2B1801&Results=x", "Page=1"]
)
def test_search_needs_a_number_and_sane_paging(sandbox: TelegentSandbox, http: urllib3.PoolManager, query: str) -> None:
    assert search(http, sandbox, query).status == 400


def test_an_unencoded_plus_is_a_space_and_finds_nothing(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    send(http, sandbox, TO, "one")
    assert search(http, sandbox, f"phoneNumber={TO}").json()["ResultsTotalRecords"] == 0


def test_search_needs_a_token_scoped_to_the_search_url(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    assert search(http, sandbox, number(TO), bearer=token(http, sandbox, "outbound")).status == 401
    assert search(http, sandbox, number(TO), bearer="nonsense").status == 401


def test_messages_become_searchable_after_the_indexing_delay(
    sandbox: TelegentSandbox, http: urllib3.PoolManager
) -> None:
    sandbox.set_search_index_delay(0.5)
    send(http, sandbox, TO, "one")
    assert search(http, sandbox, number(TO)).json()["ResultsTotalRecords"] == 0
    time.sleep(0.6)
    assert search(http, sandbox, number(TO)).json()["ResultsTotalRecords"] == 1
    assert sandbox.config()["search_index_delay"] == 0.5


def test_search_takes_faults_like_the_other_endpoints(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.add_fault("search", 429, retry_after=3)
    sandbox.add_fault("search", drop=True)
    throttled = search(http, sandbox, number(TO))
    assert (throttled.status, throttled.headers["Retry-After"]) == (429, "3")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        search(http, sandbox, number(TO))
    assert search(http, sandbox, number(TO)).status == 200
    assert [r["status"] for r in sandbox.search_requests()] == [429, None, 200]


def test_a_trickled_answer_arrives_whole_but_slowly(sandbox: TelegentSandbox) -> None:
    """The whole answer, status line first, a few bytes per pause: every read is quick, the call is not."""
    sandbox.add_fault("outbound", 503, trickle_ms=20, trickle_bytes=16)
    request = b"POST /v1.0/message/outbound HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as conn:
        conn.sendall(request)
        chunks: list[tuple[float, bytes]] = []
        while data := conn.recv(4096):
            chunks.append((time.monotonic(), data))
    raw = b"".join(data for _, data in chunks)
    assert raw.startswith(b"HTTP/1.1 503 ")
    assert raw.endswith(b'"}')
    assert len(chunks) > 5  # arrived in many small pieces
    assert all(len(data) <= 16 for _, data in chunks)
    assert sandbox.requests()[0]["status"] == 503


def test_a_trickled_success_is_stored_as_sent(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.add_fault("outbound", trickle_ms=1, trickle_bytes=64)
    answer = send(http, sandbox, TO, "slow")
    assert answer.status == 200
    assert [m["message_id"] for m in sandbox.sent_messages()] == [answer.json()["MessageId"]]


def test_invalid_trickle_and_loss_settings_are_refused(sandbox: TelegentSandbox) -> None:
    with pytest.raises(ValueError, match="trickle_ms"):
        sandbox.add_fault("outbound", trickle_ms=-1)
    with pytest.raises(ValueError, match="trickle_bytes"):
        sandbox.add_fault("outbound", trickle_ms=1, trickle_bytes=0)
    with pytest.raises(ValueError, match="nothing to trickle"):
        sandbox.add_fault("outbound", drop=True, trickle_ms=1)
    with pytest.raises(ValueError, match="accept_then_fail_rate"):
        sandbox.set_accept_then_fail_rate(1.5)
    with pytest.raises(ValueError, match="search_index_delay"):
        sandbox.set_search_index_delay(-1)


def test_lost_answers_store_the_message_and_fail_the_call(sandbox: TelegentSandbox, http: urllib3.PoolManager) -> None:
    sandbox.set_accept_then_fail_rate(0.5, seed=7)
    outcomes: list[int | None] = []
    for index in range(40):
        try:
            outcomes.append(send(http, sandbox, TO, f"m{index}").status)
        except urllib3.exceptions.ProtocolError:
            outcomes.append(None)
    stored = sandbox.sent_messages()
    assert len(stored) == 40  # every one was accepted
    lost = [o for o in outcomes if o != 200]
    assert 8 <= len(lost) <= 32
    assert set(lost) <= {None, 500, 502, 504}
    records = [r for r in sandbox.requests("outbound")]
    assert sum(1 for r in records if r["fault"]) == len(lost)
    # The same seed gives the same losses.
    sandbox.reset()
    sandbox.set_accept_then_fail_rate(0.5, seed=7)
    again: list[int | None] = []
    for index in range(40):
        try:
            again.append(send(http, sandbox, TO, f"m{index}").status)
        except urllib3.exceptions.ProtocolError:
            again.append(None)
    assert again == outcomes
    sandbox.set_accept_then_fail_rate(0)


def test_the_control_api_sets_the_new_knobs() -> None:
    with TelegentSandbox() as sb:
        control = SandboxControl(sb.root_url)
        control.set_search_index_delay(2)
        control.set_accept_then_fail_rate(0.1, seed=3)
        assert {k: sb.config()[k] for k in ("search_index_delay", "accept_then_fail_rate", "random_seed")} == {
            "search_index_delay": 2.0,
            "accept_then_fail_rate": 0.1,
            "random_seed": 3,
        }
        control.add_fault("search", 500)
        assert control.pending_faults()[0]["path"] == "search"
