"""Figure 10: what delivery status tracking costs in vendor requests (DESIGN.md 8, issue 9).

The sender runs in worker processes (the real handler, as in figures 2-4); the webhook (behind a
local Function URL), the tracker (through the event-source runner) and the status poller run in
this process with the Lambda environment of the world. The sandbox's account route calls the
webhook with each receipt, as a registered Telegent route would.

a. receipts working: N messages sent with STATUS_POLL_AFTER_MINUTES 0 (every row due for its first
   lookup at once, in place of waiting 15 minutes), receipts delivered to the webhook and tracked, then a
   poller run: its vendor requests (details lookups + tokens scoped to the details URL) / N.
b. receipts lost (the sandbox's `drop` receipt fault: the vendor's details reach Delivered, no
   callback is made): N messages sent, poller runs until every row has a final status; vendor
   requests / N.
c. the send rate with the poller running: a backlog drains through the sender at a shared limit
   while the poller runs once a minute (the stack's schedule is every 5 minutes: this is its worst
   case), each run taking at most STATUS_POLL_MAX_SHARE of the per-minute budget on rows that never
   reach a final status. PRIORITY_RESERVE 0 (no priority traffic here, the whole budget is the
   normal lane's); target: accepted sends / minute >= 0.95 x (1 - share) x limit.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.local.bench.report import Report, Row, log
from infra.local.bench.stack import HIGH_BURST, HIGH_RATE, Ctx, sms_body, world_spec
from infra.local.bench.workers import start_worker
from infra.local.esm_runner import EventSourceRunner
from infra.local.function_url import FunctionUrlServer
from infra.local.lambda_context import FakeLambdaContext
from infra.local.sandbox_routes import MAGIC_NEVER_FINAL
from infra.local.status_tracking import DEFAULT_CALLBACK_SECRET, TrackingWorld, provision_tracking
from infra.local.world import World
from messaging import names

SHARE = 0.2
POLL_EVERY_SECONDS = 60.0
FINAL = ("DELIVERED", "FAILED", "UNDELIVERABLE")


@contextmanager
def lambda_environment(env: dict[str, str]) -> Iterator[None]:
    """This process as the tracking functions' container: their environment, fresh wiring."""
    from status_poller.wiring import reset_dependencies as reset_poller
    from tracker.wiring import reset_dependencies as reset_tracker
    from webhook.wiring import reset_dependencies as reset_webhook

    saved = dict(os.environ)
    os.environ.update(env)
    for reset in (reset_poller, reset_tracker, reset_webhook):
        reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for reset in (reset_poller, reset_tracker, reset_webhook):
            reset()


def run_poller(env: dict[str, str]) -> dict[str, Any]:
    from status_poller import handler as poller_handler
    from status_poller.wiring import reset_dependencies

    with lambda_environment(env):
        reset_dependencies()
        result: dict[str, Any] = poller_handler.handler({}, FakeLambdaContext("status-poller", timeout_seconds=300))
        return result


def poll_requests(ctx: Ctx, records: list[dict[str, Any]]) -> int:
    """The poller's vendor requests: details lookups and tokens scoped to the details URL."""
    details_url = f"{ctx.sandbox.base_url}/message/details"
    count = 0
    for record in records:
        body = record.get("body")
        scope = body.get("ApiEndpoint") if isinstance(body, dict) else None
        count += record["endpoint"] == "details" or (record["endpoint"] == "tokens" and scope == details_url)
    return count


def send_all(ctx: Ctx, world: World, name: str, bodies: list[dict[str, Any]], env: dict[str, str]) -> float:
    world.send_bodies(bodies)
    started = time.monotonic()
    result = start_worker(ctx, name, "drain", {"world": world_spec(world), "max_seconds": 300}, env).wait(360)
    if not result["drained"]:
        raise RuntimeError(f"{name}: the sender did not drain its {len(bodies)} messages")
    return time.monotonic() - started


def track(tracking: TrackingWorld, env: dict[str, str]) -> None:
    from tracker import handler as tracker_handler

    with lambda_environment(env):
        runner = EventSourceRunner(
            tracking.world.client("sqs"), tracking.status_queue_url, tracker_handler.handler, wait_time_seconds=0
        )
        summary = runner.run_until_drained(max_seconds=120)
    if not summary.drained:
        raise RuntimeError(f"the tracker did not drain the status queue: {summary}")


def statuses(world: World, prefix: str) -> dict[str, str]:
    return {r["RequestId"]: r["Status"] for r in world.result_rows() if r["RequestId"].startswith(prefix)}


