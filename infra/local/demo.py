"""`make demo`: the product as DevOps run it, on 127.0.0.1.

Starts ministack and the Telegent sandbox, `cdk bootstrap` + `cdk deploy` the real stack (emulator
layer, sandbox base URL), sets the secret, uploads the sample media, sends every events/ request to
the deployed queue (and one more through the EventBridge bus), waits for the deployed Lambda behind
the real event source mapping, prints result rows and DLQ contents; shows a SendAt schedule created by the
deployed sender and fired by ministack's Scheduler, and the samples' expired request and dry run
(infra.local.demo_send_time); then points the sandbox's message
route at the deployed webhook and follows three messages to DELIVERED/FAILED/UNDELIVERABLE
(infra.local.demo_status); ends with what an operator sees: `telegent-sms status` of the delivered
message and `telegent-sms dlq list` (infra.local.operator); tears down. Exit 0 when every sample
ended as events/expected.json says, the three rows as expected and both commands worked.
"""

from __future__ import annotations

import sys
import time

from infra.local.demo_lanes import show_lanes
from infra.local.demo_report import match_outcomes, print_report, send_waves, table
from infra.local.demo_send_time import show_send_time_options
from infra.local.demo_status import CASES, show_delivery_status
from infra.local.deploy import deployed_stack
from infra.local.operator import show_operator_cli
from infra.local.samples import load_samples, upload_media
from infra.local.sandbox import TelegentSandbox

DELIVERED_CASE = next(key for key, _to, status in CASES if status == "DELIVERED")
EVENTBRIDGE_REQUEST = {
    "IdempotencyKey": "demo-via-eventbridge-bus",
    "To": [{"Number": "+18015737199"}],
    "From": "+18018018011",
    "Body": "Sent with events:PutEvents",
}


def main() -> int:
    started = time.monotonic()
    print("Starting the Telegent sandbox and ministack on 127.0.0.1; deploying the CDK stack ...", flush=True)
    with TelegentSandbox() as sandbox, deployed_stack(sandbox.base_url) as stack:
        world = stack.world
        print(
            f"  deployed in {stack.timings['deploy']:.1f}s (bootstrap {stack.timings['bootstrap']:.1f}s)\n"
            f"  sandbox: {sandbox.base_url}\n  queue:   {world.queue_url}\n  function: "
            f"{stack.outputs['SenderFunctionName']}",
            flush=True,
        )
        upload_media(world.client("s3"), world.media_bucket)
        samples = load_samples(world.media_bucket)
        expected_rows = len({s.request_id or s.name for s in samples}) + 1
        print(f"Sending {len(samples)} sample requests + 1 via the EventBridge bus ...", flush=True)
        processing = time.monotonic()
        stack.put_event(EVENTBRIDGE_REQUEST)
        ids = send_waves(samples, world.send_bodies, lambda: stack.wait_until_processed(0))
        stack.wait_until_processed(expected_rows)
        print(f"  processed by the deployed Lambda in {time.monotonic() - processing:.1f}s", flush=True)
        rows, dlq = world.result_rows(), world.dlq_messages()
        outcomes = match_outcomes(samples, ids, rows, dlq)
        bus_row = next((r for r in rows if r["RequestId"] == EVENTBRIDGE_REQUEST["IdempotencyKey"]), {})
        ok = print_report(outcomes, rows, dlq)
        print("\nThrough the EventBridge bus (rule -> queue -> Lambda):")
        print(
            table(
                ["RequestId", "Status", "MessageId"],
                [(bus_row.get("RequestId"), bus_row.get("Status"), bus_row.get("MessageId"))],
            )
        )
        ok = ok and bus_row.get("Status") == "SENT"
        ok = show_send_time_options(stack) and ok  # a schedule firing, an expired request, a dry run
        ok = show_delivery_status(stack, sandbox) and ok
        ok = show_lanes(stack, sandbox) and ok  # a handset's STOP and START, a priority send overtaking a backlog
        ok = show_operator_cli(stack, DELIVERED_CASE) and ok
        print(f"Telegent sandbox accepted {len(sandbox.sent_messages())} messages.")
        print("Tearing down (cdk destroy, servers stop) ...", flush=True)
    print(f"Demo finished in {time.monotonic() - started:.1f}s.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
