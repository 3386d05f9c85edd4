"""The telegent-sms stack: queues, tables, media bucket, secret, sender, ingress, monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import Settings
from infra.constructs.event_ingress import EventBridgeIngress
from infra.constructs.media_bucket import MediaStorage
from infra.constructs.monitoring import Monitoring
from infra.constructs.queues import RequestQueues
from infra.constructs.scheduling import ScheduledSends
from infra.constructs.sender_function import SenderFunction, SenderResources
from infra.constructs.tables import SenderTables
from infra.constructs.vendor_secret import VendorCredentials


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
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
