"""`make bench`: performance figures of the sender, measured on the local stack in one run.

    .venv/bin/python -m infra.local.bench               # every figure (a few minutes)
    .venv/bin/python -m infra.local.bench --only 1,5    # selected figures
    .venv/bin/python -m infra.local.bench --quick       # smaller sizes, a smoke run

Starts moto server and the Telegent sandbox (each its own process, on 127.0.0.1), runs the real
handler `sender.handler.handler` in worker processes (each one a Lambda "container": its own
imports, clients, token cache and limiter state; its logs and metrics go to a log file), and
prints one table of figures with their targets to stdout. Progress goes to stderr. The exit code
is 0 whatever the figures say: this is a measurement, not a test.

Figures (one module each, fig*.py, for exactly what each measures):
 1. batch of 10 at 100 ms vendor latency vs one vendor call, and vs a naive sequential relay
 2. vendor requests (tokens + outbound) per delivered message, 1,000 messages, 5-minute tokens
 3. DynamoDB requests per message (same run as 2), counted with botocore event hooks
 4. sustained throughput of 3 containers against a 600/min vendor limit: rate, 429s, DLQ, rows
 5. cold import of the handler vs a bare `import boto3` (+ a breakdown of Powertools pieces)
 6. peak RSS increase for one 5 MiB MmsS3 message vs the payload size
 7. faults: 10 % of sends accepted then their answer lost (ambiguous): duplicates per 1,000 messages
    and the extra vendor requests spent reconciling them (DESIGN.md 4b; a shortened search delay)
 8. priority lane (DESIGN.md 11): a 1,000-message normal backlog draining at a 600/min limit, 20 priority
    messages enqueued mid-run: their enqueue -> accepted p50/p99 (target p99 <= 5 s) against the wait
    without the lane, normal-lane rate vs (1 - PRIORITY_RESERVE) of the limit, expired, sent twice
 9. segments (DESIGN.md 9): a seeded mix of bodies sent with SMART_ENCODING on, segments sent vs as written,
    and every row's Segments/Encoding against the Body as sent
10. tracking cost (DESIGN.md 8): poller vendor requests per message with receipts working (<= 0.05) and
    with receipts lost (<= 1.5, to a final status), and the send rate of a backlog at a 300/min limit
    with the poller running once a minute (>= 0.95 x (1 - STATUS_POLL_MAX_SHARE) of the limit); about 2 min

Modules: cli (options, the run, the table), stack (sizes, the local stack, request bodies),
workers (the "containers": handler processes and the AWS call counter), report (rows, table,
machine info), fig1_batch, fig23_drain, fig4_sustained, fig5_imports, fig6_memory, fig7_ambiguous,
fig8_priority, fig9_segments, fig10_tracking.
"""
