"""Scheduled sends through EventBridge Scheduler: a schedule group, its role, recurring schedules."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import ScheduleSpec, Settings


class ScheduledSends(Construct):
    """Recurring schedules from context, plus the group and role producers use for their own.

    A producer that wants a one-off send at a given time creates an `at(...)` schedule in this
    group whose target is the queue and whose role is `self.role` (it needs iam:PassRole on it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(
            self,
            "Group",
            removal_policy=RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN,
        )

        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by EventBridge Scheduler to put scheduled send requests on the queue",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                # Confused-deputy guard: only schedules of this account may use the role.
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
        self._dead_letter_queue = dead_letter_queue
        self._queue = queue

        for spec in settings.schedules:
            self._schedule(spec)

    def _schedule(self, spec: ScheduleSpec) -> scheduler.Schedule:
        target = scheduler_targets.SqsSendMessage(
            self._queue,
            role=self.role,
            # The body is the send request itself, as any producer would write it.
            input=scheduler.ScheduleTargetInput.from_object(spec.payload),
            # Undeliverable invocations end up beside the rejected requests instead of vanishing.
            dead_letter_queue=self._dead_letter_queue,
        )
        return scheduler.Schedule(
            self,
            f"Schedule-{spec.name}",
            schedule_name=spec.name,
            schedule_group=self.group,
            description=f"Recurring send '{spec.name}' ({spec.expression} {spec.timezone})",
            schedule=scheduler.ScheduleExpression.expression(spec.expression, TimeZone.of(spec.timezone)),
            target=target,
        )
