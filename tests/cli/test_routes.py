"""`route show|set-callback` against the Telegent sandbox's message routes, with the stack's credentials.

The receipts the sandbox then sends are caught by a small local server: the credential they carry
is the one the webhook accepts (messaging.callback_auth), and it never shows in the CLI's output.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from messaging.callback_auth import CallbackCredential
from tests.cli.conftest import Operator, one_line_error
from tests.integration.helpers import sms

PASSWORD = "callback-pw-7f3a9"
TOKEN = "callback-token-51c2e"


@dataclass
class Catcher:
    """A webhook stand-in recording each request's Authorization header and body."""

    url: str
    seen: list[tuple[str | None, str]] = field(default_factory=list)


@pytest.fixture
def catcher() -> Iterator[Catcher]:
    found = Catcher("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            found.seen.append((self.headers.get("Authorization"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/receipts"
    yield found
    server.shutdown()
    server.server_close()
    thread.join()


def callback_secret(operator: Operator, name: str, value: dict[str, str]) -> str:
    return str(
        operator.world.client("secretsmanager").create_secret(
            Name=f"{operator.world.prefix}/{name}", SecretString=json.dumps(value)
        )["ARN"]
    )


@pytest.fixture
def routed(operator: Operator, catcher: Catcher) -> Operator:
    """A stack whose sender calls the sandbox, whose WebhookUrl is the catcher, with a Basic callback secret."""
    secret = callback_secret(operator, "callback", {"Username": "telegent", "Password": PASSWORD})
    return operator.with_sender_function(
        f"{operator.stack_name}-routes", WebhookUrl=catcher.url, CallbackSecretArn=secret
    )


def create_route(operator: Operator, name: str = "numbers") -> dict[str, Any]:
    return operator.env.sandbox.set_route(
        RouteName=name, MessageUrl="https://inbound.example.com/sms", MessageUrlMethod="POST"
    )


def test_show_without_a_route_exits_1(routed: Operator) -> None:
    result = routed.run("route", "show")
    assert result.exit_code == 1
    assert "has no message route" in one_line_error(result)


def test_show_lists_the_accounts_routes_and_one_by_id(routed: Operator) -> None:
    first = create_route(routed, "first")
    second = create_route(routed, "second")
    listed = routed.json("route", "show")
    assert [route["MessageRouteId"] for route in listed] == [first["MessageRouteId"], second["MessageRouteId"]]
    assert listed[0]["RouteName"] == "first"
    assert listed[0]["CallbackMessageAuthenticationType"] == "None"

    one = routed.json("route", "show", second["MessageRouteId"])
    assert one["RouteName"] == "second"

    people = routed.run("route", "show", first["MessageRouteId"])
    assert people.exit_code == 0, people.output
    assert f"message route {first['MessageRouteId']}" in people.stdout
    assert "receipts do not go to this stack's webhook" in people.stdout

    unknown = routed.run("route", "show", "MRID-nope")
    assert unknown.exit_code == 1
    assert "has no message route 'MRID-nope'" in one_line_error(unknown)

    # One token per bare endpoint URL, asked with the stack's vendor secret.
    base = routed.env.sandbox.base_url
    scopes = {token.get("body", {}).get("ApiEndpoint") for token in routed.env.sandbox.token_requests()}
    assert {f"{base}/account/message/routes", f"{base}/message/routes"} <= scopes


def test_set_callback_points_receipts_at_the_webhook_with_the_stacks_basic_credential(
    routed: Operator, catcher: Catcher
) -> None:
    route = create_route(routed)
    result = routed.run("route", "set-callback")
    assert result.exit_code == 0, result.output
    assert f"receipts now go to {catcher.url} (Basic as telegent" in result.stdout
    assert PASSWORD not in result.output

    (stored,) = routed.env.sandbox.routes()
    assert stored["MessageRouteId"] == route["MessageRouteId"]
    assert stored["CallbackMessageUrl"] == catcher.url
    assert stored["CallbackMessageAuthenticationType"] == "Basic"
    assert stored["CallbackMessageUsername"] == "telegent"
    assert stored["MessageUrl"] == "https://inbound.example.com/sms"  # nothing else changed

    # A message sent now gets its receipt at the webhook, with the credential the webhook accepts.
    routed.env.sandbox.configure_receipts(delay=0.1)
    routed.env.send(sms("receipted"))
    routed.env.drain()
    routed.env.sandbox.wait_for_callbacks(lambda entries: any(e.get("outcome") == "delivered" for e in entries))
    authorization, body = catcher.seen[-1]
    assert CallbackCredential(username="telegent", password=PASSWORD).accepts(authorization)
    assert routed.env.rows()["receipted"]["MessageId"] in body


def test_set_callback_with_a_token_secret_and_an_explicit_url_is_bearer(routed: Operator, catcher: Catcher) -> None:
    create_route(routed)
    secret = callback_secret(routed, "bearer", {"Token": TOKEN})
    url = f"{catcher.url}?via=explicit"
    shown = routed.json("route", "set-callback", url, "--secret", secret)
    assert shown["CallbackMessageUrl"] == url
    assert shown["CallbackMessageAuthenticationType"] == "Bearer"
    assert TOKEN not in json.dumps(shown)

    routed.env.sandbox.configure_receipts(delay=0.1)
    routed.env.send(sms("bearer"))
    routed.env.drain()
    routed.env.sandbox.wait_for_callbacks(lambda entries: any(e.get("outcome") == "delivered" for e in entries))
    assert catcher.seen[-1][0] == f"Bearer {TOKEN}"


def test_several_routes_need_route(routed: Operator) -> None:
    create_route(routed, "first")
    second = create_route(routed, "second")
    ambiguous = routed.run("route", "set-callback")
    assert ambiguous.exit_code == 2
    assert "has 2 message routes" in one_line_error(ambiguous)

    chosen = routed.json("route", "set-callback", "--route", second["MessageRouteId"])
    assert chosen["MessageRouteId"] == second["MessageRouteId"]
    by_name = {route["RouteName"]: route for route in routed.env.sandbox.routes()}
    assert by_name["second"]["CallbackMessageAuthenticationType"] == "Basic"
    assert by_name["first"]["CallbackMessageAuthenticationType"] == "None"


def test_set_callback_without_a_route_or_a_webhook_output_exits_1(routed: Operator, operator: Operator) -> None:
    no_route = routed.run("route", "set-callback")
    assert no_route.exit_code == 1
    assert "has no message route" in one_line_error(no_route)

    create_route(routed)
    no_webhook = operator.with_sender_function(f"{operator.stack_name}-nowebhook").run("route", "set-callback")
    assert no_webhook.exit_code == 1
    assert "has no output 'WebhookUrl'" in one_line_error(no_webhook)


def test_a_callback_secret_of_the_wrong_shape_is_named_not_quoted(routed: Operator) -> None:
    create_route(routed)
    secret = callback_secret(routed, "odd", {"User": "telegent", "Secret": PASSWORD})
    result = routed.run("route", "set-callback", "--secret", secret)
    assert result.exit_code == 1
    assert 'needs {"Username", "Password"} or {"Token"}' in one_line_error(result)
    assert PASSWORD not in result.output
    (stored,) = routed.env.sandbox.routes()
    assert stored["CallbackMessageUrl"] is None  # nothing was changed


def test_telegents_refusal_is_one_line(routed: Operator) -> None:
    create_route(routed)
    routed.env.sandbox.add_fault("routes_update", 400, body={"StatusCode": 400, "Message": "Route is locked."})
    result = routed.run("route", "set-callback")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "refused" in line
    assert "Route is locked." in line
    assert PASSWORD not in result.output


def test_bad_usage_exits_2(routed: Operator) -> None:
    assert routed.run("route", "set-callback", "--method", "PUT").exit_code == 2
    assert routed.run("route", "set-callback", "ftp://example.com/x").exit_code == 2
