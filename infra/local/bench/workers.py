"""The bench's "containers": the real handler in worker processes, and what they count.

Each worker is `python -m infra.local.bench.workers MODE SPEC OUT`: its own imports, clients, token
cache and limiter state, like a Lambda container; its logs and metrics go to a log file.
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import REPO_ROOT
from infra.local.bench.report import log
from infra.local.bench.stack import Ctx, sms_body
from infra.local.world import World


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    out: Path
    log_path: Path

    def wait(self, timeout: float) -> dict[str, Any]:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"worker {self.name} still running after {timeout:.0f}s: killing pid {self.process.pid}")
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.returncode != 0 or not self.out.exists():
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(
                f"worker {self.name} failed (exit {self.process.returncode}); log {self.log_path}:\n{tail}"
            )
        result: dict[str, Any] = json.loads(self.out.read_text())
        return result


def start_worker(ctx: Ctx, name: str, mode: str, spec: dict[str, Any], env: dict[str, str]) -> Worker:
    spec_path = ctx.workdir / f"{name}.spec.json"
    out = ctx.workdir / f"{name}.out.json"
    log_path = ctx.workdir / f"{name}.log"
    spec_path.write_text(json.dumps(spec))
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.bench.workers", mode, str(spec_path), str(out)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,  # the handler's JSON logs and EMF metrics, as Lambda would ship them
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Worker(name, process, out, log_path)


class AwsCallCounter:
    """Counts AWS API calls (and HTTP attempts) by service, operation and table role."""

    def __init__(self, roles: dict[str, str]) -> None:
        self._roles = roles
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.seconds: dict[tuple[str, str], list[float]] = {}

    def _role(self, params: Any) -> str:
        if not isinstance(params, dict):
            return ""
        names: list[str] = []
        if isinstance(params.get("TableName"), str):
            names.append(params["TableName"])
        names += list((params.get("RequestItems") or {}).keys())
        for item in params.get("TransactItems") or []:
            for operation in item.values():
                if isinstance(operation, dict) and isinstance(operation.get("TableName"), str):
                    names.append(operation["TableName"])
        return "+".join(sorted({self._roles.get(name, name) for name in names}))

    # Handlers return None (a value returned from some events would replace the request or response).
    def on_call(self, event_name: str = "", params: Any = None, context: Any = None, **kwargs: Any) -> None:
        _, service, operation = [*event_name.split(".", 2), "", ""][:3]
        if isinstance(context, dict):
            context["bench_started"] = time.perf_counter()
        with self._lock:
            self.calls[service, operation, self._role(params)] += 1

    def on_done(self, event_name: str = "", context: Any = None, **kwargs: Any) -> None:
        """after-call / after-call-error: wall time of the whole call, retries included."""
        _, service, operation = [*event_name.split(".", 2), "", ""][:3]
        if isinstance(context, dict) and "bench_started" in context:
            elapsed = time.perf_counter() - context.pop("bench_started")
            with self._lock:
                self.seconds.setdefault((service, operation), []).append(elapsed)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.attempts.clear()
            self.seconds.clear()

    def on_send(self, event_name: str = "", **kwargs: Any) -> None:
        _, service, operation = [*event_name.split(".", 2), "", ""][:3]
        with self._lock:
            self.attempts[service, operation] += 1

    def install(self) -> None:
        """Every botocore session created from now on (boto3.session.Session() builds one) reports here."""
        import botocore.session

        original = botocore.session.Session.__init__
        counter = self

        def init(session: Any, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            # before-parameter-build: once per API call, with the caller's parameters (TableName etc.).
            session.register("before-parameter-build", counter.on_call)
            session.register("before-send", counter.on_send)
            session.register("after-call", counter.on_done)
            session.register("after-call-error", counter.on_done)

        botocore.session.Session.__init__ = init  # type: ignore[method-assign,assignment]

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "service": service,
                    "operation": operation,
                    "role": role,
                    "calls": count,
                    "attempts": self.attempts.get((service, operation), 0),
                    "seconds": list(self.seconds.get((service, operation), [])),
                }
                for (service, operation, role), count in sorted(self.calls.items())
            ]


def _import_handler() -> Callable[..., Any]:
    from sender.handler import handler

    return handler


def worker_batch(world: World, spec: dict[str, Any]) -> dict[str, Any]:
    """Figure 1: a warm container handles batches of exactly `batch` messages; handler time each."""
    runner = world.runner(lambda e, c: None, batch_size=spec["batch"], maximum_batching_window_seconds=3)
    runner.queue_arn  # noqa: B018 - resolved before counting: only the sender's calls count
    counter = AwsCallCounter({})
    counter.install()
    runner.handler = _import_handler()
    batches: list[dict[str, Any]] = []
    for rep in range(spec["reps"] + 1):  # rep 0 warms the container: clients, token, pool connections
        keys = [f"f1-{rep}-{i}" for i in range(spec["batch"])]
        world.send_bodies([sms_body(key, f"bench batch {rep} #{i}") for i, key in enumerate(keys)])
        counter.reset()
        result = runner.run_once()
        batches.append(
            {
                "warmup": rep == 0,
                "records": len(result.received_ids),
                "failed": len(result.failed_ids),
                "error": repr(result.error) if result.error else None,
                "seconds": result.duration_seconds,
                "calls": counter.as_json(),
            }
        )
        # Failed records (none expected) stay invisible for the 30 s visibility timeout: not re-measured.
    return {"batches": batches}


def worker_drain(world: World, spec: dict[str, Any]) -> dict[str, Any]:
    """Figures 2-4: one container polls until the queue is drained; counts its AWS calls."""
    runner = world.runner(lambda e, c: None, batch_size=10, wait_time_seconds=1)
    runner.queue_arn  # noqa: B018 - resolve it before counting starts: only the sender's calls count
    counter = AwsCallCounter(
        {world.messages_table: "messages", world.idempotency_table: "idempotency", world.rate_limit_table: "rate-limit"}
    )
    counter.install()
    runner.handler = _import_handler()
    summary = runner.run_until_drained(max_seconds=spec["max_seconds"])
    return {
        "invocations": summary.invocations,
        "records": summary.records,
        "failures": summary.failures,
        "batch_errors": summary.batch_errors,
        "deleted": summary.deleted,
        "drained": summary.drained,
        "seconds": summary.duration_seconds,
        "calls": counter.as_json(),
    }


def worker_serve(world: World, spec: dict[str, Any]) -> dict[str, Any]:
    """Figure 8: one container of a lane's mapping: polls `queue_url` and invokes the handler until
    `stop_file` exists and the queue holds nothing (or `max_seconds` pass)."""
    from infra.local.esm_runner import EventSourceRunner

    runner = EventSourceRunner(world.client("sqs"), spec["queue_url"], lambda e, c: None, wait_time_seconds=1)
    runner.queue_arn  # noqa: B018 - resolved before the handler runs
    runner.handler = _import_handler()
    stop_file = Path(spec["stop_file"])
    deadline = time.monotonic() + spec["max_seconds"]
    invocations = records = failures = 0
    while time.monotonic() < deadline:
        result = runner.run_once()
        if result.received_ids:
            invocations += 1
            records += len(result.received_ids)
            failures += len(result.failed_ids)
        elif stop_file.exists() and runner.is_drained():
            break
    return {"invocations": invocations, "records": records, "failures": failures}


def _proc_status_kib(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return -1


def worker_rss(world: World, spec: dict[str, Any]) -> dict[str, Any]:
    """Figure 6: warm on small messages, then one message whose MmsS3 object is `media_bytes` long."""
    runner = world.runner(lambda e, c: None, batch_size=10, wait_time_seconds=1)
    runner.handler = _import_handler()
    warm = runner.run_until_drained(max_seconds=60)  # the SMS and the small MMS already queued
    gc.collect()
    before = {
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss": _proc_status_kib("VmRSS"),
        "hwm": _proc_status_kib("VmHWM"),
    }
    try:  # reset VmHWM to the current RSS (Linux >= 4.0), for a second opinion beside ru_maxrss
        Path("/proc/self/clear_refs").write_text("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    world.send_bodies([spec["body"]])
    deadline = time.monotonic() + 60
    result = runner.run_once()
    while not result.invoked and time.monotonic() < deadline:
        result = runner.run_once()
    after = {
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss": _proc_status_kib("VmRSS"),
        "hwm": _proc_status_kib("VmHWM"),
    }
    # A second, identical message under tracemalloc (after the RSS figures are taken): the peak of
    # live Python objects, to tell copies held at once apart from allocator high-water effects.
    import tracemalloc

    tracemalloc.start()
    world.send_bodies([{**spec["body"], "IdempotencyKey": spec["body"]["IdempotencyKey"] + "-traced"}])
    traced = runner.run_once()
    while not traced.invoked and time.monotonic() < deadline + 60:
        traced = runner.run_once()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "traced_peak": traced_peak,
        "warm_records": warm.records,
        "warm_failures": warm.failures,
        "records": len(result.received_ids),
        "failed": len(result.failed_ids),
        "seconds": result.duration_seconds,
        "before": before,
        "after": after,
        "hwm_reset": hwm_reset,
    }


WORKERS: dict[str, Callable[[World, dict[str, Any]], dict[str, Any]]] = {
    "batch": worker_batch,
    "drain": worker_drain,
    "rss": worker_rss,
    "serve": worker_serve,
}


def worker_main(mode: str, spec_path: str, out_path: str) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(Path(spec_path).read_text())
    result = WORKERS[mode](World(**spec["world"]), spec)
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(*sys.argv[1:4]))
