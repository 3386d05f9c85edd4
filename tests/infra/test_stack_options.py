"""The optional features, switched on through context (CONFIGURED_CONTEXT in conftest)."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from messaging import names as constants
from tests.infra.helpers import (
    SAMPLE_REQUEST,
    Synthesized,
    function_properties,
    logical_id,
    policy_statements,
    resources_of,
)

pytestmark = pytest.mark.infra


def test_context_strings_are_parsed(configured_stack: Synthesized) -> None:
    configured_stack.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "VisibilityTimeout": 6 * 30 + 10,
            "RedrivePolicy": Match.object_like({"maxReceiveCount": 3}),
        },
    )
    configured_stack.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"MaximumBatchingWindowInSeconds": 10}
    )


def test_configured_producers_may_send(configured_stack: Synthesized) -> None:
    # Both request queues: the normal one and the priority lane's (DESIGN 11: producers choose by queue).
    queues = [logical_id(configured_stack, "AWS::SQS::Queue", name) for name in ("RequestQueue", "PriorityLaneQueue")]
    statements = [
        statement
        for policy in resources_of(configured_stack, "AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "AllowConfiguredProducers"
    ]
    assert sorted(s["Resource"]["Fn::GetAtt"][0] for s in statements) == sorted(queues)
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert set(statement["Action"]) == {"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}
        principals = statement["Principal"]["AWS"]
        assert "arn:aws:iam::444455556666:role/order-service" in principals
        assert {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::111122223333:root"]]} in principals


def test_imported_secret_is_read_by_name(configured_stack: Synthesized) -> None:
    configured_stack.template.resource_count_is("AWS::SecretsManager::Secret", 0)  # both imported
    variables = function_properties(configured_stack)["Environment"]["Variables"]
    assert variables[constants.ENV_TELEGENT_SECRET_ID] == "telegent/account"
    (secret_statement,) = [
        s for s in policy_statements(configured_stack, "SenderRole") if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert set(secret_statement["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert "secret:telegent/account-??????" in json.dumps(secret_statement["Resource"])


def test_recurring_schedule_puts_the_payload_on_the_queue(configured_stack: Synthesized) -> None:
    stack = configured_stack
    queue = logical_id(stack, "AWS::SQS::Queue", "RequestQueue")
    role = logical_id(stack, "AWS::IAM::Role", "SchedulingRole")
    stack.template.resource_count_is("AWS::Scheduler::Schedule", 2)  # this one and the status poller's
    stack.template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "Name": "weekly-reminder",
            "ScheduleExpression": "cron(0 9 ? * MON *)",
            "ScheduleExpressionTimezone": "America/Denver",
            "GroupName": Match.any_value(),
            "Target": Match.object_like(
                {
                    "Arn": {"Fn::GetAtt": [queue, "Arn"]},
                    "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
                    "Input": json.dumps(SAMPLE_REQUEST, separators=(",", ":")),
                }
            ),
        },
    )


def test_event_rule_on_the_configured_bus(configured_stack: Synthesized) -> None:
    configured_stack.template.has_resource_properties(
        "AWS::Events::Rule",
        {"EventBusName": "orders", "EventPattern": {"detail-type": ["orders.sms.send"]}},
    )
    configured_stack.template.has_output("EventBusName", {"Value": "orders"})


def test_alarm_email_subscription(configured_stack: Synthesized) -> None:
    configured_stack.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_ephemeral_stack_is_removable(configured_stack: Synthesized) -> None:
    template = configured_stack.template
    for resource_type in ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::KMS::Key"):
        template.all_resources(resource_type, {"DeletionPolicy": "Delete"})
    template.all_resources_properties("AWS::KMS::Key", {"PendingWindowInDays": 7})
    template.all_resources_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": False})
    # Real AWS cannot delete a bucket with objects in it: CDK's auto-delete custom resource empties it.
    template.resource_count_is("Custom::S3AutoDeleteObjects", 2)
