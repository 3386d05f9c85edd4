"""Figure 7: ambiguous sends (DESIGN.md 4b). The sandbox accepts 10 % of the sends and then loses the
answer (a dropped connection or a 500/502/504); before 4b each of those was sent again on its retry.

Measured: duplicates per 1,000 messages (messages the sandbox accepted more than once for one
request; target 0), and the extra vendor requests spent on reconciling per 1,000 messages (message
searches, tokens for the search scope, and sends beyond one per request).

The search delay is shortened to AMBIGUOUS_SEARCH_DELAY_SECONDS=2 (default 20) with the sandbox
indexing messages 1 s after accepting them, so the run takes seconds rather than minutes; the
label says so.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from infra.local.bench.report import Report, Row, log
from infra.local.bench.stack import Ctx, sms_body, world_spec
from infra.local.bench.workers import start_worker

LOSS_RATE = 0.1
SEARCH_DELAY_SECONDS = 2
INDEX_DELAY_SECONDS = 1.0
SEED = 4242  # the sandbox's draws: which answers are lost


def _scope(record: dict[str, Any]) -> str:
    body = record.get("body")
    endpoint = body.get("ApiEndpoint") if isinstance(body, dict) else None
    return str(endpoint or "").rstrip("/").rsplit("/", 1)[-1]


def figure_7(ctx: Ctx, report: Report) -> None:
    n = ctx.sizes.ambiguous_messages
    workers_count = ctx.sizes.drain_workers
    log(
        f"figure 7: {n} messages, {LOSS_RATE:.0%} of sends accepted then answer lost; search after "
        f"{SEARCH_DELAY_SECONDS} s, sandbox indexing {INDEX_DELAY_SECONDS:g} s; {workers_count} containers"
    )
    world = ctx.world("f7", visibility_timeout=30, max_receive_count=5)
    ctx.vendor(latency_ms=0)
    ctx.sandbox.configure(accept_then_fail_rate=LOSS_RATE, random_seed=SEED, search_index_delay=INDEX_DELAY_SECONDS)
    try:
        bodies = {f"f7-{i}": f"bench ambiguous #{i}" for i in range(n)}
        world.send_bodies([sms_body(key, text) for key, text in bodies.items()])
        max_seconds = 90 + n * 0.5
        env = ctx.lambda_env(world, AMBIGUOUS_SEARCH_DELAY_SECONDS=str(SEARCH_DELAY_SECONDS))
        spec = {"world": world_spec(world), "max_seconds": max_seconds}
        workers = [start_worker(ctx, f"f7-drain{i}", "drain", spec, env) for i in range(workers_count)]
        results = [w.wait(timeout=max_seconds + 60) for w in workers]
        records = ctx.sandbox.requests()
        accepted = ctx.sandbox.sent_messages()
    finally:
        ctx.sandbox.configure(accept_then_fail_rate=0, search_index_delay=0)
    seconds = max(r["seconds"] for r in results)
    log(f"  drained={all(r['drained'] for r in results)} in {seconds:.1f}s; reading rows and vendor records")

    per_body = Counter(message["request"]["Body"] for message in accepted)
    duplicates = sum(count - 1 for count in per_body.values() if count > 1)
    rows = {row["RequestId"]: row for row in world.result_rows()}
    sent = sum(1 for key in bodies if rows.get(key, {}).get("Status") == "SENT")
    reconciled = sum(1 for key in bodies if rows.get(key, {}).get("StatusSource") == "reconciled")
    matched = sum(
        1
        for key, text in bodies.items()
        if rows.get(key, {}).get("MessageId") in {m["message_id"] for m in accepted if m["request"]["Body"] == text}
    )
    lost = sum(1 for r in records if r["endpoint"] == "outbound" and r["fault"])
    outbound = sum(1 for r in records if r["endpoint"] == "outbound")
    searches = sum(1 for r in records if r["endpoint"] == "search")
    search_tokens = sum(1 for r in records if r["endpoint"] == "tokens" and _scope(r) == "search")
    resends = outbound - n
    extra = searches + search_tokens + resends
    dlq = sum(world.dlq_depth().values())
    per_k = 1000 / n
    label = (
        f"duplicates per 1,000 messages, {LOSS_RATE:.0%} of sends accepted then answer lost "
        f"(search after {SEARCH_DELAY_SECONDS} s instead of 20 s, sandbox indexing {INDEX_DELAY_SECONDS:g} s)"
    )
    report.rows.append(
        Row(
            "7a",
            label,
            f"{duplicates * per_k:.1f}",
            "0",
            duplicates == 0 and sent == n and matched == n,
            f"{lost} answers lost ({lost * per_k:.0f} per 1,000: each a duplicate without 4b); "
            f"{len(accepted)} messages accepted for {n} requests; {sent} SENT rows, {reconciled} reconciled "
            f"by search, {matched} rows hold the accepted MessageId; DLQ {dlq}; drained in {seconds:.1f}s",
        )
    )
    report.rows.append(
        Row(
            "7b",
            "extra vendor requests spent on reconciling, per 1,000 messages (same run)",
            f"{extra * per_k:.1f}",
            "-",
            None,
            f"{searches} searches + {search_tokens} search-scope tokens + {resends} sends beyond one per request; "
            f"{extra / lost:.2f} per lost answer"
            if lost
            else f"{searches} searches, {resends} resends",
        )
    )