def figure_10(ctx: Ctx, report: Report) -> None:
    sizes = ctx.sizes
    n, rate, backlog = sizes.track_messages, sizes.track_rate, sizes.track_backlog
    cap = int(rate * SHARE)
    log(
        f"figure 10: tracking cost, {n} messages with receipts, {n} with receipts lost, then a {backlog}-message "
        f"backlog at {rate}/min with the poller (share {SHARE:g}) running; about {backlog / rate * 60 / 0.8 + 30:.0f}s"
    )
    world = ctx.world("f10", visibility_timeout=30, max_receive_count=3)
    tracking = provision_tracking(world, visibility_timeout=5)
    ctx.vendor(latency_ms=0, rate_limit_per_minute=None)
    ctx.sandbox.configure_receipts(delay=0.2, retry_seconds=0.2)
    extra = {
        **tracking.env(),
        names.ENV_STATUS_POLL_AFTER_MINUTES: "0",
        names.ENV_STATUS_POLL_MAX_SHARE: str(SHARE),
        names.ENV_PRIORITY_RESERVE: "0",
    }
    fast_env = ctx.lambda_env(world, rate=HIGH_RATE, burst=HIGH_BURST, **extra)
    # The webhook serves receipts from its own thread for the whole figure: the functions' environment here.
    saved = dict(os.environ)
    os.environ.update(fast_env)
    with functions_output(ctx.workdir / f"f10-functions-{ctx.run_id}.log"):
        try:
            _run(ctx, world, tracking, fast_env, extra, n, rate, cap, backlog, report)
        finally:
            os.environ.clear()
            os.environ.update(saved)


@contextmanager
def functions_output(path: Path) -> Iterator[None]:
    """The in-process functions' JSON logs and EMF metrics go to a log file, not into the bench's table."""
    import logging

    from observability import logger

    with path.open("w") as out, contextlib.redirect_stdout(out):
        handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
        streams = [h.setStream(out) for h in handlers]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, streams, strict=True):
                if stream is not None:
                    handler.setStream(stream)


def _run(
    ctx: Ctx,
    world: World,
    tracking: TrackingWorld,
    fast_env: dict[str, str],
    extra: dict[str, str],
    n: int,
    rate: int,
    cap: int,
    backlog: int,
    report: Report,
) -> None:
    with FunctionUrlServer(_webhook_handler(), function_name="telegent-sms-webhook") as webhook:
        ctx.sandbox.set_route(**route_fields(webhook.url))
        _receipts_working(ctx, world, tracking, fast_env, n, report)
        _receipts_lost(ctx, world, fast_env, n, report)
        _send_rate(ctx, world, extra, rate, cap, backlog, report)


def _webhook_handler() -> Any:
    from webhook import handler as webhook_handler

    return webhook_handler.handler


def route_fields(url: str) -> dict[str, Any]:
    credential = {
        "AuthenticationType": "Basic",
        "Username": DEFAULT_CALLBACK_SECRET["Username"],
        "PasswordToken": DEFAULT_CALLBACK_SECRET["Password"],
    }
    return {
        "RouteName": "telegent-sms-bench",
        "MessageUrl": url,
        "MessageUrlMethod": "POST",
        "CallbackMessageUrl": url,
        "CallbackMessageUrlMethod": "POST",
        **{f"Message{k}": v for k, v in credential.items()},
        **{f"CallbackMessage{k}": v for k, v in credential.items()},
    }


def _receipts_working(
    ctx: Ctx, world: World, tracking: TrackingWorld, env: dict[str, str], n: int, report: Report
) -> None:
    send_all(ctx, world, "f10-a", [sms_body(f"f10-a{i}", f"bench tracked #{i}") for i in range(n)], env)
    delivered = ("delivered", "refused", "given_up", "skipped")
    ctx.sandbox.wait_for_callbacks(lambda found: sum(e["outcome"] in delivered for e in found) >= n, timeout=120)
    track(tracking, env)
    before = len(ctx.sandbox.requests())
    result = run_poller(env)
    spent = poll_requests(ctx, ctx.sandbox.requests()[before:])
    final = sum(s in FINAL for s in statuses(world, "f10-a").values())
    report.rows.append(
        Row(
            "10a",
            f"tracking, receipts working: poller vendor requests / message ({n} msgs, receipts to the webhook)",
            f"{spent / n:.3f}",
            "<= 0.05",
            spent / n <= 0.05 and final == n,
            f"{spent} requests (details + details tokens); {final}/{n} rows final through receipts before the "
            f"run; the run polled {result['polled']}",
        )
    )


