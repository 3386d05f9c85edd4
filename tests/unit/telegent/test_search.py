"""GET /message/search: reading any documented spelling, and the client's call (scripted pool, no sockets)."""

import json
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from messaging.errors import TransientError, TransientKind
from messaging.ports import Credentials
from telegent.client import TelegentClient
from telegent.search import parse_vendor_time, read_search_page
from telegent.tokens import TokenCache

BASE = "https://api.telegent.test/v1.0"
DOCUMENTED = {
    "PhoneNumber": "+18015737111",
    "ResultsTotalRecords": 1,
    "ResultsPages": 1,
    "Results": [
        {
            "MessageID": "TMID-00348008102307aK01",
            "Direction": "Outbound",
            "Type": "p2p",
            "CampaignID": "TCID-1",
            "Cost": "$0.0045",
            "Status": "Received",
            "To": [{"Number": "+18015737111"}],
            "From": "+18018018011",
            "Owner": "+18018018011",
            "Body": "hello",
            "MmsMedia": [],
            "MmsBase64": [],
        }
    ],
}


def test_the_documented_answer() -> None:
    page = read_search_page(DOCUMENTED)
    assert page is not None
    assert page.pages == 1
    (message,) = page.messages
    assert message.message_id == "TMID-00348008102307aK01"
    assert (message.direction, message.sender, message.to, message.body) == (
        "Outbound",
        "+18018018011",
        ("+18015737111",),
        "hello",
    )
    assert message.cost == Decimal("0.0045")
    assert message.status == "Received"
    assert message.created_at is None  # the documented example has no time


def test_other_spellings_wrapped_lowercase_and_string_recipients() -> None:
    wrapped = {
        "successful": True,
        "data": {
            "resultspages": "2",
            "results": [
                {
                    "messageId": 1116,
                    "from": "+1801",
                    "to": "+1802, +1803",
                    "body": "x",
                    "createdOn": "2025-05-14T17:30:02.817",
                },
                {"MessageId": "TMID-2", "To": ["+1804"], "CreatedAt": "2025-05-14T17:30:02Z"},
                {"no": "id"},
                "junk",
            ],
        },
    }
    page = read_search_page(wrapped)
    assert page is not None
    assert page.pages == 2
    first, second = page.messages
    assert first.message_id == "1116"
    assert first.to == ("+1802", "+1803")
    assert first.created_at == datetime(2025, 5, 14, 17, 30, 2, 817000, tzinfo=UTC)
    assert second.to == ("+1804",)
    assert second.created_at == datetime(2025, 5, 14, 17, 30, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "count"),
    [([], 0), ({"ResultsTotalRecords": 0}, 0), ({"Messages": [{"MessageId": "a"}]}, 1), ([{"MessageId": "b"}], 1)],
)
def test_empty_and_list_shaped_answers(answer: Any, count: int) -> None:
    page = read_search_page(answer)
    assert page is not None
    assert len(page.messages) == count


@pytest.mark.parametrize("answer", [None, "text", {"StatusCode": 500, "Message": "x"}, {"Results": "nope"}])
def test_not_a_search_answer(answer: Any) -> None:
    assert read_search_page(answer) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-14T17:30:02.817", datetime(2025, 5, 14, 17, 30, 2, 817000, tzinfo=UTC)),
        ("2025-05-14T17:30:02+02:00", datetime(2025, 5, 14, 15, 30, 2, tzinfo=UTC)),
        ("16:45:59 MST 2025-01-23", datetime(2025, 1, 23, 16, 45, 59, tzinfo=timezone(timedelta(hours=-7)))),
        ("16:45:59 XYZ 2025-01-23", None),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1747243802, None),
    ],
)
def test_vendor_times(text: Any, expected: datetime | None) -> None:
    assert parse_vendor_time(text) == expected


# ---------------------------------------------------------------- the client


class Answer:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = headers or {}
        self.data = json.dumps(body).encode()


class SearchPool:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []

    def request(self, method: str, url: str, body: Any = None, headers: Any = None, **_: Any) -> Answer:
        self.calls.append((method, url, headers, body))
        if url.endswith("/oauth2/tokens"):
            token = f"tok-{sum(1 for c in self.calls if c[1].endswith('/oauth2/tokens'))}"
            return Answer(200, {"token": token, "successful": True, "tokenExpiry": "01/01/2099 12:00:00 AM"})
        return self.answers.pop(0) if self.answers else Answer(200, DOCUMENTED)


def search_client(pool: SearchPool) -> TelegentClient:
    return TelegentClient(BASE, lambda force: Credentials("DID-1", "s"), pool, TokenCache())  # type: ignore[arg-type]


def test_search_is_a_get_with_the_number_encoded_and_a_token_for_the_bare_search_url() -> None:
    pool = SearchPool()
    page = search_client(pool).search("+18015737111", page=2, results=50)
    assert page.messages[0].message_id == "TMID-00348008102307aK01"
    (token_call, search_call) = pool.calls
    assert json.loads(token_call[3])["ApiEndpoint"] == f"{BASE}/message/search"
    method, url, headers, body = search_call
    assert method == "GET"
    assert body is None
    parts = urllib.parse.urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/message/search"
    assert "%2B18015737111" in parts.query  # a bare + would reach the server as a space
    assert urllib.parse.parse_qs(parts.query) == {"phoneNumber": ["+18015737111"], "Page": ["2"], "Results": ["50"]}
    assert headers["Authorization"] == "Bearer tok-1"


def test_search_refreshes_a_refused_token_once() -> None:
    pool = SearchPool(Answer(401, {"StatusCode": 401, "Message": "scope"}), Answer(200, DOCUMENTED))
    assert len(search_client(pool).search("+18015737111").messages) == 1
    assert [c[2]["Authorization"] for c in pool.calls if "search" in c[1]] == ["Bearer tok-1", "Bearer tok-2"]


@pytest.mark.parametrize(
    ("answer", "kind", "retry_after"),
    [
        (Answer(429, {"StatusCode": 429, "Message": "slow"}, {"Retry-After": "9"}), TransientKind.THROTTLED, 9.0),
        (Answer(503, {"StatusCode": 503, "Message": "down"}), TransientKind.UNAVAILABLE, None),
        (Answer(500, {"StatusCode": 500, "Message": "oops"}), TransientKind.UNAVAILABLE, None),
        (Answer(404, {"StatusCode": 404, "Message": "no such endpoint"}), TransientKind.UNAVAILABLE, None),
        (Answer(200, {"StatusCode": 200, "Message": "OK"}), TransientKind.UNAVAILABLE, None),
    ],
)
def test_any_other_answer_is_no_answer(answer: Answer, kind: TransientKind, retry_after: float | None) -> None:
    with pytest.raises(TransientError) as caught:
        search_client(SearchPool(answer)).search("+18015737111")
    assert caught.value.kind == kind
    assert caught.value.retry_after == retry_after
