"""The status queue (receipts from the webhook to the tracker) and its dead-letter queue."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings
from infra.constructs.queues import RETENTION, SSE_SQS_REASON

# The tracker's timeout: one batch of receipts is a few Query + UpdateItem calls per record.
TRACKER_TIMEOUT = Duration.seconds(30)


def encrypted_queue(scope: Construct, construct_id: str, **kwargs: Any) -> sqs.Queue:
    """SSE-SQS, TLS only, the longest retention: the shape of every queue of the stack."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=RETENTION,
        **kwargs,
    )
    skip_checks(queue, {"CKV_AWS_27": SSE_SQS_REASON})
    return queue


class StatusQueues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        # As for the request queue: the DLQ accepts redrives from the status queue only, named
        # from the stack name so the allow policy needs no reference back (which would be a cycle).
        status_queue_name = f"{Aws.STACK_NAME}-status"
        status_queue_arn = Stack.of(self).format_arn(service="sqs", resource=status_queue_name)

        # Receipts for unknown MessageIds (after the last receive) and receipts the tracker cannot
        # read end here, each with its reason.
        self.dead_letter_queue = encrypted_queue(
            self,
            "StatusDeadLetterQueue",
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "StatusQueueRef", status_queue_arn)],
            ),
        )
        self.queue = encrypted_queue(
            self,
            "StatusQueue",
            queue_name=status_queue_name,
            # AWS guidance for SQS event sources: at least six times the function timeout.
            visibility_timeout=Duration.seconds(6 * TRACKER_TIMEOUT.to_seconds()),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.status_max_receive_count
            ),
        )
