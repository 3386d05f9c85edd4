"""Status events: every change of a row's Status, read from the table's stream, published on the bus."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra.config import Settings
from infra.constructs.python_function import FunctionPlatform, PythonFunction
from infra.constructs.status_queues import encrypted_queue
from messaging import names as constants

STREAM_BATCH_SIZE = 100
# Bounded: a batch that keeps failing is bisected down to the failing record, which is then
# retried this many times and reported to the failure queue, so one bad record cannot stall a shard.
STREAM_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE = Duration.hours(24)


class StatusEvents(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        platform: FunctionPlatform,
        messages: dynamodb.ITable,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        # Lambda writes the shard and sequence range of a batch it gave up on here; the records
        # themselves stay readable in the stream for 24 hours.
        self.failure_queue = encrypted_queue(self, "FailureQueue")
        Validations.of(self.failure_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the on-failure destination of the status-events stream mapping "
                "(Lambda writes failed batch ranges to it); it is not a source anything consumes from.",
            )
        )
        self.handler = PythonFunction(
            self,
            "Handler",
            settings=settings,
            platform=platform,
            description="Publishes every change of a result row's Status on the event bus",
            handler=constants.STATUS_EVENTS_HANDLER,
            timeout=Duration.seconds(30),
            environment={constants.ENV_EVENT_BUS_NAME: bus.event_bus_name},
            resource_star_reason="Two kinds of action support no resource-level permissions and are the only ones "
            "on '*': X-Ray PutTraceSegments/PutTelemetryRecords, and dynamodb:ListStreams, which the stream event "
            "source mapping needs (CDK's grantStreamRead); the stream's records are read only from this table's "
            "stream ARN.",
            checkov_skips={
                "CKV_AWS_115": "Started only by the DynamoDB stream mapping, which runs at most one batch per "
                "shard at a time; the table's write rate bounds its concurrency already.",
                "CKV_AWS_116": "Invoked synchronously by the stream's event source mapping; a function DLQ applies "
                "to asynchronous invokes only. The mapping has its own on-failure destination (an SQS queue) "
                "after bounded retries.",
            },
        )
        self.function = self.handler.function
        self.function.add_event_source(
            event_sources.DynamoEventSource(
                messages,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=STREAM_BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=STREAM_RETRY_ATTEMPTS,
                max_record_age=STREAM_MAX_RECORD_AGE,
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.failure_queue),
            )
        )
        self.handler.allow(["events:PutEvents"], [bus.event_bus_arn])
