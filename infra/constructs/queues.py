"""The request queue producers write to, and the dead-letter queue behind it."""

from __future__ import annotations

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings

# SQS keeps a message for at most 14 days; keep both queues at the maximum so nothing expires
# before an operator has looked at it.
RETENTION = Duration.days(14)
# What a producer needs to send: the URL lookup, the attributes some SDKs read first, the send.
PRODUCER_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
SSE_SQS_REASON = (
    "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled: true); the CloudFormation version of this check "
    "only recognises KmsMasterKeyId (checkov issue #7381). SSE-SQS rather than a KMS key is deliberate: "
    "EventBridge, EventBridge Scheduler and producers in other accounts send to these queues without "
    "needing a KMS key policy or kms: grants."
)


class RequestQueues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)

        # The DLQ may only be used by our request queue (redrive allow policy). The request queue
        # refers to the DLQ, so its ARN cannot be a reference back without a cycle; it gets a
        # name derived from the stack name instead and the ARN is built from that name.
        request_queue_name = f"{Aws.STACK_NAME}-requests"
        request_queue_arn = Stack.of(self).format_arn(service="sqs", resource=request_queue_name)

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "RequestQueueRef", request_queue_arn)],
            ),
        )

        self.queue = sqs.Queue(
            self,
            "RequestQueue",
            queue_name=request_queue_name,
            # SSE-SQS rather than a customer key: EventBridge, Scheduler and producers in other
            # accounts can send without a KMS key policy, and the function needs no kms: grants.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            visibility_timeout=Duration.seconds(settings.queue_visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=settings.max_receive_count
            ),
        )

        for queue in (self.queue, self.dead_letter_queue):
            skip_checks(queue, {"CKV_AWS_27": SSE_SQS_REASON})

        if settings.queue_sender_principals:
            self.queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowConfiguredProducers",
                    principals=[_principal(p) for p in settings.queue_sender_principals],
                    actions=PRODUCER_ACTIONS,
                    resources=[self.queue.queue_arn],
                )
            )


def _principal(principal: str) -> iam.IPrincipal:
    if principal.startswith("arn:"):
        return iam.ArnPrincipal(principal)
    return iam.AccountPrincipal(principal)
