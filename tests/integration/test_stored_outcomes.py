"""StoredOutcomes (operators' redrive) against moto with the real sender's send gate: it finds the record
the gate wrote, forgets a stored REJECTED outcome, and never a SENT one."""

from __future__ import annotations

from typing import Any

from aws_adapters.idempotency import StoredOutcomes
from tests.integration.helpers import Stack, sms


def outcomes(stack: Stack) -> StoredOutcomes:
    return StoredOutcomes(stack.world.idempotency_table, stack.world.client("dynamodb"))


def record(stack: Stack, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        stack.world.client("dynamodb")
        .get_item(TableName=stack.world.idempotency_table, Key={"id": {"S": outcomes(stack).record_key(key)}})
        .get("Item")
    )
    return item


def test_a_sent_outcome_is_never_forgotten(stack: Stack) -> None:
    stack.send(sms("sent-once"))
    stack.drain()
    assert record(stack, "sent-once") is not None  # the key is hashed as the gate hashes it
    assert outcomes(stack).forget_rejection("sent-once") is False
    assert record(stack, "sent-once") is not None

    stack.send(sms("sent-once"))  # a producer's duplicate: still replayed, not sent again
    stack.drain()
    assert len(stack.outbound()) == 1


def test_a_stored_rejection_is_forgotten_so_the_next_copy_is_decided_again(stack: Stack) -> None:
    media = {"Bucket": stack.world.media_bucket, "Key": "mms/later.png"}
    stack.send(sms("needs-media", MmsS3=[media]))
    stack.drain()
    assert stack.rows()["needs-media"]["ErrorCode"] == "MEDIA_NOT_FOUND"
    assert record(stack, "needs-media") is not None

    assert outcomes(stack).forget_rejection("needs-media") is True
    assert record(stack, "needs-media") is None
    assert outcomes(stack).forget_rejection("needs-media") is False  # nothing left to forget

    stack.world.client("s3").put_object(**media, Body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64, ContentType="image/png")
    stack.send(sms("needs-media", MmsS3=[media]))
    stack.drain()
    assert stack.rows()["needs-media"]["Status"] == "SENT"
    assert len(stack.outbound()) == 1


def test_unknown_keys_and_input_rejections_have_nothing_to_forget(stack: Stack) -> None:
    stack.send(sms("bad-input", From="not-a-number"))  # refused before the gate: no record
    stack.drain()
    assert outcomes(stack).forget_rejection("bad-input") is False
    assert outcomes(stack).forget_rejection("never-seen") is False
