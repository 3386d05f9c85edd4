"""Alarms on the things that need a human, an encrypted SNS topic for them, and a dashboard."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Settings
from messaging import names as constants

# Metric names come from the function's constants; Powertools adds the dimension service=<name>.
METRIC_SENT = constants.METRIC_SENT
METRIC_REJECTED = constants.METRIC_REJECTED
METRIC_TRANSIENT_FAILURES = constants.METRIC_TRANSIENT_FAILURES
METRIC_AMBIGUOUS_SENDS = constants.METRIC_AMBIGUOUS_SENDS
SERVICE_DIMENSION = "service"
# The delivery rate is computed only over an hour with at least this many final outcomes, so one
# failed message at night does not page anyone.
DELIVERY_RATE_PERIOD = Duration.hours(1)
DELIVERY_RATE_MIN_OUTCOMES = 10

_PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self.topic = self._alarm_topic()
        action = cloudwatch_actions.SnsAction(self.topic)
        self._action = action
        sender_metric = self._service_metric

        dlq_depth = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
        )
        oldest_age = queue.metric_approximate_age_of_oldest_message(
            period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
        )
        errors = function.metric_errors(period=_PERIOD, statistic=cloudwatch.Stats.SUM)
        throttles = function.metric_throttles(period=_PERIOD, statistic=cloudwatch.Stats.SUM)
        transient = sender_metric(METRIC_TRANSIENT_FAILURES)
        rejected = sender_metric(METRIC_REJECTED)
        # Age since the request first reached the queue (FirstEnqueuedAt): requeued copies of a throttled
        # request reset SQS's own ApproximateAgeOfOldestMessage, this one keeps counting.
        request_age = sender_metric(constants.METRIC_MESSAGE_AGE, statistic=cloudwatch.Stats.MAXIMUM)

        self.alarms = [
            self._alarm(
                "DeadLetterQueueNotEmpty",
                dlq_depth,
                threshold=1,
                description="Requests are in the DLQ: rejected (reason in message attributes) or out of retries.",
            ),
            self._alarm(
                "OldestRequestTooOld",
                oldest_age,
                threshold=settings.oldest_message_alarm_seconds,
                evaluation_periods=5,
                description="Requests wait too long in the queue: the sender is failing, throttled or too slow.",
            ),
            self._alarm("SenderErrors", errors, threshold=1, description="The sender Lambda failed invocations."),
            self._alarm("SenderThrottles", throttles, threshold=1, description="The sender Lambda was throttled."),
            self._alarm(
                "RequestAgeTooHigh",
                request_age,
                threshold=settings.oldest_message_alarm_seconds,
                description="A request has waited too long since it first reached the queue (MessageAgeSeconds, "
                "across requeues): the vendor keeps throttling or failing; at MAX_MESSAGE_AGE_HOURS it is "
                "dead-lettered as THROTTLED_TOO_LONG.",
            ),
            self._alarm(
                "TransientFailures",
                transient,
                threshold=settings.transient_failures_alarm_threshold,
                description="Many sends failed transiently (vendor 429/5xx, timeouts); they are being retried.",
            ),
            self._alarm(
                "RejectedRequests",
                rejected,
                threshold=settings.rejected_alarm_threshold,
                description="Requests were rejected (bad input or vendor 4xx) and copied to the DLQ.",
            ),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(action)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", default_interval=Duration.hours(6), period_override=cloudwatch.PeriodOverride.AUTO
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# {settings.service_name}\nSQS → sender Lambda → Telegent → DynamoDB", width=24, height=2
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Requests waiting",
                left=[queue.metric_approximate_number_of_messages_visible(), dlq_depth],
                right=[oldest_age, request_age],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Send outcomes",
                left=[
                    sender_metric(METRIC_SENT),
                    rejected,
                    transient,
                    sender_metric(METRIC_AMBIGUOUS_SENDS),
                    sender_metric(constants.METRIC_INTERNAL_ERRORS),
                    sender_metric(constants.METRIC_THROTTLED_TOO_LONG),
                    sender_metric(constants.METRIC_REQUEUED),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Sender Lambda",
                left=[function.metric_invocations(period=_PERIOD), errors, throttles],
                right=[function.metric_duration(period=_PERIOD, statistic=cloudwatch.Stats.p(90))],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
        )

    def _service_metric(
        self, name: str, statistic: str = cloudwatch.Stats.SUM, period: Duration = _PERIOD
    ) -> cloudwatch.Metric:
        """A metric the functions emit through Powertools (dimension service=<service name>)."""
        return cloudwatch.Metric(
            namespace=self._settings.metrics_namespace,
            metric_name=name,
            dimensions_map={SERVICE_DIMENSION: self._settings.service_name},
            statistic=statistic,
            period=period,
        )

    def add_delivery_tracking(self) -> list[cloudwatch.Alarm]:
        """Alarms on a falling delivery rate and on unmatched receipts; dashboard rows for delivery (DESIGN 8)."""
        outcomes = {
            "delivered": constants.METRIC_DELIVERED,
            "failed": constants.METRIC_DELIVERY_FAILED,
            "undeliverable": constants.METRIC_UNDELIVERABLE,
        }
        total = " + ".join(f"FILL({key}, 0)" for key in outcomes)
        delivery_rate = cloudwatch.MathExpression(
            expression=f"IF(({total}) >= {DELIVERY_RATE_MIN_OUTCOMES}, FILL(delivered, 0) / ({total}))",
            using_metrics={
                key: self._service_metric(name, period=DELIVERY_RATE_PERIOD) for key, name in outcomes.items()
            },
            label="Delivery rate (Delivered / final outcomes)",
            period=DELIVERY_RATE_PERIOD,
        )
        unmatched = self._service_metric(constants.METRIC_RECEIPTS_UNMATCHED)
        alarms = [
            self._alarm(
                "ReceiptsUnmatched",
                unmatched,
                threshold=1,
                description="Receipts arrived for MessageIds with no row: they are in the status DLQ with reason "
                "UNKNOWN_MESSAGE_ID (another system on the same route, or rows lost).",
            ),
        ]
        # The emulator refuses metric-math alarms (docs/ministack.md); the dashboard still shows the rate.
        if not self._settings.is_emulator:
            alarms.append(self._delivery_rate_alarm(delivery_rate))
        for alarm in alarms:
            alarm.add_alarm_action(self._action)
        latency = [
            self._service_metric(constants.METRIC_DELIVERY_LATENCY, statistic=cloudwatch.Stats.p(p)) for p in (50, 99)
        ]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Delivery rate", left=[delivery_rate], left_y_axis={"min": 0, "max": 1}, width=8
            ),
            cloudwatch.GraphWidget(title="Send to final status (DeliveryLatency)", left=latency, width=8),
            cloudwatch.GraphWidget(
                title="Delivery outcomes",
                left=[
                    self._service_metric(name)
                    for name in (
                        constants.METRIC_DELIVERED,
                        constants.METRIC_DELIVERY_FAILED,
                        constants.METRIC_UNDELIVERABLE,
                        constants.METRIC_STATUS_UNKNOWN,
                        constants.METRIC_RECEIPTS_UNMATCHED,
                    )
                ],
                right=[self._service_metric(constants.METRIC_STATUS_POLLS)],
                width=8,
            ),
        )
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Delivery alarms", alarms=alarms, width=24))
        self.alarms.extend(alarms)
        return alarms

    def add_priority_lane(
        self, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue, *, oldest_message_alarm_seconds: int
    ) -> list[cloudwatch.Alarm]:
        """The priority lane's own alarms (its DLQ, the age of its oldest request) and a dashboard row that
        shows both lanes side by side; opt-outs skipped (DESIGN 10, 11)."""
        dlq_depth = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
        )
        oldest_age = queue.metric_approximate_age_of_oldest_message(
            period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
        )
        alarms = [
            self._alarm(
                "PriorityDeadLetterQueueNotEmpty",
                dlq_depth,
                threshold=1,
                description="Priority requests are in the priority DLQ: out of retries, or EventBridge could not "
                "deliver them within their validity. Rejected priority requests are copied to the main DLQ.",
            ),
            self._alarm(
                "PriorityOldestRequestTooOld",
                oldest_age,
                threshold=oldest_message_alarm_seconds,
                evaluation_periods=2,
                description="Priority requests wait in their queue: the sender is failing or throttled, or the "
                "priority mapping's MaximumConcurrency is too low. A priority message should leave within seconds.",
            ),
        ]
        for alarm in alarms:
            alarm.add_alarm_action(self._action)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Priority lane: waiting",
                left=[queue.metric_approximate_number_of_messages_visible(), dlq_depth],
                right=[oldest_age],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Opted-out recipients skipped",
                left=[self._service_metric(constants.METRIC_OPTED_OUT_SKIPPED)],
                right=[
                    self._service_metric(constants.METRIC_OPTOUTS_ADDED),
                    self._service_metric(constants.METRIC_OPTOUTS_REMOVED),
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Priority lane alarms", alarms=alarms, width=24))
        self.alarms.extend(alarms)
        return alarms

    def _delivery_rate_alarm(self, delivery_rate: cloudwatch.MathExpression) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            "DeliveryRateLow",
            metric=delivery_rate,
            threshold=self._settings.delivery_rate_alarm_threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            # Fewer outcomes than the minimum (or none) give no data point: not a falling rate.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="Fewer messages than expected reach DELIVERED: check FAILED/UNDELIVERABLE rows "
            "(ErrorCode, VendorStatus) and the Telegent status page.",
        )

    def _alarm_topic(self) -> sns.Topic:
        removal_policy = RemovalPolicy.DESTROY if self._settings.ephemeral else RemovalPolicy.RETAIN
        # A customer key, since CloudWatch cannot publish to a topic under the AWS-managed SNS key.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the {self._settings.service_name} alarm topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7) if self._settings.ephemeral else None,
        )
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key.grant(cloudwatch_principal, "kms:Decrypt", "kms:GenerateDataKey")

        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{self._settings.service_name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        if self._settings.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(self._settings.alarm_email))
        return topic

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means no traffic (or an empty DLQ), which is fine.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
