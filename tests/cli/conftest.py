"""The CLI in-process (Typer's CliRunner) against moto server, with a real CloudFormation stack whose
outputs carry the real stack's keys and point at a provisioned world (infra/local/world.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from infra.cli import stack as outputs
from infra.cli.main import app
from infra.cli.stack import StackContext
from infra.local.world import World
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


@pytest.fixture
def operator(stack: Stack) -> Operator:
    world = stack.world
    group = f"{world.prefix}-schedules"
    world.client("scheduler").create_schedule_group(Name=group)
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
