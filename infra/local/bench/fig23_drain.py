"""Figures 2 and 3 (one run): vendor requests per delivered message, and DynamoDB requests per message."""

from __future__ import annotations

from collections import Counter

from infra.local.bench.report import Report, Row, log
from infra.local.bench.stack import Ctx, sms_body, world_spec
from infra.local.bench.workers import start_worker


def figures_2_3(ctx: Ctx, report: Report) -> None:
    sizes = ctx.sizes
    n = sizes.drain_messages
    log(f"figures 2+3: {n} messages, {sizes.drain_workers} containers, token TTL 300 s, latency 0, no limit")
    world = ctx.world("f2")
    ctx.vendor(latency_ms=0)
    keys = [f"f2-{i}" for i in range(n)]
    world.send_bodies([sms_body(key, f"bench drain #{i}") for i, key in enumerate(keys)])
    max_seconds = 60 + n * 0.5
    env = ctx.lambda_env(world)
    spec = {"world": world_spec(world), "max_seconds": max_seconds}
    workers = [start_worker(ctx, f"f2-drain{i}", "drain", spec, env) for i in range(sizes.drain_workers)]
    results = [w.wait(timeout=max_seconds + 60) for w in workers]
    seconds = max(r["seconds"] for r in results)
    log(f"  drained={all(r['drained'] for r in results)} in {seconds:.1f}s; reading rows and vendor records")

    rows = {row["RequestId"]: row for row in world.result_rows()}
    delivered = sum(1 for key in keys if rows.get(key, {}).get("Status") == "SENT")
    records = ctx.sandbox.requests()
    tokens = sum(1 for r in records if r["endpoint"] == "tokens")
    outbound = sum(1 for r in records if r["endpoint"] == "outbound")
    not_accepted = sum(1 for r in records if r["endpoint"] == "outbound" and r["status"] != 200)
    dlq = sum(world.dlq_depth().values())
    failures = sum(r["failures"] for r in results)
    ratio = (tokens + outbound) / delivered if delivered else float("inf")
    report.rows.append(
        Row(
            "2",
            f"vendor requests per delivered message ({n} msgs, token TTL 300 s)",
            f"{ratio:.3f}",
            "<= 1.01",
            ratio <= 1.01,
            f"{tokens} token + {outbound} outbound requests / {delivered} SENT rows; "
            f"{not_accepted} outbound not accepted; {failures} record failures (retried); "
            f"{sizes.drain_workers} containers, batch 10, drained in {seconds:.1f}s; DLQ {dlq}",
        )
    )

    calls: Counter[tuple[str, str, str]] = Counter()
    attempts: Counter[tuple[str, str]] = Counter()
    for result in results:
        seen: set[tuple[str, str]] = set()
        for item in result["calls"]:
            calls[item["service"], item["operation"], item["role"]] += item["calls"]
            if (item["service"], item["operation"]) not in seen:
                seen.add((item["service"], item["operation"]))
                attempts[item["service"], item["operation"]] += item["attempts"]
    ddb = {k: v for k, v in calls.items() if k[0] == "dynamodb"}
    ddb_total = sum(ddb.values())
    ddb_attempts = sum(v for k, v in attempts.items() if k[0] == "dynamodb")
    per_message = ddb_total / n
    by_op = ", ".join(f"{op}@{role or '-'} {count / n:.2f}" for (_, op, role), count in sorted(ddb.items()))
    report.rows.append(
        Row(
            "3",
            "DynamoDB requests per message (sender only, same run)",
            f"{per_message:.2f}",
            "<= 3",
            per_message <= 3,
            f"{ddb_total} calls ({ddb_attempts} HTTP attempts) / {n} messages: {by_op}",
        )
    )
    report.extra_tables.append(
        (
            f"Figure 3 breakdown: AWS calls made by the sender per message ({n} messages; "
            "attempts = HTTP requests incl. retries, per operation)",
            ["service", "operation", "table", "calls", "per msg", "attempts"],
            [
                [service, op, role or "-", str(count), f"{count / n:.3f}", str(attempts[service, op])]
                for (service, op, role), count in sorted(calls.items())
            ],
        )
    )
