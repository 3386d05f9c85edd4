"""Figure 1: a batch of 10 at 100 ms vendor latency vs one vendor call, and vs a naive sequential relay."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

from infra.local.bench.report import Report, Row, log, median
from infra.local.bench.stack import FROM, TO, Ctx, world_spec
from infra.local.bench.workers import start_worker
from infra.local.world import DEFAULT_SECRET_VALUE, World

# -- vendor-only clients


def vendor_payload(text: str) -> dict[str, Any]:
    return {"To": [{"Number": TO}], "From": FROM, "Body": text}


def one_call_times(base_url: str, reps: int) -> list[float]:
    """One outbound POST on a warm urllib3 connection with a cached token; the first call is not timed."""
    import urllib3

    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=30))
    outbound = base_url + "/message/outbound"
    token_request = {**DEFAULT_SECRET_VALUE, "ApiEndpoint": outbound}
    response = http.request("POST", base_url + "/oauth2/tokens", json=token_request)
    token = json.loads(response.data)["token"]
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {token}"}
    times: list[float] = []
    for rep in range(reps + 1):
        body = json.dumps(vendor_payload(f"bench one call {rep}")).encode()
        started = time.perf_counter()
        response = http.request("POST", outbound, body=body, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"one vendor call: HTTP {response.status}")
        if rep:
            times.append(elapsed)
    return times


def naive_relay(base_url: str, payloads: Sequence[dict[str, Any]]) -> float:
    """The baseline: per message a fresh token and a fresh connection (urllib sends Connection: close)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    outbound = base_url + "/message/outbound"

    def post(url: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())

    started = time.perf_counter()
    for payload in payloads:
        token = post(base_url + "/oauth2/tokens", {**DEFAULT_SECRET_VALUE, "ApiEndpoint": outbound})["token"]
        post(outbound, payload, {"Authorization": f"Bearer {token}"})
    return time.perf_counter() - started


def moto_latency_ms(world: World, reps: int = 30) -> float:
    """Median round trip of one DynamoDB GetItem against moto: context for figure 1."""
    client = world.client("dynamodb")
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        client.get_item(TableName=world.messages_table, Key={"RequestId": {"S": "absent"}})
        times.append(time.perf_counter() - started)
    return median(times) * 1000


# -- the figure


def figure_1(ctx: Ctx, report: Report) -> None:
    sizes = ctx.sizes
    log("figure 1: batch of 10 at 100 ms vendor latency (SEND_CONCURRENCY=10)")
    world = ctx.world("f1")
    ctx.vendor(latency_ms=100)
    worker = start_worker(
        ctx,
        "f1-batch",
        "batch",
        {"world": world_spec(world), "batch": 10, "reps": sizes.batch_reps},
        ctx.lambda_env(world, SEND_CONCURRENCY="10"),
    )
    result = worker.wait(timeout=60 + 30 * sizes.batch_reps)
    measured = [b for b in result["batches"] if not b["warmup"]]
    ours = [b["seconds"] for b in measured]
    incomplete = [b for b in measured if b["records"] != 10 or b["failed"] or b["error"]]
    log(f"  handler: {', '.join(f'{s * 1000:.0f} ms' for s in ours)}; measuring one vendor call and the baseline")
    one_call = one_call_times(ctx.sandbox.base_url, sizes.one_call_reps)
    payloads = [vendor_payload(f"bench naive #{i}") for i in range(10)]
    baseline = [naive_relay(ctx.sandbox.base_url, payloads) for _ in range(sizes.baseline_reps)]
    ctx.vendor(latency_ms=0)
    moto_ms = moto_latency_ms(world)

    ours_s, call_s, base_s = median(ours), median(one_call), median(baseline)
    aws = [item for b in measured for item in b["calls"]]
    ddb_calls = sum(item["calls"] for item in aws if item["service"] == "dynamodb") / max(1, len(measured))
    ddb_times = [t for item in aws if item["service"] == "dynamodb" for t in item["seconds"]]
    ddb_serial = sum(ddb_times) / max(1, len(measured))
    problems = f"; {len(incomplete)} batch(es) not 10 clean records: {incomplete}" if incomplete else ""
    ratio = ours_s / call_s
    report.rows.append(
        Row(
            "1a",
            "batch of 10 @100 ms: handler wall time / one vendor call",
            f"{ratio:.2f}x",
            "<= 2x",
            ratio <= 2 and not incomplete,
            f"handler median {ours_s * 1000:.0f} ms (n={len(ours)}, {min(ours) * 1000:.0f}-{max(ours) * 1000:.0f}), "
            f"one call median {call_s * 1000:.0f} ms (n={len(one_call)}); "
            f"in a batch: {ddb_calls:.0f} DynamoDB calls, median {median(ddb_times) * 1000:.0f} ms each, "
            f"{ddb_serial * 1000:.0f} ms summed; idle moto GetItem {moto_ms:.1f} ms{problems}",
        )
    )
    speedup = base_s / ours_s
    report.rows.append(
        Row(
            "1b",
            "naive sequential relay / handler (same 10 messages)",
            f"{speedup:.1f}x faster",
            ">= 5x",
            speedup >= 5 and not incomplete,
            f"baseline median {base_s * 1000:.0f} ms (n={len(baseline)}): per message a new token + outbound, "
            "new connection each, no AWS calls",
        )
    )
