"""The priority lane (DESIGN 11) and the opt-out table (DESIGN 10) in the synthesized stack."""

from __future__ import annotations

from typing import Any

import pytest

from messaging import names as constants
from tests.infra.helpers import FOURTEEN_DAYS, Synthesized, logical_id, resources_of
from tests.infra.test_status_tracking import arn, environment, function_by_handler, role_grants

pytestmark = pytest.mark.infra


def mappings_of_sender(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """The sender's event source mappings by the logical id of their queue."""
    function, _ = function_by_handler(stack, constants.SENDER_HANDLER)
    return {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: mapping["Properties"]
        for mapping in resources_of(stack, "AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"] == {"Ref": function}
    }


def rules(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """Send-request rules by the logical id of the queue they target."""
    found = {}
    for rule in resources_of(stack, "AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        found[target["Arn"]["Fn::GetAtt"][0]] = {**rule["Properties"], "Target": target}
    return found


class TestPriorityLane:
    def test_its_own_queue_and_dead_letter_queue(self, default_stack: Synthesized) -> None:
        stack = default_stack
        dlq = logical_id(stack, "AWS::SQS::Queue", "PriorityLaneDeadLetterQueue")
        stack.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-priority"]]},
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": FOURTEEN_DAYS,
                "VisibilityTimeout": 6 * 60 + 5,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5},
            },
        )
        redrive = resources_of(stack, "AWS::SQS::Queue")[dlq]["Properties"]["RedriveAllowPolicy"]
        assert redrive["redrivePermission"] == "byQueue"

    def test_the_same_sender_serves_both_queues_each_mapping_with_its_own_concurrency(
        self, default_stack: Synthesized, configured_stack: Synthesized
    ) -> None:
        mappings = mappings_of_sender(default_stack)
        normal = mappings[logical_id(default_stack, "AWS::SQS::Queue", "RequestQueue")]
        priority = mappings[logical_id(default_stack, "AWS::SQS::Queue", "PriorityLaneQueue")]
        assert len(mappings) == 2
        assert normal["ScalingConfig"] == {"MaximumConcurrency": 2}
        assert priority["ScalingConfig"] == {"MaximumConcurrency": 2}
        assert priority["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert priority["BatchSize"] == 10
        assert "MaximumBatchingWindowInSeconds" not in priority  # handed over at once
        configured = mappings_of_sender(configured_stack)[
            logical_id(configured_stack, "AWS::SQS::Queue", "PriorityLaneQueue")
        ]
        assert configured["ScalingConfig"] == {"MaximumConcurrency": 4}
        assert configured["BatchSize"] == 5

    def test_the_sender_knows_the_lane_and_the_reserve(
        self, default_stack: Synthesized, configured_stack: Synthesized
    ) -> None:
        queue = logical_id(default_stack, "AWS::SQS::Queue", "PriorityLaneQueue")
        variables = environment(default_stack, constants.SENDER_HANDLER)
        assert variables[constants.ENV_PRIORITY_QUEUE_ARN] == {"Fn::GetAtt": [queue, "Arn"]}
        assert variables[constants.ENV_PRIORITY_RESERVE] == "0.2"
        assert environment(configured_stack, constants.SENDER_HANDLER)[constants.ENV_PRIORITY_RESERVE] == "0.3"
        assert environment(configured_stack, constants.STATUS_POLLER_HANDLER)[constants.ENV_PRIORITY_RESERVE] == "0.3"

    @pytest.mark.parametrize("variant", ["default_stack", "configured_stack"])
    def test_high_priority_events_go_to_the_priority_queue_and_only_there(
        self, request: pytest.FixtureRequest, variant: str
    ) -> None:
        stack: Synthesized = request.getfixturevalue(variant)
        detail_type = "telegent.sms.send" if variant == "default_stack" else "orders.sms.send"
        by_queue = rules(stack)
        normal = by_queue[logical_id(stack, "AWS::SQS::Queue", "RequestQueue")]
        priority = by_queue[logical_id(stack, "AWS::SQS::Queue", "PriorityLaneQueue")]
        assert priority["EventPattern"] == {"detail-type": [detail_type], "detail": {"Priority": ["high"]}}
        assert normal["EventPattern"] == {
            "detail-type": [detail_type],
            "detail": {"Priority": [{"anything-but": ["high"]}, {"exists": False}]},
        }
        assert priority["EventBusName"] == normal["EventBusName"]
        dlq = logical_id(stack, "AWS::SQS::Queue", "PriorityLaneDeadLetterQueue")
        assert priority["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
        assert priority["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == 600

    def test_alarms_watch_the_priority_queue_and_its_dlq(self, default_stack: Synthesized) -> None:
        alarms = {
            name: alarm["Properties"]
            for name, alarm in resources_of(default_stack, "AWS::CloudWatch::Alarm").items()
            if "Priority" in name
        }
        queue = logical_id(default_stack, "AWS::SQS::Queue", "PriorityLaneQueue")
        dlq = logical_id(default_stack, "AWS::SQS::Queue", "PriorityLaneDeadLetterQueue")
        watched = {
            (alarm["MetricName"], alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0], alarm["Threshold"])
            for alarm in alarms.values()
        }
        assert watched == {("ApproximateAgeOfOldestMessage", queue, 60), ("ApproximateNumberOfMessagesVisible", dlq, 1)}
        assert all(alarm["AlarmActions"] for alarm in alarms.values())


class TestOptOuts:
    def test_table(self, default_stack: Synthesized) -> None:
        default_stack.template.has_resource(
            "AWS::DynamoDB::Table",
            {
                "Properties": {
                    "KeySchema": [{"AttributeName": "Number", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "Number", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "SSESpecification": {"SSEEnabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "DeletionProtectionEnabled": True,
                },
                "DeletionPolicy": "Retain",
            },
        )

    def test_only_the_sender_reads_and_only_the_tracker_writes(self, default_stack: Synthesized) -> None:
        stack = default_stack
        table = arn(stack, "AWS::DynamoDB::Table", "OptOuts")
        grants = {
            handler: role_grants(stack, handler).get(table, set())
            for handler in (
                constants.SENDER_HANDLER,
                constants.TRACKER_HANDLER,
                constants.WEBHOOK_HANDLER,
                constants.STATUS_POLLER_HANDLER,
                constants.STATUS_EVENTS_HANDLER,
            )
        }
        assert grants == {
            constants.SENDER_HANDLER: {"dynamodb:BatchGetItem"},
            constants.TRACKER_HANDLER: {"dynamodb:PutItem", "dynamodb:DeleteItem"},
            constants.WEBHOOK_HANDLER: set(),
            constants.STATUS_POLLER_HANDLER: set(),
            constants.STATUS_EVENTS_HANDLER: set(),
        }
        name = {"Ref": logical_id(stack, "AWS::DynamoDB::Table", "OptOuts")}
        assert environment(stack, constants.SENDER_HANDLER)[constants.ENV_OPTOUT_TABLE] == name
        assert environment(stack, constants.TRACKER_HANDLER)[constants.ENV_OPTOUT_TABLE] == name


@pytest.mark.parametrize(
    ("output", "resource_type", "fragment", "attribute"),
    [
        ("PriorityQueueUrl", "AWS::SQS::Queue", "PriorityLaneQueue", None),
        ("PriorityQueueArn", "AWS::SQS::Queue", "PriorityLaneQueue", "Arn"),
        ("PriorityDeadLetterQueueUrl", "AWS::SQS::Queue", "PriorityLaneDeadLetterQueue", None),
        ("OptOutTableName", "AWS::DynamoDB::Table", "OptOuts", None),
    ],
)
def test_outputs_the_cli_reads(
    default_stack: Synthesized, output: str, resource_type: str, fragment: str, attribute: str | None
) -> None:
    target = logical_id(default_stack, resource_type, fragment)
    expected = {"Fn::GetAtt": [target, attribute]} if attribute else {"Ref": target}
    assert default_stack.template_json["Outputs"][output]["Value"] == expected
