"""Send-time options in the synthesized stack (DESIGN.md sections 5 and 9): the sender's Scheduler
settings and grants, the Scheduler role's targets, and the context keys for the defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from messaging import names as constants
from tests.infra.helpers import Synthesized, logical_id, resources_of, synthesize
from tests.infra.test_status_tracking import arn, environment, role_grants

pytestmark = pytest.mark.infra


def group_ref(stack: Synthesized) -> Any:
    """The group's name as the template writes it (CDK names the group itself)."""
    group = resources_of(stack, "AWS::Scheduler::ScheduleGroup")[
        logical_id(stack, "AWS::Scheduler::ScheduleGroup", "SchedulingGroup")
    ]
    return group["Properties"]["Name"]


def sender_schedules(stack: Synthesized) -> str:
    parts = [
        "arn:",
        {"Ref": "AWS::Partition"},
        ":scheduler:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
        f":schedule/{group_ref(stack)}/sms-*",
    ]
    return json.dumps({"Fn::Join": ["", parts]}, sort_keys=True)


def sender_statements(stack: Synthesized, action: str) -> list[dict[str, Any]]:
    role = logical_id(stack, "AWS::IAM::Role", "SenderRole")
    found = []
    for policy in resources_of(stack, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if action in actions:
                    found.append(statement)
    return found


class TestSender:
    def test_environment_names_the_group_role_and_queue_and_the_defaults(self, default_stack: Synthesized) -> None:
        env = environment(default_stack, constants.SENDER_HANDLER)
        assert env[constants.ENV_SCHEDULE_GROUP_NAME] == group_ref(default_stack)
        assert env[constants.ENV_SCHEDULER_ROLE_ARN] == {
            "Fn::GetAtt": [logical_id(default_stack, "AWS::IAM::Role", "SchedulingRole"), "Arn"]
        }
        assert env[constants.ENV_QUEUE_ARN] == {
            "Fn::GetAtt": [logical_id(default_stack, "AWS::SQS::Queue", "RequestQueue"), "Arn"]
        }
        assert env[constants.ENV_MAX_SEGMENTS] == "10"
        assert env[constants.ENV_SMART_ENCODING] == "false"
        assert env[constants.ENV_SENDAT_DELAY_MAX_SECONDS] == "900"
        assert constants.ENV_DEFAULT_VALIDITY_SECONDS not in env

    def test_may_create_delete_and_get_only_its_own_schedules_in_the_group(self, default_stack: Synthesized) -> None:
        grants = role_grants(default_stack, constants.SENDER_HANDLER)
        scheduler_grants = {
            target: actions
            for target, actions in grants.items()
            if any(action.startswith("scheduler:") for action in actions)
        }
        assert scheduler_grants == {
            sender_schedules(default_stack): {
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
            }
        }

    def test_may_pass_only_the_scheduler_role_and_only_to_scheduler(self, default_stack: Synthesized) -> None:
        (statement,) = sender_statements(default_stack, "iam:PassRole")
        assert statement["Action"] == "iam:PassRole"
        scheduling_role = logical_id(default_stack, "AWS::IAM::Role", "SchedulingRole")
        assert statement["Resource"] == {"Fn::GetAtt": [scheduling_role, "Arn"]}
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


class TestSchedulerRole:
    def test_may_send_to_the_request_and_priority_queues_only(self, default_stack: Synthesized) -> None:
        role = logical_id(default_stack, "AWS::IAM::Role", "SchedulingRole")
        actions_by_target: dict[str, set[str]] = {}
        for policy in resources_of(default_stack, "AWS::IAM::Policy").values():
            if {"Ref": role} in policy["Properties"]["Roles"]:
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    targets = (
                        statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                    )
                    for target in targets:
                        actions_by_target.setdefault(json.dumps(target, sort_keys=True), set()).update(actions)
        assert actions_by_target == {
            arn(default_stack, "AWS::SQS::Queue", "RequestQueue"): {"sqs:SendMessage"},
            arn(default_stack, "AWS::SQS::Queue", "PriorityLaneQueue"): {"sqs:SendMessage"},
        }

    def test_only_scheduler_of_this_account_may_assume_it(self, default_stack: Synthesized) -> None:
        role = resources_of(default_stack, "AWS::IAM::Role")[
            logical_id(default_stack, "AWS::IAM::Role", "SchedulingRole")
        ]
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_context_keys_set_the_defaults(tmp_path: Path) -> None:
    stack = synthesize(
        tmp_path,
        {
            "default_validity_seconds": "3600",
            "max_segments": "4",
            "smart_encoding": "true",
            "sendat_delay_max_seconds": "15",
        },
    )
    env = environment(stack, constants.SENDER_HANDLER)
    assert env[constants.ENV_DEFAULT_VALIDITY_SECONDS] == "3600"
    assert env[constants.ENV_MAX_SEGMENTS] == "4"
    assert env[constants.ENV_SMART_ENCODING] == "true"
    assert env[constants.ENV_SENDAT_DELAY_MAX_SECONDS] == "15"


def test_a_stack_with_an_account_and_region_synthesizes_with_its_nag_acknowledgment(tmp_path: Path) -> None:
    """`cdk deploy` gives the stack a concrete environment (the emulator's 000000000000/us-east-1): the
    schedules' ARN is then a plain string, and cdk-nag names it so in its finding."""
    from unittest import mock

    from aws_cdk.assertions import Template

    from infra.app import create_app
    from tests.infra.helpers import CDK_JSON_CONTEXT, SKIP_BUNDLING

    environment_ = {"CDK_DEFAULT_ACCOUNT": "000000000000", "CDK_DEFAULT_REGION": "us-east-1"}
    with mock.patch.dict("os.environ", environment_):
        app = create_app({**CDK_JSON_CONTEXT, **SKIP_BUNDLING, "target": "emulator"}, outdir=str(tmp_path))
        (stack,) = app.synth().stacks  # raises on an unacknowledged cdk-nag finding
    statements = [
        statement
        for resource in Template.from_json(stack.template).find_resources("AWS::IAM::Policy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "scheduler:CreateSchedule" in statement["Action"]
    ]
    (statement,) = statements
    assert statement["Resource"].startswith("arn:aws:scheduler:us-east-1:000000000000:schedule/")
    assert statement["Resource"].endswith("/sms-*")
