"""The sender Lambda: its role, log group, Powertools layer and the SQS event source mapping."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, CfnElement, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import FUNCTIONS_DIR
from infra.config import CpuArchitecture, Settings
from infra.constructs.media_bucket import MediaStorage
from infra.constructs.powertools_layer import PowertoolsLayer
from infra.constructs.tables import SenderTables
from infra.constructs.vendor_secret import VendorCredentials
from sender import constants

# Build and editor leftovers that must not end up in the deployment package.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.mypy_cache", "**/.pytest_cache", "**/.ruff_cache"]

_ARCHITECTURES = {
    CpuArchitecture.ARM_64: lambda_.Architecture.ARM_64,
    CpuArchitecture.X86_64: lambda_.Architecture.X86_64,
}

# DynamoDB actions, per table, that the send path performs (no Scan, no batch, no table admin).
MESSAGES_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
IDEMPOTENCY_TABLE_ACTIONS = [  # what Powertools' DynamoDBPersistenceLayer calls
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
]
RATE_LIMIT_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]


@dataclass(frozen=True)
class SenderResources:
    """What the function works with, built by the other constructs."""

    queue: sqs.IQueue
    dead_letter_queue: sqs.IQueue
    tables: SenderTables
    media: MediaStorage
    credentials: VendorCredentials


def python_runtime(version: str) -> lambda_.Runtime:
    return lambda_.Runtime(f"python{version}", lambda_.RuntimeFamily.PYTHON)


class SenderFunction(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, resources: SenderResources) -> None:
        super().__init__(scope, construct_id)
        runtime = python_runtime(settings.python_version)
        architecture = _ARCHITECTURES[settings.architecture]

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            removal_policy=RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN,
        )
        # Set on the L1 resource: RetentionDays has no lookup by number (config validates the value).
        cfn_log_group = self.log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = settings.log_retention_days

        # An own role instead of the default one with the AWSLambdaBasicExecutionRole managed
        # policy: that policy may write to every log group in the account.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sender Lambda: reads requests from SQS and records results in DynamoDB",
        )
        self.log_group.grant_write(self.role)

        powertools = PowertoolsLayer(
            self,
            "Powertools",
            runtime=runtime,
            architecture=architecture,
            build_locally=settings.is_emulator,
            layer_arn=settings.powertools_layer_arn,
        )

        tables = resources.tables
        self.function = lambda_.Function(
            self,
            "Function",
            description="Sends SQS requests as SMS/MMS through the Telegent mPaaS API",
            runtime=runtime,
            architecture=architecture,
            handler=constants.SENDER_HANDLER,
            # The asset is the functions/ folder as is: the function's only third-party
            # dependency, Powertools, comes from the layer; boto3 from the runtime.
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=ASSET_EXCLUDES),
            layers=[powertools.layer],
            memory_size=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment={
                constants.ENV_TELEGENT_BASE_URL: settings.telegent_base_url,
                constants.ENV_TELEGENT_SECRET_ID: resources.credentials.secret_id,
                constants.ENV_MESSAGES_TABLE: tables.messages.table_name,
                constants.ENV_IDEMPOTENCY_TABLE: tables.idempotency.table_name,
                constants.ENV_RATE_LIMIT_TABLE: tables.rate_limit.table_name,
                constants.ENV_MEDIA_BUCKET: resources.media.bucket.bucket_name,
                constants.ENV_MEDIA_PREFIX: settings.media_prefix,
                constants.ENV_DLQ_URL: resources.dead_letter_queue.queue_url,
                constants.ENV_RATE_LIMIT_PER_MINUTE: str(settings.rate_limit_per_minute),
                constants.ENV_RATE_LIMIT_BURST: str(settings.rate_limit_burst),
                "POWERTOOLS_SERVICE_NAME": settings.service_name,
                "POWERTOOLS_LOG_LEVEL": settings.log_level,
                "POWERTOOLS_METRICS_NAMESPACE": settings.metrics_namespace,
            },
        )

        self.function.add_event_source(
            event_sources.SqsEventSource(
                resources.queue,
                batch_size=settings.batch_size,
                max_batching_window=(
                    Duration.seconds(settings.max_batching_window_seconds)
                    if settings.max_batching_window_seconds
                    else None
                ),
                report_batch_item_failures=True,  # only the failed records of a batch are retried
                max_concurrency=settings.max_concurrency,
            )
        )
        self._grant(resources)

        # Lambda's active tracing adds xray:PutTraceSegments/PutTelemetryRecords on "*".
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; "
                "the statement has only those two actions.",
            )
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "Emulator target: the emulator runs the function as a local process with this "
                    "machine's Python, so the runtime names that version."
                    if settings.is_emulator
                    else "The runtime is pinned on purpose (context python_version, default 3.13, the "
                    "version the code is tested on and a supported Lambda runtime); moving to a newer "
                    "runtime is a deliberate change made together with the tests."
                ),
            )
        )

    def _grant(self, resources: SenderResources) -> None:
        # The event source mapping already grants consume (Receive/Delete/ChangeMessageVisibility/
        # GetQueueAttributes/GetQueueUrl) on the request queue; the handler itself also delays
        # records (ChangeMessageVisibility), reads the redrive policy, and may re-queue records.
        resources.queue.grant_send_messages(self.function)
        # Rejected requests are copied to the DLQ with their reason.
        resources.dead_letter_queue.grant_send_messages(self.function)
        resources.credentials.secret.grant_read(self.function)

        tables = resources.tables
        self._allow_table(tables.messages, MESSAGES_TABLE_ACTIONS)
        self._allow_table(tables.idempotency, IDEMPOTENCY_TABLE_ACTIONS)
        self._allow_table(tables.rate_limit, RATE_LIMIT_TABLE_ACTIONS)

        # MmsS3 may only name objects under the configured prefix of the media bucket.
        media_objects = resources.media.media_objects_arn()
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[media_objects]))
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_nag_finding_resource(resources.media)}]",
                reason="s3:GetObject is limited to the media prefix of the stack's own media bucket; the "
                "objects are named by producers at run time, so the keys cannot be listed in advance.",
            )
        )

    def _allow_table(self, table: dynamodb.ITable, actions: list[str]) -> None:
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[table.table_arn]))


def _nag_finding_resource(media: MediaStorage) -> str:
    """The media-prefix ARN as cdk-nag names it in a finding: `<BucketLogicalId.Arn>/mms/*`."""
    stack = Stack.of(media)
    cfn_bucket = media.bucket.node.default_child
    assert isinstance(cfn_bucket, CfnElement)
    return f"<{stack.resolve(stack.get_logical_id(cfn_bucket))}.Arn>/{media.media_prefix}*"
