"""One-time SendAt schedules against moto server's EventBridge Scheduler."""

import uuid
from datetime import UTC, datetime, timedelta

import boto3

from aws_adapters.schedules import SchedulerSendSchedules
from infra.local.aws_env import fake_credentials
from infra.local.moto_server import MotoServer

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:requests"
ROLE_ARN = "arn:aws:iam::123456789012:role/scheduler"


def test_a_schedule_targets_the_queue_once_and_can_be_cancelled(moto: MotoServer) -> None:
    client = boto3.session.Session(**fake_credentials("us-east-1")).client("scheduler", endpoint_url=moto.endpoint_url)
    group = f"telegent-sms-{uuid.uuid4().hex[:8]}"
    client.create_schedule_group(Name=group)
    schedules = SchedulerSendSchedules(client, group, ROLE_ARN, QUEUE_ARN)
    at = datetime(2030, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)

    assert schedules.schedule("sms-key-1", at, '{"IdempotencyKey": "key-1"}')
    assert not schedules.schedule("sms-key-1", at + timedelta(days=1), "{}")  # a redelivery finds it there

    schedule = client.get_schedule(Name="sms-key-1", GroupName=group)
    assert schedule["ScheduleExpression"] == "at(2030-01-02T03:04:06)"  # never early
    assert schedule["Target"]["Arn"] == QUEUE_ARN
    assert schedule["Target"]["RoleArn"] == ROLE_ARN
    assert schedule["Target"]["Input"] == '{"IdempotencyKey": "key-1"}'
    assert schedule["ActionAfterCompletion"] == "DELETE"

    assert schedules.cancel("sms-key-1")
    assert not schedules.cancel("sms-key-1")
