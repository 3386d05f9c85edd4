"""Hostile bodies through the real sender: SQS (moto) -> the real handler -> the Telegent sandbox.

Seeded and bounded (300 bodies; see tests/fuzz_bodies.py for what they hold). Asserts the
contract of issue 8: the handler never raises; no invalid request reaches the vendor (checked by
the sandbox's own validation and by an independent check of each body it received); and every
record ends as a result row, a DLQ copy with its ErrorCode, or a batch item failure with a log line.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infra.local.samples import upload_media
from infra.local.sandbox import validate_outbound
from tests.fuzz_bodies import GARBAGE_PAYLOADS, BodyFuzzer, payload_objects, vendor_payload_problems
from tests.integration.helpers import LogCapture, Stack

pytestmark = pytest.mark.integration

SEEDS = (101, 202, 303, 404, 505)
BODIES_PER_SEED = 60


def upload_payloads(stack: Stack) -> None:
    bucket = stack.world.media_bucket
    s3 = stack.world.client("s3")
    upload_media(s3, bucket)
    objects = payload_objects(bucket)
    for key in GARBAGE_PAYLOADS:
        s3.put_object(Bucket=bucket, Key=key, Body=objects[key], ContentType="application/json")


def problem_log_ids(lines: list[dict[str, Any]]) -> set[str]:
    """SQS message ids named by a warning or error line (how a retried record is explained)."""
    return {
        str(line["sqs_message_id"])
        for line in lines
        if line.get("sqs_message_id") and str(line.get("level", "")).upper() in ("WARNING", "ERROR", "CRITICAL")
    }


def test_hostile_bodies_through_the_real_handler(stack: Stack, logs: LogCapture) -> None:
    upload_payloads(stack)
    bodies = [
        body
        for seed in SEEDS
        for body in BodyFuzzer(seed, stack.world.media_bucket, sqs_safe=True).bodies(BODIES_PER_SEED)
    ]
    message_ids = stack.send(*bodies)
    body_of = dict(zip(message_ids, bodies, strict=True))

    summary = stack.drain(max_seconds=120, batch_size=10)

    # 1. The handler never raised (a raise fails the whole batch in the runner).
    errors = [repr(batch.error) for batch in summary.batches if batch.batch_failed]
    assert errors == [], errors

    # 2. Nothing invalid reached the vendor: the sandbox accepted every request, and each body it
    #    received passes its validation and the independent one.
    outbound = stack.sandbox.requests("outbound")
    refused = [(r["status"], r["body"]) for r in outbound if r["status"] != 200]
    assert refused == [], refused
    for record in outbound:
        assert validate_outbound(record["body"]) == [], record["body"]
        assert vendor_payload_problems(record["body"]) == [], record["body"]

    # 3. Every record is accounted for: a row, a DLQ copy with its ErrorCode, or a logged retry.
    rows = stack.rows()
    row_sources = {row.get("SourceMessageId") for row in rows.values()}
    dlq = stack.dlq()
    dlq_codes = {
        copy["message_attributes"].get("SourceMessageId"): copy["message_attributes"].get("ErrorCode") for copy in dlq
    }
    failed_ids = {message_id for batch in summary.batches for message_id in batch.failed_ids}
    logged = problem_log_ids(logs.lines())
    unaccounted = {
        message_id: body_of[message_id][:160]
        for message_id in message_ids
        if message_id not in row_sources
        and not dlq_codes.get(message_id)
        and not (message_id in failed_ids and message_id in logged)
    }
    assert unaccounted == {}, unaccounted

    # Each send is a SENT row, and the fuzz was not degenerate: it sent, and it refused in many ways.
    sent_rows = [row for row in rows.values() if row["Status"] == "SENT"]
    assert len(sent_rows) == len(outbound)
    codes = Counter(code for code in dlq_codes.values() if code)
    print(f"fuzz: {len(bodies)} bodies, {len(outbound)} sent, {summary.failures} retried, DLQ codes {dict(codes)}")
    assert len(outbound) >= len(bodies) // 10, (len(outbound), codes)
    assert {"VALIDATION_ERROR", "INVALID_JSON", "UNKNOWN_ENVELOPE"} <= set(codes), codes
    # Reasons reach rows and DLQ attributes: none may echo a control character.
    for row in rows.values():
        assert all(ch >= " " for ch in row.get("ErrorMessage", "")), row["ErrorMessage"]
