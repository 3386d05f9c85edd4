"""The AWS resources the sender needs, provisioned on a local endpoint (moto server).

    world = provision_world(moto.endpoint_url, suffix="t1")
    os.environ.update(world.lambda_env(sandbox_url))
    world.send_bodies([{"To": [...], "From": "...", "Body": "hi"}])

Resource names are `<prefix>[-<suffix>]-<role>`; attribute and variable names come from
`sender.constants` (the single place they are shared with the function and the stack).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from infra.local.aws_env import REGION, aws_env, fake_credentials
from infra.local.sandbox import DEFAULT_ACCOUNT_KEY, DEFAULT_ACCOUNT_SECRET
from messaging import names as constants

# What the Telegent sandbox accepts unless configured otherwise.
DEFAULT_SECRET_VALUE = {"AccountKey": DEFAULT_ACCOUNT_KEY, "AccountSecret": DEFAULT_ACCOUNT_SECRET}
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, the SQS maximum


def plain(value: Any) -> Any:
    """DynamoDB resource values -> JSON-ish Python (Decimal -> int/float, sets -> sorted lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, Binary):
        return bytes(value.value)  # type: ignore[attr-defined]
    return value


def _plain_message_attributes(attributes: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in attributes.items():
        if "StringValue" in value:
            out[name] = value["StringValue"]
        elif "BinaryValue" in value:
            out[name] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return out


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """{"k": "v"} -> SQS MessageAttributes; values already in SQS shape are passed through."""
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, dict):
            out[name] = value
        elif isinstance(value, bytes):
            out[name] = {"DataType": "Binary", "BinaryValue": value}
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = {"DataType": "Number", "StringValue": str(value)}
        else:
            out[name] = {"DataType": "String", "StringValue": str(value)}
    return out


