"""Figure 6: peak RSS increase for one 5 MiB MmsS3 message vs the payload size."""

from __future__ import annotations

import os

from infra.local.bench.report import Report, Row, log
from infra.local.bench.stack import MIB, Ctx, sms_body, world_spec
from infra.local.bench.workers import start_worker


def figure_6(ctx: Ctx, report: Report) -> None:
    size = ctx.sizes.media_bytes
    log(f"figure 6: peak RSS for one {size / MIB:.0f} MiB MmsS3 message")
    world = ctx.world("f6")
    ctx.vendor(latency_ms=0)
    s3 = world.client("s3")
    s3.put_object(Bucket=world.media_bucket, Key="mms/bench-small.bin", Body=os.urandom(1024), ContentType="video/mp4")
    s3.put_object(Bucket=world.media_bucket, Key="mms/bench-big.bin", Body=os.urandom(size), ContentType="video/mp4")
    small_mms = {
        **sms_body("f6-warm-mms", "bench warm mms"),
        "MmsS3": [{"Bucket": world.media_bucket, "Key": "mms/bench-small.bin"}],
    }
    world.send_bodies([sms_body("f6-warm-sms", "bench warm sms"), small_mms])
    big = {**sms_body("f6-big", "bench big mms"), "MmsS3": [{"Bucket": world.media_bucket, "Key": "mms/bench-big.bin"}]}
    worker = start_worker(ctx, "f6-rss", "rss", {"world": world_spec(world), "body": big}, ctx.lambda_env(world))
    result = worker.wait(timeout=180)

    rows = {row["RequestId"]: row for row in world.result_rows()}
    status = rows.get("f6-big", {}).get("Status")
    outbound = [r for r in ctx.sandbox.requests("outbound") if r["status"] == 200]
    biggest = max((r["body_bytes"] for r in outbound), default=0)
    ctx.sandbox.reset()  # drop the sandbox's copy of the big body
    before, after = result["before"], result["after"]
    # The increase is peak-during-the-message minus RSS just before it. ru_maxrss after - ru_maxrss
    # before would understate it by however far the warm-up's own peak rose above that RSS (`gap`),
    # so the peak is VmHWM reset to the current RSS before the message (Linux >= 4.0), else ru_maxrss.
    strict_kib = after["maxrss"] - before["maxrss"]
    gap = before["maxrss"] - before["rss"]
    if result["hwm_reset"]:
        delta_kib, method = after["hwm"] - before["rss"], "VmHWM (reset before the message) - VmRSS before"
    else:
        delta_kib, method = after["maxrss"] - before["rss"], "ru_maxrss after - VmRSS before"
        if strict_kib <= 0:
            method += " (message never beat the warm-up peak: a lower bound)"
    ratio = delta_kib * 1024 / size
    ok = status == "SENT" and result["failed"] == 0
    report.rows.append(
        Row(
            "6",
            f"peak RSS increase / payload, one {size / MIB:.0f} MiB MmsS3 message",
            f"{ratio:.2f}x",
            "<= 4x",
            ratio <= 4 and ok,
            f"+{delta_kib / 1024:.1f} MiB = {method}; "
            f"ru_maxrss {before['maxrss'] / 1024:.0f} -> {after['maxrss'] / 1024:.0f} MiB "
            f"(+{strict_kib / 1024:.1f}, {strict_kib * 1024 / size:.2f}x; understated: warm-up peak was "
            f"{gap / 1024:.1f} MiB above RSS before); "
            f"Python objects peak (tracemalloc, 2nd message) {result['traced_peak'] / MIB:.1f} MiB; row {status}; "
            f"vendor body {biggest / MIB:.1f} MiB; handler {result['seconds'] * 1000:.0f} ms",
        )
    )
