"""The CLI in-process (Typer's CliRunner) against moto server, with a real CloudFormation stack whose
outputs carry the real stack's keys and point at a provisioned world (infra/local/world.py)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from infra.cli import stack as outputs
from infra.cli.main import app
from infra.cli.stack import StackContext
from infra.local.world import World
from messaging import names
from tests.integration.conftest import moto, sandbox, stack
from tests.integration.helpers import Stack

__all__ = ["moto", "sandbox", "stack"]


def stack_outputs(world: World, group: str, **extra: str) -> dict[str, str]:
    """The real stack's output keys (infra/stack.py) with this world's resources as values."""
    return {
        outputs.OUTPUT_QUEUE_URL: world.queue_url,
        outputs.OUTPUT_QUEUE_ARN: world.queue_arn,
        outputs.OUTPUT_DLQ_URL: world.dlq_url,
        outputs.OUTPUT_MESSAGES_TABLE: world.messages_table,
        "IdempotencyTableName": world.idempotency_table,
        "RateLimitTableName": world.rate_limit_table,
        outputs.OUTPUT_MEDIA_BUCKET: world.media_bucket,
        outputs.OUTPUT_SECRET_ARN: world.secret_arn,
        outputs.OUTPUT_SCHEDULE_GROUP: group,
        **extra,
    }


def create_cfn_stack(world: World, name: str, values: dict[str, str]) -> None:
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in values.items()},
    }
    world.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


@dataclass
class Operator:
    """Runs `telegent-sms --stack <name> ...` in-process against the test's world."""

    env: Stack
    stack_name: str
    group: str
    runner: CliRunner

    @property
    def world(self) -> World:
        return self.env.world

    def run(self, *args: str, obj: StackContext | None = None, input: str | None = None) -> Result:
        return self.runner.invoke(app, ["--stack", self.stack_name, *args], obj=obj, input=input)

    def json(self, *args: str, obj: StackContext | None = None, input: str | None = None) -> Any:
        result = self.run(*args, "--json", obj=obj, input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def with_outputs(self, name: str, **extra: str) -> Operator:
        """Another CloudFormation stack on the same world with extra outputs (e.g. ones the stack lacks yet)."""
        create_cfn_stack(self.world, name, stack_outputs(self.world, self.group, **extra))
        return Operator(self.env, name, self.group, self.runner)

    def with_sender_function(self, name: str, **extra: str) -> Operator:
        """Another stack whose SenderFunctionName output names a Lambda function with the sender's real
        environment (its TELEGENT_BASE_URL is the sandbox), as a deployed stack has."""
        function = sender_function(self.world, f"{name}-sender", self.world.lambda_env(self.env.sandbox.base_url))
        return self.with_outputs(name, SenderFunctionName=function, **extra)


def sender_function(world: World, name: str, env: dict[str, str]) -> str:
    """A Lambda function in moto with `env` (AWS_* names left out: Lambda reserves them)."""
    role = world.client("iam").create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("sender/handler.py", "def handler(event, context):\n    return None\n")
    world.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=names.SENDER_HANDLER,
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {key: value for key, value in env.items() if not key.startswith("AWS_")}},
    )
    return name


@pytest.fixture
def operator(stack: Stack) -> Operator:
    world = stack.world
    group = world.schedule_group  # where the sender creates its SendAt schedules
    name = f"TelegentSms-{world.prefix}"
    create_cfn_stack(world, name, stack_outputs(world, group))
    return Operator(stack, name, group, CliRunner())


def one_line_error(result: Result) -> str:
    """The error a command printed: exactly one `error:` line on stderr (beside any progress bar), no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


Writer = Callable[[Any], str]
