"""Scheduled sends through EventBridge Scheduler: a schedule group, its role, recurring schedules."""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Aws, RemovalPolicy, Stack, TimeZone, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import ScheduleSpec, Settings
from messaging import names as constants
from messaging.send_options import SCHEDULE_NAME_PREFIX

# What the sender does with its own SendAt schedules (DESIGN 9): create one, delete one, look one up.
SENDER_SCHEDULE_ACTIONS = ["scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule"]


class ScheduledSends(Construct):
    """Recurring schedules from context, plus the group and role producers use for their own.

    A producer that wants a one-off send at a given time creates an `at(...)` schedule in this
    group whose target is the queue and whose role is `self.role` (it needs iam:PassRole on it).
    The sender does the same for a request whose SendAt is further ahead than a delayed requeue can
    wait (`allow_sender`).
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

    def sender_schedules_arn(self) -> str:
        """The sender's own SendAt schedules: `sms-<key>` names in this group (not the recurring ones, nor
        the status poller's)."""
        return Stack.of(self).format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group.schedule_group_name}/{SCHEDULE_NAME_PREFIX}*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def allow_sender(self, function: lambda_.Function, queue: sqs.IQueue) -> None:
        """The sender creates one-time SendAt schedules (DESIGN 9) in this group, targeting `queue`, run by
        `self.role`: it learns the names from its environment, may create/delete/get its own `sms-*`
        schedules only, and may pass this role (and no other) to EventBridge Scheduler only."""
        function.add_environment(constants.ENV_SCHEDULE_GROUP_NAME, self.group.schedule_group_name)
        function.add_environment(constants.ENV_SCHEDULER_ROLE_ARN, self.role.role_arn)
        function.add_environment(constants.ENV_QUEUE_ARN, queue.queue_arn)
        role = function.role
        assert role is not None
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=SENDER_SCHEDULE_ACTIONS, resources=[self.sender_schedules_arn()])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{self._nag_finding_resource()}]",
                reason="The sender names each one-time SendAt schedule from the request's key at run time "
                "(sms-<key>-<hash>); it may create, delete and read only those, in the stack's own group.",
            )
        )

    def _nag_finding_resource(self) -> str:
        """The schedules' ARN as cdk-nag names it in a finding: concrete in a stack with an account and region
        (the emulator target), else with `<AWS::Partition>`-style placeholders for the pseudo parameters."""
        resolved = Stack.of(self).resolve(self.sender_schedules_arn())
        if isinstance(resolved, str):
            return resolved
        parts = resolved["Fn::Join"][1]
        return "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)

    def allow_target(self, queue: sqs.IQueue) -> None:
        """Another queue the sender's schedules may put requests on (the priority lane's)."""
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
