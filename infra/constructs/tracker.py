"""The tracker: consumes receipts from the status queue and moves result rows along the lifecycle."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Settings
from infra.constructs.python_function import FunctionPlatform, PythonFunction
from infra.constructs.status_queues import TRACKER_TIMEOUT
from messaging import names as constants

TRACKER_BATCH_SIZE = 10
TRACKER_MAX_CONCURRENCY = 2


def index_arn(table: dynamodb.ITable, index_name: str) -> str:
    return f"{table.table_arn}/index/{index_name}"


class StatusTracker(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        platform: FunctionPlatform,
        status_queue: sqs.IQueue,
        status_dead_letter_queue: sqs.IQueue,
        messages: dynamodb.ITable,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        # OPTOUT_TABLE joins these once the stack has an opt-out table (DESIGN 10).
        environment = {
            constants.ENV_MESSAGES_TABLE: messages.table_name,
            constants.ENV_STATUS_DLQ_URL: status_dead_letter_queue.queue_url,
            constants.ENV_EVENT_BUS_NAME: bus.event_bus_name,
        }
        self.handler = PythonFunction(
            self,
            "Handler",
            settings=settings,
            platform=platform,
            description="Applies Telegent delivery receipts from the status queue to the result rows",
            handler=constants.TRACKER_HANDLER,
            timeout=TRACKER_TIMEOUT,
            environment=environment,
            checkov_skips={
                "CKV_AWS_115": "Concurrency is capped where the work comes from: the status queue is the only "
                "trigger and its event source mapping's MaximumConcurrency limits how many copies run; reserved "
                "concurrency would carve capacity out of the account's unreserved pool for no extra safety.",
                "CKV_AWS_116": "Invoked only by the SQS event source mapping (synchronous invokes); a function DLQ "
                "applies to asynchronous invokes only. Receipts that keep failing go to the status dead-letter "
                "queue through its redrive policy, and unmatched receipts are copied there with their reason.",
            },
        )
        self.function = self.handler.function
        self.function.add_event_source(
            event_sources.SqsEventSource(
                status_queue,
                batch_size=TRACKER_BATCH_SIZE,
                report_batch_item_failures=True,  # a receipt before its row is retried alone
                max_concurrency=TRACKER_MAX_CONCURRENCY,
            )
        )
        # Find the row by MessageId, then update it under the lifecycle rule; nothing else on the table.
        self.handler.allow(["dynamodb:Query"], [index_arn(messages, constants.MESSAGES_MESSAGE_ID_INDEX)])
        self.handler.allow(["dynamodb:UpdateItem"], [messages.table_arn])
        self.handler.allow(["sqs:SendMessage"], [status_dead_letter_queue.queue_arn])
        self.handler.allow(["events:PutEvents"], [bus.event_bus_arn])  # telegent.sms.inbound events
