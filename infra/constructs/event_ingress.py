"""EventBridge ingress: events of the configured detail-type become send requests on the queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Settings
from infra.constructs.priority_lane import NORMAL_DETAIL


class EventBridgeIngress(Construct):
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
        # The account's default bus unless context names a custom one (which must already exist).
        self.bus = events.EventBus.from_event_bus_name(self, "Bus", settings.event_bus_name or "default")
        self.rule = events.Rule(
            self,
            "SendRequestRule",
            description=f"'{settings.event_detail_type}' events are SMS/MMS send requests",
            event_bus=self.bus,
            # Every request but `Priority: "high"` (absent, "normal", anything else): those go to the
            # priority lane's own rule (infra/constructs/priority_lane.py), never to both queues.
            event_pattern=events.EventPattern(
                detail_type=[settings.event_detail_type],
                detail=NORMAL_DETAIL,
            ),
            targets=[
                # The whole event is delivered: the sender unwraps the EventBridge envelope
                # (`detail` holds the request), and the event id helps tracing.
                events_targets.SqsQueue(
                    queue,
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
