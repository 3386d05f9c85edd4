"""The sender Lambda: its role, log group, Powertools layer and the SQS event source mapping."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, ArnFormat, Aws, CfnElement, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import FUNCTIONS_DIR
from infra.checkov_skips import skip_checks
from infra.config import CpuArchitecture, Settings
from infra.constructs.media_bucket import MediaStorage
from infra.constructs.powertools_layer import PowertoolsLayer
from infra.constructs.tables import SenderTables
from infra.constructs.vendor_secret import VendorCredentials
from messaging import names as constants

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
# What CloudWatch Logs needs on a customer managed key, as the CloudWatch Logs guide writes it.
LOGS_KEY_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]

# Why checkov findings on the function do not apply (see infra/checkov_skips.py).
FUNCTION_CHECKOV_SKIPS = {
    "CKV_AWS_115": "Concurrency is capped where the work comes from: SQS is the function's only trigger and "
    "the event source mapping's ScalingConfig.MaximumConcurrency (context max_concurrency, default 2) "
    "limits how many copies run. Reserved concurrency would also carve that capacity out of the "
    "account's unreserved pool (which accounts still on a low concurrency quota refuse), and a value "
    "below MaximumConcurrency would only throttle SQS batches back into the queue.",
    "CKV_AWS_116": "Invoked only by the SQS event source mapping (synchronous invokes); a function DLQ applies "
    "to asynchronous invokes only. Records that keep failing go to the request queue's dead-letter "
    "queue through its redrive policy (maxReceiveCount), and rejected requests are copied there by "
    "the handler with their reason.",
    "CKV_AWS_117": "The function calls the Telegent mPaaS API on the internet and AWS APIs (SQS, DynamoDB, S3, "
    "Secrets Manager, X-Ray); it reaches no resource inside a VPC. Attaching it to one would need "
    "a NAT gateway plus interface endpoints, with nothing private to protect.",
    "CKV_AWS_173": "The environment holds no secrets: resource names and URLs, the secret's ARN or name (not its "
    "value), the vendor base URL, rate limits and Powertools settings. Lambda encrypts it at rest with the AWS "
    "managed key; the vendor credentials are read from Secrets Manager at run time.",
}


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
        self.runtime = runtime
        self.architecture = architecture

        removal_policy = RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN
        self.log_key = self._log_key(settings, removal_policy)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=self.log_key,
            removal_policy=removal_policy,
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
        self.layer = powertools.layer  # shared with the status-tracking functions

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
                # The sender sets the row's first PollAt (DESIGN 8: first poll without a receipt).
                constants.ENV_STATUS_POLL_AFTER_MINUTES: str(settings.status_poll_after_minutes),
                # Reconciling ambiguous sends through the vendor's message search (DESIGN 4b).
                constants.ENV_AMBIGUOUS_SEARCH_DELAY_SECONDS: str(settings.ambiguous_search_delay_seconds),
                constants.ENV_AMBIGUOUS_RECONCILE_MAX_MINUTES: str(settings.ambiguous_reconcile_max_minutes),
                constants.ENV_AMBIGUOUS_POLICY: settings.ambiguous_policy,
                # Send-time options (DESIGN 9); the Scheduler names come from ScheduledSends.allow_sender.
                constants.ENV_MAX_SEGMENTS: str(settings.max_segments),
                constants.ENV_SMART_ENCODING: "true" if settings.smart_encoding else "false",
                constants.ENV_SENDAT_DELAY_MAX_SECONDS: str(settings.sendat_delay_max_seconds),
                **(
                    {constants.ENV_DEFAULT_VALIDITY_SECONDS: str(settings.default_validity_seconds)}
                    if settings.default_validity_seconds
                    else {}
                ),
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
        skip_checks(self.function, FUNCTION_CHECKOV_SKIPS)

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

    def _log_key(self, settings: Settings, removal_policy: RemovalPolicy) -> kms.Key:
        """A customer managed key for the function's log group, usable only by CloudWatch Logs.

        CloudWatch Logs encrypts on ingestion and decrypts on read with its own service principal (the
        statement below), so the function's role gets no kms: permissions. The condition cannot name this
        log group: its generated name is only known once it exists, and the group refers to the key.
        The emulator stores the key id on the group but does not encrypt.
        """
        key = kms.Key(
            self,
            "LogKey",
            description=f"Encrypts the {settings.service_name} sender's CloudWatch log group",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7) if settings.ephemeral else None,
        )
        log_groups_here = Stack.of(self).format_arn(
            service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.{Aws.URL_SUFFIX}")],
                actions=LOGS_KEY_ACTIONS,
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups_here}},
            )
        )
        return key

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
        # Reconciling an ambiguous send (DESIGN 4b): a search match whose MessageId another request's row
        # already holds is that request's message, found through the MessageId index.
        message_ids = f"{tables.messages.table_arn}/index/{constants.MESSAGES_MESSAGE_ID_INDEX}"
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[message_ids]))

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
        # DLQ copies too large for SQS: the body is written under dlq-payloads/ and read back when the
        # copy is redriven (DESIGN.md section 4). Nothing else in the bucket may be written.
        dlq_payloads = resources.media.bucket.arn_for_objects(f"{constants.DLQ_PAYLOAD_PREFIX}*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject"], resources=[dlq_payloads])
        )
        dlq_finding = _nag_finding_resource(resources.media, constants.DLQ_PAYLOAD_PREFIX)
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{dlq_finding}]",
                reason="s3:PutObject/GetObject are limited to the dlq-payloads/ prefix of the stack's own media "
                "bucket, where DLQ copies too large for SQS keep their body; each key is a hash of that body.",
            )
        )

    def _allow_table(self, table: dynamodb.ITable, actions: list[str]) -> None:
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[table.table_arn]))


def _nag_finding_resource(media: MediaStorage, prefix: str | None = None) -> str:
    """A prefix ARN of the media bucket as cdk-nag names it in a finding: `<BucketLogicalId.Arn>/mms/*`."""
    stack = Stack.of(media)
    cfn_bucket = media.bucket.node.default_child
    assert isinstance(cfn_bucket, CfnElement)
    return (
        f"<{stack.resolve(stack.get_logical_id(cfn_bucket))}.Arn>/{media.media_prefix if prefix is None else prefix}*"
    )
