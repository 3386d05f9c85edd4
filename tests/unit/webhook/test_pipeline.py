from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from messaging.callback_auth import CallbackCredential, CallbackSecretError
from messaging.receipts import Receipt, parse_envelope
from webhook.pipeline import MAX_BODY_BYTES, Unavailable, WebhookDeps, handle_call

NOW = datetime(2025, 5, 15, tzinfo=UTC)
BASIC = CallbackCredential.from_secret({"Username": "telegent", "Password": "s3cret"})
BEARER = CallbackCredential.from_secret({"Token": "tok-123"})


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


GOOD = basic("telegent", "s3cret")


class World:
    def __init__(self, credential: CallbackCredential = BASIC) -> None:
        self.queued: list[str] = []
        self.credential = credential
        self.queue_down = False
        self.secret_down = False

    def deps(self) -> WebhookDeps:
        def credential() -> CallbackCredential:
            if self.secret_down:
                raise Unavailable("secret")
            return self.credential

        def enqueue(body: str) -> None:
            if self.queue_down:
                raise Unavailable("queue")
            self.queued.append(body)

        return WebhookDeps(credential=credential, enqueue=enqueue, clock=lambda: NOW)


def call(
    world: World,
    *,
    method: str = "POST",
    body: str | None = None,
    content_type: str | None = "application/json",
    authorization: str | None = GOOD,
    query: str = "",
    is_base64: bool = False,
) -> dict[str, Any]:
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    if authorization:
        headers["authorization"] = authorization
    event = {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": body,
        "isBase64Encoded": is_base64,
    }
    return handle_call(event, world.deps())


RECEIPT = json.dumps({"MessageId": "TMID-1", "Status": "Delivered"})


def test_post_json_is_queued_without_the_credential() -> None:
    world = World()
    reply = call(world, body=RECEIPT)
    assert reply["statusCode"] == 200
    assert len(world.queued) == 1
    assert "s3cret" not in world.queued[0]
    assert GOOD.split()[1] not in world.queued[0]
    envelope = json.loads(world.queued[0])
    assert (envelope["Method"], envelope["ContentType"], envelope["Body"]) == ("POST", "application/json", RECEIPT)
    parsed = parse_envelope(world.queued[0])
    assert isinstance(parsed[0], Receipt)
    assert parsed[0].message_id == "TMID-1"


def test_post_form_and_get_query_are_queued() -> None:
    world = World()
    form = "Message_ID=TMID-2&Status=Failed"
    assert call(world, body=form, content_type="application/x-www-form-urlencoded")["statusCode"] == 200
    assert call(world, method="GET", content_type=None, query="MessageId=TMID-3&Status=Delivered")["statusCode"] == 200
    ids = [p.message_id for text in world.queued for p in parse_envelope(text) if isinstance(p, Receipt)]
    assert ids == ["TMID-2", "TMID-3"]


def test_base64_body_is_decoded() -> None:
    world = World()
    encoded = base64.b64encode(RECEIPT.encode()).decode()
    assert call(world, body=encoded, is_base64=True)["statusCode"] == 200
    assert json.loads(world.queued[0])["Body"] == RECEIPT


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        basic("telegent", "wrong"),
        basic("someone", "s3cret"),
        basic("telegent", "s3cret") + "x",
        "Basic " + base64.b64encode(b"telegents3cret").decode(),
        "Basic not-base64!",
        "Bearer s3cret",
        "telegent:s3cret",
    ],
)
def test_wrong_or_missing_basic_credential_is_401_and_nothing_queued(authorization: str | None) -> None:
    world = World()
    reply = call(world, body=RECEIPT, authorization=authorization)
    assert reply["statusCode"] == 401
    assert reply["headers"]["WWW-Authenticate"].startswith("Basic")
    assert world.queued == []


@pytest.mark.parametrize("authorization", [None, "Bearer tok-12", "Bearer tok-1234", "Basic dG9rLTEyMw==", "Bearer "])
def test_wrong_bearer_is_401(authorization: str | None) -> None:
    world = World(BEARER)
    assert call(world, body=RECEIPT, authorization=authorization)["statusCode"] == 401
    assert world.queued == []


def test_right_bearer_is_accepted_case_insensitive_scheme() -> None:
    world = World(BEARER)
    assert call(world, body=RECEIPT, authorization="bearer tok-123")["statusCode"] == 200


def test_size_cap() -> None:
    world = World()
    at_cap = "x" * MAX_BODY_BYTES
    assert call(world, body=at_cap, content_type="text/plain")["statusCode"] == 200
    assert call(world, body=at_cap + "x", content_type="text/plain")["statusCode"] == 413
    assert len(world.queued) == 1


def test_other_methods_are_405() -> None:
    world = World()
    assert call(world, method="PUT", body=RECEIPT)["statusCode"] == 405
    assert world.queued == []


def test_503_when_the_queue_or_the_secret_is_unavailable() -> None:
    world = World()
    world.queue_down = True
    assert call(world, body=RECEIPT)["statusCode"] == 503
    world.queue_down, world.secret_down = False, True
    assert call(world, body=RECEIPT)["statusCode"] == 503
    assert world.queued == []


@pytest.mark.parametrize(
    "value", [None, "text", {}, {"Username": "u"}, {"Username": "", "Password": "p"}, {"Token": ""}]
)
def test_malformed_secret(value: Any) -> None:
    with pytest.raises(CallbackSecretError):
        CallbackCredential.from_secret(value)


def test_credential_repr_hides_secrets() -> None:
    assert "s3cret" not in repr(BASIC)
    assert "tok-123" not in repr(BEARER)
