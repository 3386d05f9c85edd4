"""What the CDK tests share (fixtures live in conftest.py): synthesis of a stack variant, the
context it is synthesized with, and lookups into the synthesized template."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aws_cdk.assertions import Match, Template

from infra import REPO_ROOT
from infra.app import create_app
from messaging import names as constants

CDK_JSON_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
SKIP_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}

SAMPLE_REQUEST = {"To": [{"Number": "+18015737111"}], "From": "+18018018011", "Body": "Weekly reminder"}
CONFIGURED_CONTEXT: dict[str, Any] = {
    "ephemeral": True,
    "queue_sender_principals": ["111122223333", "arn:aws:iam::444455556666:role/order-service"],
    "alarm_email": "ops@example.com",
    "secret_name": "telegent/account",
    "callback_secret_name": "telegent/callback",
    "status_max_receive_count": "2",
    "webhook_reserved_concurrency": "3",
    "status_timeout_hours": "48",
    "status_poll_after_minutes": "30",
    "status_poll_max_share": "0.1",
    "delivery_rate_alarm_threshold": "0.8",
    "event_bus_name": "orders",
    "event_detail_type": "orders.sms.send",
    "max_receive_count": "3",  # strings, as `cdk synth -c key=value` passes them
    "timeout_seconds": "30",
    "max_batching_window_seconds": "10",
    "priority_reserve": "0.3",
    "priority_max_concurrency": "4",
    "priority_batch_size": "5",
    "schedules": [
        {
            "name": "weekly-reminder",
            "expression": "cron(0 9 ? * MON *)",
            "timezone": "America/Denver",
            "payload": SAMPLE_REQUEST,
        }
    ],
}


@dataclass(frozen=True)
class Synthesized:
    template: Template
    template_json: dict[str, Any]
    template_path: Path
    validation_report: dict[str, Any]
    outdir: Path  # the cloud assembly: template, asset manifest, staged asset.<hash> directories


def synthesize(outdir: Path, context: Mapping[str, Any]) -> Synthesized:
    # An environment-agnostic stack, whatever the shell running the tests has exported.
    with mock.patch.dict(os.environ):
        os.environ.pop("CDK_DEFAULT_ACCOUNT", None)
        os.environ.pop("CDK_DEFAULT_REGION", None)
        app = create_app({**CDK_JSON_CONTEXT, **SKIP_BUNDLING, **context}, outdir=str(outdir))
        try:
            assembly = app.synth()
        except RuntimeError as exc:  # cdk-nag findings (or another validation) stop synth
            report = outdir / "validation-report.json"
            details = report.read_text() if report.exists() else ""
            pytest.fail(f"synth failed: {exc}\n{details}")
    (stack,) = assembly.stacks
    template_path = Path(stack.template_full_path)
    return Synthesized(
        template=Template.from_json(stack.template),
        template_json=stack.template,
        template_path=template_path,
        validation_report=json.loads((outdir / "validation-report.json").read_text()),
        outdir=outdir,
    )


FOURTEEN_DAYS = 14 * 24 * 3600
DENY_INSECURE_TRANSPORT = Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})


def resources_of(stack: Synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in stack.template_json["Resources"].items()
        if resource["Type"] == resource_type
    }


def logical_id(stack: Synthesized, resource_type: str, fragment: str) -> str:
    (found,) = [name for name in resources_of(stack, resource_type) if fragment in name]
    return found


def function_properties(stack: Synthesized) -> dict[str, Any]:
    """The sender's properties (an ephemeral stack on AWS also has CDK's auto-delete handler)."""
    (function,) = [
        resource
        for resource in resources_of(stack, "AWS::Lambda::Function").values()
        if resource["Properties"].get("Handler") == constants.SENDER_HANDLER
    ]
    return function["Properties"]


def policy_statements(stack: Synthesized, role_fragment: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources_of(stack, "AWS::IAM::Policy").values():
        if any(role_fragment in role["Ref"] for role in policy["Properties"]["Roles"]):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements
