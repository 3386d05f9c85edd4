"""The local Function URL adapter: HTTP requests become payload-format-2.0 events, answers become HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from infra.local.function_url import FunctionUrlServer, function_url_event, http_response

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.answer = answer
        self.error = error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        if self.error is not None:
            raise self.error
        return self.answer


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=5))
    yield pool
    pool.clear()


def test_json_post_becomes_a_text_event_and_the_answer_is_served(http: urllib3.PoolManager) -> None:
    handler = Recorder({"statusCode": 201, "headers": {"X-Seen": "yes"}, "body": '{"ok":true}'})
    with FunctionUrlServer(handler, function_name="webhook", url_id="abc123") as server:
        response = http.request(
            "POST",
            server.url + "receipts?a=1&a=2&b=",
            body=b'{"MessageId":"TMID-1"}',
            headers={"Content-Type": "application/json", "Authorization": "Basic dTpw", "Cookie": "x=1; y=2"},
        )
    assert (response.status, response.headers["X-Seen"], response.json()) == (201, "yes", {"ok": True})
    [event] = handler.events
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/receipts")
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"]["authorization"] == "Basic dTpw"  # names lower-cased
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["x=1", "y=2"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"MessageId":"TMID-1"}', False)
    http_context = event["requestContext"]["http"]
    assert (http_context["method"], http_context["path"], http_context["sourceIp"]) == (
        "POST",
        "/receipts",
        "127.0.0.1",
    )
    assert event["requestContext"]["domainName"] == "abc123.lambda-url.us-east-1.on.aws"
    assert handler.contexts[0].function_name == "webhook"
    assert server.invocations[0]["status"] == 201


def test_form_bodies_arrive_base64_encoded_and_get_has_no_body(http: urllib3.PoolManager) -> None:
    handler = Recorder({"statusCode": 200, "body": ""})
    with FunctionUrlServer(handler) as server:
        http.request(
            "POST",
            server.url,
            body=b"MessageID=TMID-1&DeliveryStatus=Delivered",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        http.request("GET", server.url + "?messageId=TMID-2&status=delivered")
    form, get = handler.events
    assert form["isBase64Encoded"] is True
    assert base64.b64decode(form["body"]) == b"MessageID=TMID-1&DeliveryStatus=Delivered"
    assert "body" not in get
    assert get["queryStringParameters"] == {"messageId": "TMID-2", "status": "delivered"}


def test_a_raising_handler_is_a_502_and_plain_values_are_json(http: urllib3.PoolManager) -> None:
    with FunctionUrlServer(Recorder(error=RuntimeError("boom"))) as server:
        failed = http.request("POST", server.url, body=b"{}", headers={"Content-Type": "application/json"})
        assert failed.status == 502
        assert server.invocations[0]["error"] == "RuntimeError"
    with FunctionUrlServer(Recorder({"message": "hi"})) as server:
        plain = http.request("GET", server.url)
    assert (plain.status, plain.headers["Content-Type"], plain.json()) == (200, "application/json", {"message": "hi"})


def test_event_and_response_helpers() -> None:
    binary = function_url_event("post", "/x", [("Content-Type", "application/octet-stream")], b"\xff\x00")
    assert (binary["isBase64Encoded"], base64.b64decode(binary["body"])) == (True, b"\xff\x00")
    bad_utf8_json = function_url_event("POST", "/", [("Content-Type", "application/json")], b"\xff")
    assert bad_utf8_json["isBase64Encoded"] is True
    repeated = function_url_event("GET", "/", [("X-A", "1"), ("x-a", "2")], b"")
    assert repeated["headers"]["x-a"] == "1,2"
    status, headers, body = http_response(
        {"statusCode": 204, "body": base64.b64encode(b"raw").decode(), "isBase64Encoded": True, "cookies": ["c=1"]}
    )
    assert (status, body, ("Set-Cookie", "c=1") in headers) == (204, b"raw", True)
    assert http_response({"statusCode": 200, "body": {"a": 1}})[2] == json.dumps({"a": 1}).encode()
