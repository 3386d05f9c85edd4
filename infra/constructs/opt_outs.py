"""The opt-out table (DESIGN.md section 10): one item per opted-out number, read by the sender, written
by the tracker (inbound STOP/START keywords) and by operators through the CLI."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings
from messaging import names as constants

# The sender reads a whole batch's recipients at once; it never writes (DESIGN 10).
SENDER_ACTIONS = ["dynamodb:BatchGetItem"]
# The tracker records STOP (put, conditional on OptedOutAt) and START (conditional delete); nothing else.
TRACKER_ACTIONS = ["dynamodb:PutItem", "dynamodb:DeleteItem"]
OPT_OUTS_NO_CMK_REASON = (
    "Encrypted at rest with the AWS managed KMS key (aws/dynamodb), like the messages table, which holds the same "
    "kind of data (recipient numbers). A customer managed key would add key-policy control at the cost of "
    "kms:Decrypt/GenerateDataKey grants for the sender, the tracker and every operator running the CLI's "
    "optout commands; switch to TableEncryption.CUSTOMER_MANAGED if key-level control becomes a requirement."
)


class OptOutTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        # A compliance record (who said STOP, when): point-in-time recovery, kept when the stack goes.
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=constants.OPTOUT_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN,
            deletion_protection=not settings.ephemeral,
        )
        skip_checks(self.table, {"CKV_AWS_119": OPT_OUTS_NO_CMK_REASON})

    def allow_sender(self, function: lambda_.Function) -> None:
        """The sender skips opted-out recipients: OPTOUT_TABLE and BatchGetItem on this table only."""
        function.add_environment(constants.ENV_OPTOUT_TABLE, self.table.table_name)
        self._allow(function, SENDER_ACTIONS)

    def allow_tracker(self, function: lambda_.Function) -> None:
        """The tracker applies inbound keywords: OPTOUT_TABLE and Put/DeleteItem on this table only."""
        function.add_environment(constants.ENV_OPTOUT_TABLE, self.table.table_name)
        self._allow(function, TRACKER_ACTIONS)

    def _allow(self, function: lambda_.Function, actions: list[str]) -> None:
        assert function.role is not None
        function.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=[self.table.table_arn]))
