"""DynamoDB tables: result rows, Powertools idempotency records, the shared rate limiter."""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings
from messaging import names as constants

IDEMPOTENCY_NO_PITR_REASON = (
    "Idempotency records are short-lived (TTL) guards against double sends; the durable "
    "record of every send is the messages table, which has point-in-time recovery."
)
RATE_LIMIT_NO_PITR_REASON = (
    "The rate limiter holds only its current GCRA state (the next free slot), which is rebuilt within a "
    "minute; restoring an old copy has no value."
)
# Why the AWS managed key (SSESpecification.SSEEnabled: KMS with aws/dynamodb) and not a customer
# managed one; the first sentence is per table.
_CMK_TRADE_OFF = (
    "Encrypted at rest with the AWS managed KMS key (aws/dynamodb). A customer managed key would add "
    "key-policy control at the cost of kms:Decrypt/GenerateDataKey grants for every reader and writer"
)
MESSAGES_NO_CMK_REASON = (
    f"{_CMK_TRADE_OFF} of the result rows: the sender, the status tracker that records final states, and "
    "operators who query them. The rows hold recipient numbers and vendor status, no message bodies or "
    "credentials; switch to TableEncryption.CUSTOMER_MANAGED if key-level control becomes a requirement."
)
IDEMPOTENCY_NO_CMK_REASON = (
    f"{_CMK_TRADE_OFF} (here the sender). The table holds only Powertools idempotency records (hashed key, "
    "status, stored send outcome) that expire by TTL."
)
RATE_LIMIT_NO_CMK_REASON = (
    f"{_CMK_TRADE_OFF} (here the sender). The table holds only the GCRA limiter state (next free slot, "
    "slowdown), nothing sensitive."
)


class SenderTables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self._ephemeral = settings.ephemeral

        # One row per request: the record operators and the status tracker read (DESIGN.md §3).
        self.messages = self._table(
            "MessagesTable",
            constants.MESSAGES_PARTITION_KEY,
            ttl_attribute=constants.MESSAGES_TTL_ATTRIBUTE,
            point_in_time_recovery=True,
            # Every change of a row, old and new image, for the status-events publisher (DESIGN 8).
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        )
        skip_checks(self.messages, {"CKV_AWS_119": MESSAGES_NO_CMK_REASON})
        self.messages.add_global_secondary_index(
            index_name=constants.MESSAGES_MESSAGE_ID_INDEX,
            partition_key=dynamodb.Attribute(
                name=constants.MESSAGES_MESSAGE_ID_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Sparse: only SENT rows still waiting for a final status carry PollShard and PollAt, so the
        # poller finds the rows due (PollAt <= now) per shard with a Query, never a Scan.
        self.messages.add_global_secondary_index(
            index_name=constants.MESSAGES_POLL_INDEX,
            partition_key=dynamodb.Attribute(
                name=constants.MESSAGES_POLL_SHARD_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=constants.MESSAGES_POLL_AT_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(constants.MESSAGES_POLL_INDEX_PROJECTION),
        )
        # Rows by the UTC day they were created, sorted by CreatedAt: `telegent-sms stats` counts a
        # window with one Query per day instead of a Scan. Only what stats reads is projected. One
        # partition per day takes every write of that day: far below a partition's 1,000 writes/s
        # at the vendor's request rates.
        self.messages.add_global_secondary_index(
            index_name=constants.MESSAGES_CREATED_DAY_INDEX,
            partition_key=dynamodb.Attribute(
                name=constants.MESSAGES_CREATED_DAY_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=constants.MESSAGES_CREATED_AT_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(constants.MESSAGES_CREATED_DAY_INDEX_PROJECTION),
        )

        # Layout expected by the defaults of Powertools' DynamoDBPersistenceLayer.
        self.idempotency = self._table(
            "IdempotencyTable",
            constants.IDEMPOTENCY_PARTITION_KEY,
            ttl_attribute=constants.IDEMPOTENCY_TTL_ATTRIBUTE,
        )
        Validations.of(self.idempotency).acknowledge(
            Acknowledgment(id="AwsSolutions-DDB3", reason=IDEMPOTENCY_NO_PITR_REASON)
        )
        skip_checks(
            self.idempotency,
            {"CKV_AWS_28": IDEMPOTENCY_NO_PITR_REASON, "CKV_AWS_119": IDEMPOTENCY_NO_CMK_REASON},
        )

        # Token-bucket state shared by all containers: a few items, rewritten constantly.
        self.rate_limit = self._table("RateLimitTable", constants.RATE_LIMIT_PARTITION_KEY)
        Validations.of(self.rate_limit).acknowledge(
            Acknowledgment(id="AwsSolutions-DDB3", reason=RATE_LIMIT_NO_PITR_REASON)
        )
        skip_checks(
            self.rate_limit,
            {"CKV_AWS_28": RATE_LIMIT_NO_PITR_REASON, "CKV_AWS_119": RATE_LIMIT_NO_CMK_REASON},
        )

    def _table(
        self,
        construct_id: str,
        partition_key: str,
        *,
        ttl_attribute: str | None = None,
        point_in_time_recovery: bool = False,
        stream: dynamodb.StreamViewType | None = None,
    ) -> dynamodb.Table:
        # dynamodb.Table (AWS::DynamoDB::Table) rather than TableV2 (AWS::DynamoDB::GlobalTable):
        # a single-region service needs no replicas, and the emulator knows the plain table type.
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=ttl_attribute,
            stream=stream,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=point_in_time_recovery
            ),
            removal_policy=RemovalPolicy.DESTROY if self._ephemeral else RemovalPolicy.RETAIN,
            deletion_protection=not self._ephemeral,
        )