@dataclass
class World:
    endpoint_url: str
    region: str
    prefix: str
    queue_name: str
    queue_url: str
    queue_arn: str
    dlq_name: str
    dlq_url: str
    dlq_arn: str
    messages_table: str
    idempotency_table: str
    rate_limit_table: str
    media_bucket: str
    secret_name: str
    secret_arn: str
    max_receive_count: int
    visibility_timeout: int
    # One-time SendAt schedules (DESIGN.md 9): the group the sender creates them in, and the role they run as.
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- clients -------------------------------------------------------------------------------

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(**fake_credentials(self.region))

    def client(self, service: str) -> Any:
        """A boto3 client on this world's endpoint (cached: creating clients is slow)."""
        return self._cached("client", service)

    def resource(self, service: str) -> Any:
        """A boto3 resource on this world's endpoint (cached; use from one thread at a time)."""
        return self._cached("resource", service)

    def _cached(self, kind: str, service: str) -> Any:
        with self._lock:
            if (kind, service) not in self._clients:
                factory = getattr(self.session(), kind)
                self._clients[kind, service] = factory(service, endpoint_url=self.endpoint_url)
            return self._clients[kind, service]

    # -- the sender's configuration ------------------------------------------------------------

    def lambda_env(
        self,
        base_url: str,
        *,
        rate_limit_per_minute: int = constants.DEFAULT_RATE_LIMIT_PER_MINUTE,
        rate_limit_burst: int | None = None,
        **extra: str,
    ) -> dict[str, str]:
        """The sender's environment (DESIGN.md section 5) for this world; `extra` adds/overrides."""
        env = {
            constants.ENV_TELEGENT_BASE_URL: base_url,
            constants.ENV_TELEGENT_SECRET_ID: self.secret_name,
            constants.ENV_MESSAGES_TABLE: self.messages_table,
            constants.ENV_IDEMPOTENCY_TABLE: self.idempotency_table,
            constants.ENV_MEDIA_BUCKET: self.media_bucket,
            constants.ENV_DLQ_URL: self.dlq_url,
            constants.ENV_RATE_LIMIT_TABLE: self.rate_limit_table,
            constants.ENV_RATE_LIMIT_PER_MINUTE: str(rate_limit_per_minute),
            constants.ENV_RATE_LIMIT_BURST: str(rate_limit_burst or rate_limit_per_minute),
            constants.ENV_SCHEDULE_GROUP_NAME: self.schedule_group,
            constants.ENV_SCHEDULER_ROLE_ARN: self.scheduler_role_arn,
            constants.ENV_QUEUE_ARN: self.queue_arn,
            "POWERTOOLS_SERVICE_NAME": "telegent-sms",
            "POWERTOOLS_METRICS_NAMESPACE": "TelegentSms",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_TRACE_DISABLED": "true",
            **aws_env(self.endpoint_url, self.region),
        }
        env.update(extra)
        return env

    # -- helpers for tests ---------------------------------------------------------------------

    def send_bodies(
        self,
        bodies: Sequence[str | dict[str, Any]],
        message_attributes: dict[str, Any] | None = None,
        queue_url: str | None = None,
    ) -> list[str]:
        """Send each body (dicts as JSON) with the same message attributes; returns message ids."""
        sqs = self.client("sqs")
        attributes = _message_attributes(message_attributes or {})
        ids: list[str] = []
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = []
            for i, body in enumerate(chunk):
                entry: dict[str, Any] = {
                    "Id": f"b{i}",
                    "MessageBody": body if isinstance(body, str) else json.dumps(body),
                }
                if attributes:
                    entry["MessageAttributes"] = attributes
                entries.append(entry)
            response = sqs.send_message_batch(QueueUrl=queue_url or self.queue_url, Entries=entries)
            if response.get("Failed"):
                raise RuntimeError(f"send_message_batch failed: {response['Failed']}")
            by_entry = {entry["Id"]: entry["MessageId"] for entry in response["Successful"]}
            ids += [by_entry[f"b{i}"] for i in range(len(chunk))]
        return ids

    def dlq_messages(self) -> list[dict[str, Any]]:
        """Everything in the DLQ, left there.

        Each item: {"message_id", "body", "message_attributes" (name -> str; Binary ones as
        base64), "attributes"
        (system attributes, e.g. ApproximateReceiveCount, SentTimestamp)}. Messages are received
        with a visibility timeout (a 0 timeout would return the same first ten every time) and
        then made visible again; reading bumps their ApproximateReceiveCount.
        """
        sqs = self.client("sqs")
        seen: dict[str, dict[str, Any]] = {}
        handles: list[str] = []
        try:
            while True:
                response = sqs.receive_message(
                    QueueUrl=self.dlq_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    VisibilityTimeout=30,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                messages = response.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    handles.append(message["ReceiptHandle"])
                    seen[message["MessageId"]] = {
                        "message_id": message["MessageId"],
                        "body": message["Body"],
                        "message_attributes": _plain_message_attributes(message.get("MessageAttributes", {})),
                        "attributes": dict(message.get("Attributes", {})),
                    }
        finally:
            for start in range(0, len(handles), 10):
                sqs.change_message_visibility_batch(
                    QueueUrl=self.dlq_url,
                    Entries=[
                        {"Id": f"h{i}", "ReceiptHandle": handle, "VisibilityTimeout": 0}
                        for i, handle in enumerate(handles[start : start + 10])
                    ],
                )
        return list(seen.values())

    def result_rows(self) -> list[dict[str, Any]]:
        """Every item of the messages table as plain Python values."""
        table = self.resource("dynamodb").Table(self.messages_table)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(**kwargs)
            items += [plain(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def queue_depth(self, queue_url: str | None = None) -> dict[str, int]:
        """{"visible", "in_flight", "delayed"} for the queue (or `queue_url`, e.g. the DLQ)."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"]),
        }

    def dlq_depth(self) -> dict[str, int]:
        return self.queue_depth(self.dlq_url)

    def runner(self, handler: Any, **kwargs: Any) -> Any:
        """An EventSourceRunner on this world's queue (kwargs as for EventSourceRunner)."""
        from infra.local.esm_runner import EventSourceRunner

        return EventSourceRunner(self.client("sqs"), self.queue_url, handler, **kwargs)


def provision_world(
    endpoint_url: str,
    *,
    prefix: str = "telegent-sms",
    max_receive_count: int = 3,
    visibility_timeout: int = 30,
    secret_value: dict[str, str] | None = None,
    suffix: str | None = None,
    region: str = REGION,
) -> World:
    """Create the queue + DLQ, the three tables, the media bucket and the vendor secret.

    `suffix` (e.g. "auto" for a random one) gives every resource a distinct name so tests can
    share one server. Creating a world whose resources already exist reuses them.
    """
    if suffix == "auto":
        suffix = uuid.uuid4().hex[:8]
    base = f"{prefix}-{suffix}" if suffix else prefix
    session = boto3.session.Session(**fake_credentials(region))
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    secrets = session.client("secretsmanager", endpoint_url=endpoint_url)

    # Queues.
    dlq_name, queue_name = f"{base}-dlq", f"{base}-requests"
    dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})[
        "QueueUrl"
    ]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)

    # Tables.
    messages_table = f"{base}-messages"
    _create_table(
        dynamodb,
        TableName=messages_table,
        AttributeDefinitions=[
            {"AttributeName": constants.MESSAGES_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": constants.MESSAGES_MESSAGE_ID_ATTRIBUTE, "AttributeType": "S"},
            {"AttributeName": constants.MESSAGES_CREATED_DAY_ATTRIBUTE, "AttributeType": "S"},
            {"AttributeName": constants.MESSAGES_CREATED_AT_ATTRIBUTE, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": constants.MESSAGES_PARTITION_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": constants.MESSAGES_MESSAGE_ID_INDEX,
                "KeySchema": [{"AttributeName": constants.MESSAGES_MESSAGE_ID_ATTRIBUTE, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {  # as infra/constructs/tables.py: what `telegent-sms stats` queries
                "IndexName": constants.MESSAGES_CREATED_DAY_INDEX,
                "KeySchema": [
                    {"AttributeName": constants.MESSAGES_CREATED_DAY_ATTRIBUTE, "KeyType": "HASH"},
                    {"AttributeName": constants.MESSAGES_CREATED_AT_ATTRIBUTE, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": list(constants.MESSAGES_CREATED_DAY_INDEX_PROJECTION),
                },
            },
        ],
        ttl_attribute=constants.MESSAGES_TTL_ATTRIBUTE,
    )
    idempotency_table = f"{base}-idempotency"
    _create_table(
        dynamodb,
        TableName=idempotency_table,
        AttributeDefinitions=[{"AttributeName": constants.IDEMPOTENCY_PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": constants.IDEMPOTENCY_PARTITION_KEY, "KeyType": "HASH"}],
        ttl_attribute=constants.IDEMPOTENCY_TTL_ATTRIBUTE,
    )
    rate_limit_table = f"{base}-rate-limit"
    _create_table(
        dynamodb,
        TableName=rate_limit_table,
        AttributeDefinitions=[{"AttributeName": constants.RATE_LIMIT_PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": constants.RATE_LIMIT_PARTITION_KEY, "KeyType": "HASH"}],
    )

    # Media bucket (us-east-1 takes no LocationConstraint).
    media_bucket = f"{base}-media".lower()
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=media_bucket)
        else:
            location: Any = {"LocationConstraint": region}
            s3.create_bucket(Bucket=media_bucket, CreateBucketConfiguration=location)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise

    # SendAt schedules: a group and a role Scheduler assumes to put the request back on the queue.
    schedule_group = f"{base}-sendat"
    scheduler_role_arn = _scheduler_role(session.client("iam", endpoint_url=endpoint_url), f"{base}-scheduler")
    try:
        session.client("scheduler", endpoint_url=endpoint_url).create_schedule_group(Name=schedule_group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConflictException":
            raise

    # Vendor credentials.
    secret_name = f"{base}/telegent"
    secret_string = json.dumps(secret_value if secret_value is not None else DEFAULT_SECRET_VALUE)
    try:
        secret_arn = secrets.create_secret(Name=secret_name, SecretString=secret_string)["ARN"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
        secret_arn = secrets.put_secret_value(SecretId=secret_name, SecretString=secret_string)["ARN"]

    return World(
        endpoint_url=endpoint_url,
        region=region,
        prefix=base,
        queue_name=queue_name,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_name=dlq_name,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        messages_table=messages_table,
        idempotency_table=idempotency_table,
        rate_limit_table=rate_limit_table,
        media_bucket=media_bucket,
        secret_name=secret_name,
        secret_arn=secret_arn,
        max_receive_count=max_receive_count,
        schedule_group=schedule_group,
        scheduler_role_arn=scheduler_role_arn,
        visibility_timeout=visibility_timeout,
    )


def _scheduler_role(iam: Any, name: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    return str(iam.get_role(RoleName=name)["Role"]["Arn"])


def _queue_arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def _create_table(dynamodb: Any, *, ttl_attribute: str | None = None, **kwargs: Any) -> None:
    try:
        dynamodb.create_table(BillingMode="PAY_PER_REQUEST", **kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    dynamodb.get_waiter("table_exists").wait(
        TableName=kwargs["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=kwargs["TableName"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
        )
