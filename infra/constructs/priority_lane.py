"""The priority lane (DESIGN.md section 11): a second request queue with its own DLQ, served by the same
sender function through a second event source mapping, and the EventBridge rule for `Priority: "high"`.

Why the same function with a second mapping, not a second function: the code, role, log group and
alarms are the sender's own; what makes a lane is where its records come from (the handler reads
`eventSourceARN` against PRIORITY_QUEUE_ARN) and how much it may run. Each mapping has its own
`ScalingConfig.MaximumConcurrency`, and the function has no reserved concurrency (see the sender's
CKV_AWS_115 reason), so the normal lane's mapping can never take the priority lane's copies: the two
lanes only share the account's concurrency and the vendor budget, where the shared limiter gives the
priority lane precedence.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings
from infra.constructs.queues import PRODUCER_ACTIONS, RETENTION, SSE_SQS_REASON, _principal
from messaging import names as constants

HIGH = constants.PRIORITY_HIGH  # detail.Priority that the rule routes here (DESIGN.md 2 and 11)
# The `detail` part of the two send-request rules, as EventBridge reads it: every request goes to
# exactly one queue (never to both, which would send a request without IdempotencyKey twice).
PRIORITY_DETAIL: dict[str, Any] = {"Priority": [HIGH]}
NORMAL_DETAIL: dict[str, Any] = {"Priority": [{"anything-but": [HIGH]}, {"exists": False}]}


def priority_pattern(settings: Settings) -> events.EventPattern:
    return events.EventPattern(detail_type=[settings.event_detail_type], detail=PRIORITY_DETAIL)


class PriorityLane(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        function: lambda_.Function,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        # As for the request queue: the DLQ accepts redrives from its own queue only, and the queue's ARN
        # comes from a name derived from the stack's (a reference back would be a cycle).
        queue_name = f"{Aws.STACK_NAME}-priority"
        queue_arn = Stack.of(self).format_arn(service="sqs", resource=queue_name)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "QueueRef", queue_arn)],
            ),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
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

        # The same sender code: a second mapping with its own concurrency, and no batching window
        # (a priority record is handed over as soon as it is there).
        self.event_source = event_sources.SqsEventSource(
            self.queue,
            batch_size=settings.priority_batch_size,
            report_batch_item_failures=True,
            max_concurrency=settings.priority_max_concurrency,
        )
        function.add_event_source(self.event_source)
        function.add_environment(constants.ENV_PRIORITY_QUEUE_ARN, self.queue.queue_arn)
        function.add_environment(constants.ENV_PRIORITY_RESERVE, str(settings.priority_reserve))
        # Throttled priority records are put back on their own queue (requeue), like normal ones.
        self.queue.grant_send_messages(function)

        # `Priority: "high"` events on the ingress bus come here; the normal rule leaves them out.
        self.rule = events.Rule(
            self,
            "PriorityRequestRule",
            description=f"'{settings.event_detail_type}' events with detail.Priority '{HIGH}' go to the priority lane",
            event_bus=bus,
            event_pattern=priority_pattern(settings),
            targets=[
                events_targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=185,
                    # A priority request is worth little after its default validity: undeliverable
                    # events go to the priority DLQ then, not a day later.
                    max_event_age=Duration.seconds(constants.DEFAULT_PRIORITY_VALIDITY_SECONDS),
                )
            ],
        )
