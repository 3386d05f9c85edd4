"""`make demo-local`: the real handler, in process, fed by the local event-source runner.

Starts moto server and the Telegent sandbox on 127.0.0.1, creates queue + DLQ + tables + bucket +
secret, uploads the sample media, sends every events/ request, runs the runner until the queue
drains, prints the result rows and the DLQ, stops the servers. Exit 0 when every sample ended as
events/expected.json says.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from infra.local.demo_report import match_outcomes, print_report, send_waves
from infra.local.moto_locked import LockedMotoServer
from infra.local.samples import load_samples, upload_media
from infra.local.sandbox import sandbox_process
from infra.local.world import provision_world


def main() -> int:
    started = time.monotonic()
    logging.basicConfig(level=logging.WARNING)
    print("Starting moto server and the Telegent sandbox on 127.0.0.1 ...")
    with LockedMotoServer() as moto, sandbox_process() as sandbox:
        world = provision_world(moto.endpoint_url, prefix="telegent-sms-demo", visibility_timeout=5)
        upload_media(world.client("s3"), world.media_bucket)
        # The tables below are the demo's output; the function's JSON logs and metrics stay quiet.
        os.environ.update(
            world.lambda_env(
                sandbox.base_url,
                MEDIA_PREFIX="mms/",
                SMART_ENCODING="true",  # as events/expected.json expects
                POWERTOOLS_LOG_LEVEL="ERROR",
                POWERTOOLS_METRICS_DISABLED="true",
            )
        )
        print(f"  moto:    {moto.endpoint_url}\n  sandbox: {sandbox.base_url}\n  queue:   {world.queue_url}")

        from sender.handler import handler  # imported after the environment exists, as in Lambda

        samples = load_samples(world.media_bucket)
        runner = world.runner(handler, batch_size=10, wait_time_seconds=0)
        print(f"Sending {len(samples)} sample requests from events/requests ...")
        ids = send_waves(samples, world.send_bodies, lambda: runner.run_until_drained(max_seconds=60))
        outcomes = match_outcomes(samples, ids, world.result_rows(), world.dlq_messages())
        ok = print_report(outcomes, world.result_rows(), world.dlq_messages())
        sent = sandbox.sent_messages()
        tokens = len(sandbox.token_requests())
        print(f"Telegent sandbox accepted {len(sent)} messages with {tokens} token request(s).")
    print(f"Demo finished in {time.monotonic() - started:.1f}s; servers stopped.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
