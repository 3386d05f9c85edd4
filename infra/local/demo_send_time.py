"""`make demo`, send-time options (DESIGN.md section 9) on the deployed stack.

A request with a SendAt 25 s ahead: the deployed sender creates a one-time EventBridge Scheduler schedule
(the demo deploys with `sendat_delay_max_seconds=10`, so anything further than 10 s ahead takes the
Scheduler path; the default is 900 s, SQS's own longest delay), its row is SCHEDULED, ministack's Scheduler
fires `at()` (it sweeps every 10 s), the copy comes back through the queue and is sent, the row becomes
SENT and the schedule is gone (ActionAfterCompletion DELETE). Then the samples' expired request and dry
run, and what segments and smart encoding recorded.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.demo_report import clip, table
from infra.local.deploy import DeployedStack
from messaging.send_options import format_instant, schedule_name

SCHEDULED_KEY = "demo-scheduled-send"
AHEAD_SECONDS = 25
SAMPLE_ROWS = (
    "demo-expired-otp",
    "DRYRUN#demo-dry-run",
    "demo-long-body",
    "demo-too-many-segments",
    "demo-smart-encoding",
)


def _row(stack: DeployedStack, key: str) -> dict[str, Any]:
    table_ = stack.world.resource("dynamodb").Table(stack.world.messages_table)
    item = table_.get_item(Key={"RequestId": key}, ConsistentRead=True).get("Item") or {}
    return {name: (int(value) if hasattr(value, "to_integral_value") else value) for name, value in item.items()}


def _wait_for(stack: DeployedStack, key: str, status: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = _row(stack, key)
        if row.get("Status") == status or time.monotonic() > deadline:
            return row
        time.sleep(1)


def show_send_time_options(stack: DeployedStack) -> bool:
    print("\nSend-time options (DESIGN 9):", flush=True)
    ok = _scheduled_send_fires(stack)
    rows = [_row(stack, key) for key in SAMPLE_ROWS]
    print("\nThe samples' expired request, dry run, long Bodies and smart encoding:")
    print(
        table(
            ["RequestId", "Status", "WouldBe", "Encoding", "Segments", "MediaBytes", "ErrorCode", "ErrorMessage"],
            [
                (
                    r.get("RequestId"),
                    r.get("Status"),
                    r.get("WouldBe"),
                    r.get("Encoding"),
                    r.get("Segments"),
                    r.get("MediaBytes"),
                    r.get("ErrorCode"),
                    clip(r.get("ErrorMessage"), 50),
                )
                for r in rows
            ],
        )
    )
    expected = ["EXPIRED", "DRY_RUN", "SENT", "REJECTED", "SENT"]
    return ok and [r.get("Status") for r in rows] == expected


def _scheduled_send_fires(stack: DeployedStack) -> bool:
    send_at = (datetime.now(UTC) + timedelta(seconds=AHEAD_SECONDS)).replace(microsecond=0)
    request = {
        "IdempotencyKey": SCHEDULED_KEY,
        "To": [{"Number": "+18015737129"}],
        "From": "+18018018011",
        "Body": "Your parcel arrives in 10 minutes",
        "SendAt": format_instant(send_at),
    }
    stack.world.send_bodies([request])
    print(f"  queued {SCHEDULED_KEY} with SendAt {format_instant(send_at)} ({AHEAD_SECONDS} s ahead)", flush=True)
    scheduled = _wait_for(stack, SCHEDULED_KEY, "SCHEDULED", 30)
    group = stack.outputs["ScheduleGroupName"]
    name = schedule_name(SCHEDULED_KEY)
    scheduler = stack.client("scheduler")
    try:
        schedule = scheduler.get_schedule(Name=name, GroupName=group)
    except scheduler.exceptions.ResourceNotFoundException:
        schedule = {}
    target = schedule.get("Target") or {}
    carried = json.loads(target.get("Input") or "{}")
    print(
        f"  row {scheduled.get('Status')}; schedule {group}/{name}: {schedule.get('ScheduleExpression')}, "
        f"target {str(target.get('Arn', '')).rsplit(':', 1)[-1]}, after completion "
        f"{schedule.get('ActionAfterCompletion')}, input carries IdempotencyKey={carried.get('IdempotencyKey')} "
        f"and FirstEnqueuedAt={carried.get('FirstEnqueuedAt')}",
        flush=True,
    )
    sent = _wait_for(stack, SCHEDULED_KEY, "SENT", AHEAD_SECONDS + 60)
    fired_after = (
        (datetime.fromisoformat(str(sent.get("UpdatedAt", "")).replace("Z", "+00:00")) - send_at)
        if sent.get("UpdatedAt")
        else None
    )
    try:
        scheduler.get_schedule(Name=name, GroupName=group)
        gone = False
    except scheduler.exceptions.ResourceNotFoundException:
        gone = True
    seconds = f"{fired_after.total_seconds():.1f} s" if fired_after is not None else "?"
    print(
        f"  fired by ministack's Scheduler: row {sent.get('Status')} ({sent.get('MessageId')}), sent {seconds} after "
        f"its SendAt (Scheduler sweeps every 10 s); schedule deleted: {'yes' if gone else 'no'}",
        flush=True,
    )
    return bool(
        scheduled.get("Status") in ("SCHEDULED", "SENT")
        and target.get("Arn") == stack.outputs["QueueArn"]
        and carried.get("IdempotencyKey") == SCHEDULED_KEY
        and sent.get("Status") == "SENT"
        and fired_after is not None
        and fired_after >= timedelta(0)
        and gone
    )
