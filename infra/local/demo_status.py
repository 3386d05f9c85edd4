"""`make demo`, delivery status: the Telegent sandbox's route calls the deployed webhook's Function URL.

After the samples (sent while the sandbox has no route, so their rows stay SENT as
events/expected.json says), the demo registers the route the way an operator would: the deployed
`WebhookUrl` (ministack serves it at `<endpoint>/_aws/lambda-url/<url-id>/`, docs/ministack.md) and
the stack's generated callback credential. Then it sends three messages, one to an ordinary number
and two to the sandbox's magic numbers, and follows their rows SENT -> DELIVERED / FAILED /
UNDELIVERABLE through the deployed webhook, status queue and tracker, plus the telegent.sms.status
events the deployed status-events function publishes (caught by a rule into a queue of its own).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from infra.local.demo_report import table
from infra.local.deploy import DeployedStack
from infra.local.sandbox import TelegentSandbox
from infra.local.sandbox_routes import MAGIC_FAILED, MAGIC_UNDELIVERED
from messaging import names as constants

FINAL = frozenset({"DELIVERED", "FAILED", "UNDELIVERABLE"})
FROM = "+18018018011"
CASES = (  # RequestId, To, the row's expected final Status
    ("demo-status-delivered", "+18015737188", "DELIVERED"),
    ("demo-status-failed", MAGIC_FAILED, "FAILED"),
    ("demo-status-undeliverable", MAGIC_UNDELIVERED, "UNDELIVERABLE"),
)


@dataclass
class Progress:
    """What each row looked like over time: (seconds since send, Status, StatusSource), changes only."""

    seen: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)

    def observe(self, elapsed: float, rows: Mapping[str, Mapping[str, Any]]) -> None:
        for key, row in rows.items():
            status, source = str(row.get("Status")), str(row.get("StatusSource", ""))
            history = self.seen.setdefault(key, [])
            if not history or history[-1][1:] != (status, source):
                history.append((elapsed, status, source))

    def line(self, key: str) -> str:
        return " -> ".join(f"{status} ({source}, {at:.1f}s)" for at, status, source in self.seen.get(key, []))


def webhook_endpoint(stack: DeployedStack) -> str:
    """The deployed Function URL as ministack serves it."""
    url_id = (urlparse(stack.outputs["WebhookUrl"]).hostname or "").split(".", 1)[0]
    return f"{stack.world.endpoint_url}/_aws/lambda-url/{url_id}/"


def register_route(stack: DeployedStack, sandbox: TelegentSandbox) -> dict[str, Any]:
    """The sandbox's message route -> the deployed webhook, with the stack's callback credential."""
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.outputs["CallbackSecretArn"])
    credential = json.loads(secret["SecretString"])
    if credential.get("Token"):
        auth = {"CallbackMessageAuthenticationType": "Bearer", "CallbackMessagePasswordToken": credential["Token"]}
    else:
        auth = {
            "CallbackMessageAuthenticationType": "Basic",
            "CallbackMessageUsername": credential["Username"],
            "CallbackMessagePasswordToken": credential["Password"],
        }
    url = webhook_endpoint(stack)
    return sandbox.set_route(
        RouteName="telegent-sms demo",
        MessageUrl=url,
        MessageUrlMethod="POST",
        CallbackMessageUrl=url,
        CallbackMessageUrlMethod="POST",
        **auth,
    )


def capture_status_events(stack: DeployedStack) -> str:
    """A queue that receives every telegent-sms event on the stack's bus (a rule of the demo's own)."""
    sqs, events = stack.client("sqs"), stack.client("events")
    queue_url = str(sqs.create_queue(QueueName="telegent-sms-demo-status-events")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.outputs["EventBusName"]
    events.put_rule(
        Name="telegent-sms-demo-status-events",
        EventBusName=bus,
        EventPattern=json.dumps({"source": [constants.EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule="telegent-sms-demo-status-events", EventBusName=bus, Targets=[{"Id": "demo", "Arn": queue_arn}]
    )
    return queue_url


def read_events(stack: DeployedStack, queue_url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def show_delivery_status(stack: DeployedStack, sandbox: TelegentSandbox, timeout: float = 120) -> bool:
    """Register the route, send the three cases, print how their rows and events went; True when as expected."""
    route = register_route(stack, sandbox)
    events_queue = capture_status_events(stack)
    sandbox.configure_receipts(delay=1.0)
    print(
        f"\nDelivery status: the sandbox's route {route['MessageRouteId']} now sends receipts to the deployed "
        f"webhook\n  {route['CallbackMessageUrl']} (Function URL {stack.outputs['WebhookUrl']}), "
        f"{route['CallbackMessageAuthenticationType']} credential from the stack's callback secret.",
        flush=True,
    )
    keys = [key for key, _to, _status in CASES]
    started = time.monotonic()
    stack.world.send_bodies(
        [
            {"IdempotencyKey": key, "To": [{"Number": to}], "From": FROM, "Body": "Delivery status demo"}
            for key, to, _ in CASES
        ]
    )
    progress = Progress()
    rows: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    while time.monotonic() - started < timeout:
        rows = {r["RequestId"]: r for r in stack.world.result_rows() if r["RequestId"] in keys}
        progress.observe(time.monotonic() - started, rows)
        events += read_events(stack, events_queue)
        if len(rows) == len(keys) and all(r.get("Status") in FINAL for r in rows.values()):
            break
        time.sleep(0.3)
    deadline = time.monotonic() + 15  # the stream publisher runs after the row changed
    while time.monotonic() < deadline and sum(e["detail"].get("Status") in FINAL for e in events) < len(keys):
        time.sleep(0.5)
        events += read_events(stack, events_queue)

    print("\nRows of the three messages (To picks the sandbox's outcome, docs/sandbox.md):")
    print(
        table(
            ["RequestId", "To", "Status", "VendorStatus", "StatusSource", "StatusAt", "seen"],
            [
                (
                    key,
                    to,
                    rows.get(key, {}).get("Status", "-"),
                    rows.get(key, {}).get("VendorStatus"),
                    rows.get(key, {}).get("StatusSource"),
                    rows.get(key, {}).get("StatusAt"),
                    progress.line(key),
                )
                for key, to, _expected in CASES
            ],
        )
    )
    receipts = sandbox.callbacks("receipt")
    answers = sorted({f"{e['outcome']} {e.get('http_status') or ''}".strip() for e in receipts})
    print(f"Sandbox receipt calls: {len(receipts)} ({', '.join(answers) or 'none'}).")
    status_events = [e for e in events if e.get("detail-type") == constants.EVENT_DETAIL_TYPE_STATUS]
    print(f"\ntelegent.sms.status events received on the bus ({len(status_events)}):")
    print(
        table(
            ["RequestId", "PreviousStatus", "Status", "VendorStatus", "StatusAt"],
            [
                (d.get("RequestId"), d.get("PreviousStatus"), d.get("Status"), d.get("VendorStatus"), d.get("StatusAt"))
                for d in (e["detail"] for e in status_events)
                if d.get("RequestId") in keys
            ],
        )
    )
    published = {(e["detail"].get("RequestId"), e["detail"].get("Status")) for e in status_events}
    ok = all(
        rows.get(key, {}).get("Status") == expected
        and rows.get(key, {}).get("StatusSource") == "callback"
        and (key, expected) in published
        for key, _to, expected in CASES
    )
    print(
        f"Delivery status {'as expected' if ok else 'NOT as expected'}: "
        "DELIVERED, FAILED, UNDELIVERABLE by callback, each published as an event."
    )
    return ok
