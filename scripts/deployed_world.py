"""The real CDK stack deployed to ministack on 127.0.0.1, seen through the same World helpers as tests.

with TelegentSandbox() as sandbox, deployed_stack(sandbox.base_url) as stack:
    stack.world.send_bodies([...])
    stack.wait_for_rows(16)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(ROOT / "functions")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from infra.local.world import World  # noqa: E402
from scripts.local_deploy import bootstrap, deploy, destroy  # noqa: E402
from scripts.ministack import MinistackServer  # noqa: E402

SANDBOX_CREDENTIALS = {"AccountKey": "DID-sandbox", "AccountSecret": "sandbox-secret"}
# Quick enough to show every sample in seconds; the sandbox enforces no limit in the demo.
DEMO_CONTEXT = {"rate_limit_per_minute": "600", "rate_limit_burst": "10", "max_batching_window_seconds": "0"}


@dataclass
class DeployedStack:
    server: MinistackServer
    env: dict[str, str]
    outputs: dict[str, str]
    world: World
    timings: dict[str, float]

    def client(self, service: str) -> Any:
        return self.world.client(service)

    def put_event(self, request: Mapping[str, Any], detail_type: str = "telegent.sms.send") -> None:
        """A send request through the EventBridge bus, as any service would."""
        self.client("events").put_events(
            Entries=[
                {
                    "Source": "com.example.demo",
                    "DetailType": detail_type,
                    "Detail": json.dumps(request),
                    "EventBusName": self.outputs["EventBusName"],
                }
            ]
        )

    def wait_until_processed(self, expected_rows: int, timeout: float = 120) -> float:
        """Wait for the deployed Lambda (behind the real event source mapping) to drain the queue."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            depth = self.world.queue_depth()
            if len(self.world.result_rows()) >= expected_rows and not any(depth.values()):
                return time.monotonic() - started
            time.sleep(0.5)
        raise TimeoutError(
            f"after {timeout}s: {len(self.world.result_rows())} rows, queue {self.world.queue_depth()}\n"
            + self.server.log_tail()
        )


def _world(server: MinistackServer, outputs: Mapping[str, str]) -> World:
    sqs_region = server.region
    queue_url = outputs["QueueUrl"]
    return World(
        endpoint_url=server.endpoint_url,
        region=sqs_region,
        prefix="TelegentSms",
        queue_name=queue_url.rsplit("/", 1)[-1],
        queue_url=queue_url,
        queue_arn=outputs["QueueArn"],
        dlq_name=outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1],
        dlq_url=outputs["DeadLetterQueueUrl"],
        dlq_arn="",
        messages_table=outputs["MessagesTableName"],
        idempotency_table=outputs["IdempotencyTableName"],
        rate_limit_table=outputs["RateLimitTableName"],
        media_bucket=outputs["MediaBucketName"],
        secret_name=outputs["SecretArn"],
        secret_arn=outputs["SecretArn"],
        max_receive_count=5,
        visibility_timeout=0,
    )


@contextmanager
def deployed_stack(
    sandbox_base_url: str, context: Mapping[str, Any] | None = None, *, tear_down: bool = True
) -> Iterator[DeployedStack]:
    """Start ministack, `cdk bootstrap` + `cdk deploy` the real stack, set the secret; undo it all after."""
    timings: dict[str, float] = {}
    with MinistackServer() as server:
        env = server.env()
        started = time.monotonic()
        bootstrap(env)
        timings["bootstrap"] = time.monotonic() - started
        started = time.monotonic()
        outputs = deploy(env, {"telegent_base_url": sandbox_base_url, **DEMO_CONTEXT, **(context or {})})
        timings["deploy"] = time.monotonic() - started
        world = _world(server, outputs)
        world.client("secretsmanager").put_secret_value(
            SecretId=outputs["SecretArn"], SecretString=json.dumps(SANDBOX_CREDENTIALS)
        )
        stack = DeployedStack(server, env, outputs, world, timings)
        try:
            yield stack
        finally:
            if tear_down:
                started = time.monotonic()
                destroy(env)
                timings["destroy"] = time.monotonic() - started