def _receipts_lost(ctx: Ctx, world: World, env: dict[str, str], n: int, report: Report) -> None:
    ctx.sandbox.configure_receipts(drop=True, delay=0.2)
    already = len(ctx.sandbox.callbacks())
    send_all(ctx, world, "f10-b", [sms_body(f"f10-b{i}", f"bench lost receipt #{i}") for i in range(n)], env)
    # Every message has reached its final status at the vendor (the dropped receipts are recorded as skipped).
    ctx.sandbox.wait_for_callbacks(lambda found: len(found) - already >= n, timeout=120)
    before = len(ctx.sandbox.requests())
    runs = 0
    while runs < 10:
        run_poller(env)
        runs += 1
        if all(s in FINAL for s in statuses(world, "f10-b").values()):
            break
    spent = poll_requests(ctx, ctx.sandbox.requests()[before:])
    final = sum(s in FINAL for s in statuses(world, "f10-b").values())
    report.rows.append(
        Row(
            "10b",
            f"tracking, receipts lost: poller vendor requests / message to a final status ({n} msgs, drop fault)",
            f"{spent / n:.3f}",
            "<= 1.5",
            spent / n <= 1.5 and final == n,
            f"{spent} requests in {runs} poller run(s); {final}/{n} rows final by poll",
        )
    )
    ctx.sandbox.configure_receipts(drop=False)


def _send_rate(
    ctx: Ctx, world: World, extra: dict[str, str], rate: int, cap: int, backlog: int, report: Report
) -> None:
    # Rows that never reach a final status, more than every poller run may look up (MAGIC_NEVER_FINAL).
    runs_expected = int(backlog / ((1 - SHARE) * rate) * 60 / POLL_EVERY_SECONDS) + 2
    never = [
        {**sms_body(f"f10-q{i}", f"bench never final #{i}"), "To": [{"Number": MAGIC_NEVER_FINAL}]}
        for i in range(cap * runs_expected)
    ]
    send_all(ctx, world, "f10-q", never, ctx.lambda_env(world, rate=HIGH_RATE, burst=HIGH_BURST, **extra))

    env = ctx.lambda_env(world, rate=rate, burst=1, **extra)
    texts = {f"bench backlog #{i}" for i in range(backlog)}
    world.send_bodies([sms_body(f"f10-c{i}", f"bench backlog #{i}") for i in range(backlog)])
    before = len(ctx.sandbox.requests())
    max_seconds = 120 + backlog / rate * 60 * 2
    senders = [
        start_worker(ctx, f"f10-c{i}", "drain", {"world": world_spec(world), "max_seconds": max_seconds}, env)
        for i in range(2)
    ]
    done = threading.Event()
    per_run: list[int] = []

    def wait_senders() -> None:
        for worker in senders:
            worker.wait(max_seconds + 60)
        done.set()

    waiter = threading.Thread(target=wait_senders)
    waiter.start()
    while not done.is_set():
        started = time.monotonic()
        mark = len(ctx.sandbox.requests())
        run_poller(env)
        per_run.append(poll_requests(ctx, ctx.sandbox.requests()[mark:]))
        done.wait(max(0.0, POLL_EVERY_SECONDS - (time.monotonic() - started)))
    waiter.join()

    records = ctx.sandbox.requests()[before:]
    accepted = sorted(
        r["time"]
        for r in records
        if r["endpoint"] == "outbound" and r["status"] == 200 and isinstance(r.get("body"), dict)
        if r["body"].get("Body") in texts
    )
    window = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    achieved = (len(accepted) - 1) / window * 60 if window > 0 else 0.0
    share_of_sends = (1 - SHARE) * rate
    throttled = sum(1 for r in records if r["status"] == 429)
    vendor = sorted(r["time"] for r in records if accepted and accepted[0] <= r["time"] <= accepted[-1])
    overall = (len(vendor) - 1) / window * 60 if window > 0 else 0.0
    report.rows.append(
        Row(
            "10c",
            f"send rate with the poller running / ((1 - poll share {SHARE:g}) x {rate}/min) ({backlog}-msg backlog, "
            f"a poller run every {POLL_EVERY_SECONDS:g} s)",
            f"{achieved / share_of_sends:.3f}",
            ">= 0.95",
            len(accepted) == backlog and achieved >= 0.95 * share_of_sends and max(per_run, default=0) <= cap,
            f"{achieved:.0f}/min: {len(accepted)}/{backlog} accepted over {window:.1f}s; poller runs {len(per_run)}, "
            f"vendor requests per run {per_run} (cap {cap}); all vendor requests in the window {overall:.0f}/min; "
            f"{throttled} vendor 429s",
        )
    )
