"""The telegent-sms stack: queues, tables, media bucket, secret, sender, ingress, monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import Settings
from infra.constructs.callback_secret import CallbackCredentials
from infra.constructs.event_ingress import EventBridgeIngress
from infra.constructs.media_bucket import MediaStorage
from infra.constructs.monitoring import Monitoring
from infra.constructs.opt_outs import OptOutTable
from infra.constructs.priority_lane import PriorityLane
from infra.constructs.python_function import FunctionPlatform, tracking_log_key
from infra.constructs.queues import RequestQueues
from infra.constructs.scheduling import ScheduledSends
from infra.constructs.sender_function import SenderFunction, SenderResources
from infra.constructs.status_events import StatusEvents
from infra.constructs.status_poller import StatusPoller
from infra.constructs.status_queues import StatusQueues
from infra.constructs.tables import SenderTables
from infra.constructs.tracker import StatusTracker
from infra.constructs.vendor_secret import VendorCredentials
from infra.constructs.webhook import ReceiptsWebhook
from messaging import names as constants


class TelegentSmsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="telegent-sms: SQS -> Lambda -> Telegent mPaaS SMS/MMS relay with results in DynamoDB",
            **kwargs,
        )
        Tags.of(self).add("service", settings.service_name)

        queues = RequestQueues(self, "Queues", settings=settings)
        tables = SenderTables(self, "Tables", settings=settings)
        media = MediaStorage(self, "Media", settings=settings)
        credentials = VendorCredentials(self, "VendorCredentials", settings=settings)
        sender = SenderFunction(
            self,
            "Sender",
            settings=settings,
            resources=SenderResources(
                queue=queues.queue,
                dead_letter_queue=queues.dead_letter_queue,
                tables=tables,
                media=media,
                credentials=credentials,
            ),
        )
        schedules = ScheduledSends(
            self, "Scheduling", settings=settings, queue=queues.queue, dead_letter_queue=queues.dead_letter_queue
        )
        ingress = EventBridgeIngress(
            self, "Events", settings=settings, queue=queues.queue, dead_letter_queue=queues.dead_letter_queue
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            queue=queues.queue,
            dead_letter_queue=queues.dead_letter_queue,
            function=sender.function,
        )

        # Delivery status tracking (DESIGN 8): receipts webhook -> status queue -> tracker -> rows;
        # poller + sweep for rows without a receipt; status events from the table's stream.
        platform = FunctionPlatform(
            runtime=sender.runtime,
            architecture=sender.architecture,
            layer=sender.layer,
            log_key=tracking_log_key(self, "TrackingLogKey", settings),
        )
        status_queues = StatusQueues(self, "StatusQueues", settings=settings)
        callback_credentials = CallbackCredentials(self, "CallbackCredentials", settings=settings)
        webhook = ReceiptsWebhook(
            self,
            "Webhook",
            settings=settings,
            platform=platform,
            status_queue=status_queues.queue,
            credentials=callback_credentials,
        )
        tracker = StatusTracker(
            self,
            "Tracker",
            settings=settings,
            platform=platform,
            status_queue=status_queues.queue,
            status_dead_letter_queue=status_queues.dead_letter_queue,
            messages=tables.messages,
            bus=ingress.bus,
        )
        poller = StatusPoller(
            self,
            "StatusPoller",
            settings=settings,
            platform=platform,
            messages=tables.messages,
            rate_limit=tables.rate_limit,
            credentials=credentials,
            schedule_group=schedules.group,
        )
        status_events = StatusEvents(
            self, "StatusEvents", settings=settings, platform=platform, messages=tables.messages, bus=ingress.bus
        )
        monitoring.add_delivery_tracking()

        # Opt-outs (DESIGN 10): the sender reads the table (one batch read per invocation), the tracker
        # writes it from inbound STOP/START keywords, operators through the CLI.
        opt_outs = OptOutTable(self, "OptOuts", settings=settings)
        opt_outs.allow_sender(sender.function)
        opt_outs.allow_tracker(tracker.function)
        # Priority lane (DESIGN 11): its own queue, DLQ, mapping and EventBridge rule; the same sender code.
        priority = PriorityLane(self, "PriorityLane", settings=settings, function=sender.function, bus=ingress.bus)
        # Send-time options (DESIGN 9): a SendAt further ahead than a delayed requeue becomes a one-time
        # schedule in the group, onto the queue the request came from.
        schedules.allow_sender(sender.function, queues.queue)
        schedules.allow_target(priority.queue)
        # Polls pace as the normal lane with the sender's reserve: one budget, one split.
        poller.function.add_environment(constants.ENV_PRIORITY_RESERVE, str(settings.priority_reserve))
        monitoring.add_priority_lane(
            priority.queue,
            priority.dead_letter_queue,
            oldest_message_alarm_seconds=settings.priority_oldest_message_alarm_seconds,
        )

        outputs = {
            "QueueUrl": queues.queue.queue_url,
            "QueueArn": queues.queue.queue_arn,
            "DeadLetterQueueUrl": queues.dead_letter_queue.queue_url,
            "MessagesTableName": tables.messages.table_name,
            "IdempotencyTableName": tables.idempotency.table_name,
            "RateLimitTableName": tables.rate_limit.table_name,
            "MediaBucketName": media.bucket.bucket_name,
            "SecretArn": credentials.secret.secret_arn,
            "ScheduleGroupName": schedules.group.schedule_group_name,
            "SchedulerRoleArn": schedules.role.role_arn,
            "EventBusName": ingress.bus.event_bus_name,
            "SenderFunctionName": sender.function.function_name,
            "AlarmTopicArn": monitoring.topic.topic_arn,
            "WebhookUrl": webhook.url.url,
            "StatusQueueUrl": status_queues.queue.queue_url,
            "StatusDeadLetterQueueUrl": status_queues.dead_letter_queue.queue_url,
            "StatusEventsFailureQueueUrl": status_events.failure_queue.queue_url,
            "CallbackSecretArn": callback_credentials.secret.secret_arn,
            "PriorityQueueUrl": priority.queue.queue_url,
            "PriorityQueueArn": priority.queue.queue_arn,
            "PriorityDeadLetterQueueUrl": priority.dead_letter_queue.queue_url,
            "OptOutTableName": opt_outs.table.table_name,
            # The Telegent API the functions call (operators' tools call the same one).
            "TelegentBaseUrl": settings.telegent_base_url,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
