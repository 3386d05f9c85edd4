"""Checkov suppressions in the template: exactly the reviewed ones, each with its reason.

Checkov itself is not a project dependency; these tests pin what it will read
(`Metadata.checkov.skip` per resource), so a new suppression is a deliberate change here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnResource, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checkov_skips import METADATA_KEY, skip_checks
from tests.infra.helpers import Synthesized, synthesize

pytestmark = pytest.mark.infra

SENDER_FUNCTION = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
# Reserved concurrency, no VPC, no secrets in the environment, synchronous invokes only (its URL).
WEBHOOK_FUNCTION = {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
AUTO_DELETE_HANDLER = {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"}

# Logical-id fragment -> skipped check ids, for target=aws with every default.
DEFAULT_SKIPS: dict[str, set[str]] = {
    "QueuesDeadLetterQueue": {"CKV_AWS_27"},
    "QueuesRequestQueue": {"CKV_AWS_27"},
    "TablesMessagesTable": {"CKV_AWS_119"},
    "TablesIdempotencyTable": {"CKV_AWS_28", "CKV_AWS_119"},
    "TablesRateLimitTable": {"CKV_AWS_28", "CKV_AWS_119"},
    "MediaAccessLogsBucket": {"CKV_AWS_18", "CKV_AWS_21"},
    "MediaMediaBucket": {"CKV_AWS_21"},
    "VendorCredentialsSecret": {"CKV_AWS_149"},
    "SenderFunction": SENDER_FUNCTION,
    "StatusQueuesStatusDeadLetterQueue": {"CKV_AWS_27"},
    "StatusQueuesStatusQueue": {"CKV_AWS_27"},
    "StatusEventsFailureQueue": {"CKV_AWS_27"},
    "CallbackCredentialsSecret": {"CKV_AWS_149"},
    "WebhookHandlerFunction": WEBHOOK_FUNCTION,
    # The public Function URL (AuthType NONE) and the two permissions that let anyone call it.
    "WebhookHandlerFunctionFunctionUrl": {"CKV_AWS_258"},
    "WebhookHandlerFunctioninvokefunctionurl": {"CKV_AWS_301"},
    "WebhookHandlerFunctioninvokefunction": {"CKV_AWS_301"},
    "TrackerHandlerFunction": SENDER_FUNCTION,
    "StatusPollerHandlerFunction": SENDER_FUNCTION,
    "StatusEventsHandlerFunction": SENDER_FUNCTION,
    # Priority lane and opt-outs (DESIGN 10, 11): SSE-SQS queues, the opt-out table on the AWS managed key.
    "PriorityLaneDeadLetterQueue": {"CKV_AWS_27"},
    "PriorityLaneQueue": {"CKV_AWS_27"},
    "OptOutsTable": {"CKV_AWS_119"},
}
IMPORTED_SECRETS = {"VendorCredentialsSecret", "CallbackCredentialsSecret"}


def skips_by_resource(stack: Synthesized) -> dict[str, list[dict[str, Any]]]:
    return {
        logical_id: resource["Metadata"][METADATA_KEY]["skip"]
        for logical_id, resource in stack.template_json["Resources"].items()
        if METADATA_KEY in resource.get("Metadata", {})
    }


def skipped_ids(stack: Synthesized) -> dict[str, set[str]]:
    """The skips keyed by the longest expectation fragment each logical id starts with (one must)."""
    found: dict[str, set[str]] = {}
    for logical_id, skips in skips_by_resource(stack).items():
        fragment = max((f for f in [*DEFAULT_SKIPS, "CustomS3AutoDeleteObjects"] if logical_id.startswith(f)), key=len)
        assert fragment not in found, (fragment, logical_id)
        found[fragment] = {skip["id"] for skip in skips}
    return found


def test_default_stack_skips(default_stack: Synthesized) -> None:
    assert skipped_ids(default_stack) == DEFAULT_SKIPS


def test_emulator_stack_skips_the_same(emulator_stack: Synthesized) -> None:
    assert skipped_ids(emulator_stack) == DEFAULT_SKIPS


def test_configured_stack_skips(configured_stack: Synthesized) -> None:
    expected = {name: ids for name, ids in DEFAULT_SKIPS.items() if name not in IMPORTED_SECRETS}
    # An imported secret is not in the template; CDK's auto-delete handler is (ephemeral on AWS).
    assert skipped_ids(configured_stack) == {**expected, "CustomS3AutoDeleteObjects": AUTO_DELETE_HANDLER}


def test_versioned_media_bucket_needs_no_versioning_skip(tmp_path: Path) -> None:
    stack = synthesize(tmp_path, {"media_versioning": "true"})
    assert skipped_ids(stack) == {name: ids for name, ids in DEFAULT_SKIPS.items() if name != "MediaMediaBucket"}


def test_every_skip_has_a_reason(any_stack: Synthesized) -> None:
    for logical_id, skips in skips_by_resource(any_stack).items():
        ids = [skip["id"] for skip in skips]
        assert len(ids) == len(set(ids)), logical_id
        for skip in skips:
            assert set(skip) == {"id", "comment"}, (logical_id, skip)
            assert len(skip["comment"]) > 60, (logical_id, skip)


class TestSkipChecks:
    @staticmethod
    def _queue() -> sqs.Queue:
        return sqs.Queue(Stack(App(), "Test"), "Queue")

    def test_an_l2_construct_annotates_its_default_child_and_later_calls_add(self) -> None:
        queue = self._queue()
        skip_checks(queue, {"CKV_AWS_27": "first reason"})
        skip_checks(queue, {"CKV_AWS_999": "second reason"})
        resource = queue.node.default_child
        assert isinstance(resource, CfnResource)
        assert resource.get_metadata(METADATA_KEY) == {
            "skip": [{"id": "CKV_AWS_27", "comment": "first reason"}, {"id": "CKV_AWS_999", "comment": "second reason"}]
        }

    @pytest.mark.parametrize("reasons", [{"CKV_AWS_27": " "}, {"AwsSolutions-SQS3": "a cdk-nag id"}])
    def test_a_skip_needs_a_checkov_id_and_a_reason(self, reasons: dict[str, str]) -> None:
        with pytest.raises(ValueError, match="needs a CKV_ id and a reason"):
            skip_checks(self._queue(), reasons)

    def test_a_construct_without_a_resource_is_refused(self) -> None:
        with pytest.raises(TypeError, match="no CloudFormation resource"):
            skip_checks(Construct(Stack(App(), "Test"), "Empty"), {"CKV_AWS_27": "reason"})
