"""Delivery status tracking on the deployed stack (ministack): a receipt posted to the webhook's
Function URL travels status queue -> tracker -> row, and the row becomes DELIVERED.

One test plays Telegent itself: it posts the receipt with the route's Basic credential, read from
the stack's generated callback secret. The last one lets the sandbox's message route call the
deployed webhook, as `make demo` does (infra.local.demo_status).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from infra.local.deploy import DeployedStack, deployed_stack
from infra.local.sandbox import TelegentSandbox
from messaging import names as constants

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(600)]

REQUEST_ID = "deploy-tracking-1"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[TelegentSandbox]:
    with TelegentSandbox() as server:
        yield server


@pytest.fixture(scope="module")
def stack(sandbox: TelegentSandbox) -> Iterator[DeployedStack]:
    with deployed_stack(sandbox.base_url, tear_down=False) as deployed:
        yield deployed


def webhook_endpoint(stack: DeployedStack) -> str:
    """ministack serves `https://<id>.lambda-url.<region>.on.aws/` at `<endpoint>/_aws/lambda-url/<id>/`."""
    url_id = urlparse(stack.outputs["WebhookUrl"]).hostname.split(".", 1)[0]  # type: ignore[union-attr]
    return f"{stack.world.endpoint_url}/_aws/lambda-url/{url_id}/"


def post(url: str, body: dict[str, Any], authorization: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def basic_credential(stack: DeployedStack) -> str:
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.outputs["CallbackSecretArn"])
    value = json.loads(secret["SecretString"])
    assert set(value) == {"Username", "Password"}
    token = base64.b64encode(f"{value['Username']}:{value['Password']}".encode()).decode()
    return f"Basic {token}"


def wait_for_row(stack: DeployedStack, predicate: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        rows = {r["RequestId"]: r for r in stack.world.result_rows()}
        row = rows.get(REQUEST_ID, {})
        if row and predicate(row):
            return row
        time.sleep(0.5)
    pytest.fail(f"row now {row}\n{stack.server.log_tail()}")


def test_tracking_functions_are_deployed_with_their_triggers(stack: DeployedStack) -> None:
    lambda_client = stack.client("lambda")
    handlers = {
        function["Handler"]: function
        for page in lambda_client.get_paginator("list_functions").paginate()
        for function in page["Functions"]
    }
    for handler in (
        constants.WEBHOOK_HANDLER,
        constants.TRACKER_HANDLER,
        constants.STATUS_POLLER_HANDLER,
        constants.STATUS_EVENTS_HANDLER,
    ):
        assert handler in handlers, sorted(handlers)
    webhook = handlers[constants.WEBHOOK_HANDLER]
    assert webhook["Environment"]["Variables"][constants.ENV_STATUS_QUEUE_URL] == stack.outputs["StatusQueueUrl"]
    url_config = lambda_client.get_function_url_config(FunctionName=webhook["FunctionName"])
    assert url_config["AuthType"] == "NONE"

    def sources(handler: str) -> list[str]:
        mappings = lambda_client.list_event_source_mappings(FunctionName=handlers[handler]["FunctionName"])
        return [m["EventSourceArn"] for m in mappings["EventSourceMappings"]]

    (tracker_source,) = sources(constants.TRACKER_HANDLER)
    assert tracker_source.endswith(stack.outputs["StatusQueueUrl"].rsplit("/", 1)[-1])
    (stream_source,) = sources(constants.STATUS_EVENTS_HANDLER)
    assert "/stream/" in stream_source


def test_receipt_posted_to_the_webhook_makes_the_row_delivered(stack: DeployedStack) -> None:
    stack.world.send_bodies(
        [{"IdempotencyKey": REQUEST_ID, "To": [{"Number": "+18015737123"}], "From": "+18018018011", "Body": "hi"}]
    )
    sent = wait_for_row(stack, lambda row: row.get("Status") == "SENT" and row.get("MessageId"))
    url = webhook_endpoint(stack)
    receipt = {"MessageId": sent["MessageId"], "Status": "Delivered"}

    # Without the route's credential: refused, nothing queued, the row unchanged.
    assert post(url, receipt, None) == 401
    assert post(url, receipt, "Basic " + base64.b64encode(b"telegent:wrong").decode()) == 401

    assert post(url, receipt, basic_credential(stack)) == 200
    delivered = wait_for_row(stack, lambda row: row.get("Status") == "DELIVERED")
    assert delivered["StatusSource"] == "callback"
    assert delivered["MessageId"] == sent["MessageId"]


def test_sandbox_route_receipts_reach_the_deployed_webhook(stack: DeployedStack, sandbox: TelegentSandbox) -> None:
    """Telegent played by the sandbox: its route calls the deployed Function URL with the stack's credential;
    rows end DELIVERED/FAILED/UNDELIVERABLE by callback and each change is a status event without numbers."""
    from infra.local.demo_status import CASES, FINAL, capture_status_events, read_events, register_route

    route = register_route(stack, sandbox)
    assert route["CallbackMessageUrl"] == webhook_endpoint(stack)
    assert route["CallbackMessageAuthenticationType"] == "Basic"
    sandbox.configure_receipts(delay=0.5)
    events_queue = capture_status_events(stack)
    keys = {key: expected for key, _to, expected in CASES}
    stack.world.send_bodies(
        [{"IdempotencyKey": key, "To": [{"Number": to}], "From": "+18018018011", "Body": "hi"} for key, to, _ in CASES]
    )
    deadline = time.monotonic() + 120
    rows: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        rows = {r["RequestId"]: r for r in stack.world.result_rows() if r["RequestId"] in keys}
        if len(rows) == len(keys) and all(r["Status"] in FINAL for r in rows.values()):
            break
        time.sleep(0.5)
    assert {key: (row["Status"], row.get("StatusSource")) for key, row in rows.items()} == {
        key: (expected, "callback") for key, expected in keys.items()
    }, stack.server.log_tail()
    assert {e["outcome"] for e in sandbox.callbacks("receipt")} == {"delivered"}

    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        events += read_events(stack, events_queue)
        finals = {
            (e["detail"]["RequestId"], e["detail"]["Status"]) for e in events if e["detail"].get("RequestId") in keys
        }
        if all((key, expected) in finals for key, expected in keys.items()):
            break
        time.sleep(0.5)
    assert all((key, expected) in finals for key, expected in keys.items()), events
    assert {e["detail-type"] for e in events} == {constants.EVENT_DETAIL_TYPE_STATUS}
    assert "+1" not in json.dumps(events)  # no phone numbers in status events
    assert all("Body" not in e["detail"] for e in events)
