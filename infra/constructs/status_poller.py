"""The status poller: every 5 minutes, asks Telegent about SENT rows without a receipt, and sweeps old ones."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from constructs import Construct

from infra.config import Settings
from infra.constructs.python_function import FunctionPlatform, PythonFunction
from infra.constructs.tracker import index_arn
from infra.constructs.vendor_secret import VendorCredentials
from messaging import names as constants

POLL_EXPRESSION = "rate(5 minutes)"
# Well inside the 5-minute cadence, so one run ends before the next begins.
POLLER_TIMEOUT = Duration.minutes(2)


class StatusPoller(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        platform: FunctionPlatform,
        messages: dynamodb.ITable,
        rate_limit: dynamodb.ITable,
        credentials: VendorCredentials,
        schedule_group: scheduler.IScheduleGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            settings=settings,
            platform=platform,
            description="Polls Telegent message details for SENT rows without a receipt; marks old ones UNKNOWN",
            handler=constants.STATUS_POLLER_HANDLER,
            timeout=POLLER_TIMEOUT,
            environment={
                constants.ENV_MESSAGES_TABLE: messages.table_name,
                constants.ENV_TELEGENT_BASE_URL: settings.telegent_base_url,
                constants.ENV_TELEGENT_SECRET_ID: credentials.secret_id,
                constants.ENV_RATE_LIMIT_TABLE: rate_limit.table_name,
                constants.ENV_RATE_LIMIT_PER_MINUTE: str(settings.rate_limit_per_minute),
                constants.ENV_RATE_LIMIT_BURST: str(settings.rate_limit_burst),
                constants.ENV_STATUS_TIMEOUT_HOURS: str(settings.status_timeout_hours),
                constants.ENV_STATUS_POLL_AFTER_MINUTES: str(settings.status_poll_after_minutes),
                constants.ENV_STATUS_POLL_MAX_SHARE: str(settings.status_poll_max_share),
            },
            checkov_skips={
                "CKV_AWS_115": "Started only by its schedule, once every 5 minutes, with a timeout well inside that "
                "interval; the vendor requests it makes are bounded by the shared rate limiter and "
                "STATUS_POLL_MAX_SHARE, not by concurrency. Reserved concurrency would carve capacity out of the "
                "account's unreserved pool for no extra safety.",
                "CKV_AWS_116": "A failed run loses nothing: the rows keep their PollAt and the next run, 5 minutes "
                "later, picks them up again. A dead-letter copy of a schedule's empty invocation could not be "
                "replayed usefully.",
            },
        )
        self.function = self.handler.function
        self.handler.allow(["dynamodb:Query"], [index_arn(messages, constants.MESSAGES_POLL_INDEX)])
        self.handler.allow(["dynamodb:UpdateItem"], [messages.table_arn])
        self.handler.allow(["dynamodb:UpdateItem"], [rate_limit.table_arn])  # the shared token bucket
        credentials.secret.grant_read(self.function)

        # Its own role rather than the send-scheduling one: that role is passed to producers'
        # one-time schedules and must not be able to invoke functions.
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            description="Assumed by EventBridge Scheduler to start the status poller",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_group=schedule_group,
            description="Starts the status poller (DESIGN 8)",
            schedule=scheduler.ScheduleExpression.expression(POLL_EXPRESSION),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                role=self.schedule_role,
                retry_attempts=0,  # the next run is 5 minutes away and does the same work
                max_event_age=Duration.minutes(5),
            ),
        )
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, CfnElement)
        stack = Stack.of(self)
        Validations.of(self.schedule_role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{stack.resolve(stack.get_logical_id(cfn_function))}.Arn>:*]",
                reason="lambda:InvokeFunction on the poller function and its own versions/aliases (the ':*' "
                "that CDK's grantInvoke adds); the role can invoke no other function.",
            )
        )
