"""The Telegent account credentials: {"AccountKey": ..., "AccountSecret": ...} in Secrets Manager."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings

PLACEHOLDER_ACCOUNT_KEY = "REPLACE_WITH_TELEGENT_ACCOUNT_KEY"


class VendorCredentials(Construct):
    """Imports the secret named by context `secret_name`, or creates one holding a placeholder.

    A created secret gets a random AccountSecret and a placeholder AccountKey, so the real values
    never pass through CloudFormation; an operator writes them with `put-secret-value`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.secret: secretsmanager.ISecret
        # What the function passes to GetSecretValue: a created secret's full ARN, or the name of
        # an imported one (an ARN built from a name lacks the random suffix and would not match).
        self.secret_id: str
        if settings.secret_name:
            self.secret = secretsmanager.Secret.from_secret_name_v2(self, "Imported", settings.secret_name)
            self.secret_id = settings.secret_name
            return

        created = secretsmanager.Secret(
            self,
            "Secret",
            description=f"Telegent mPaaS account credentials used by {settings.service_name}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"AccountKey": PLACEHOLDER_ACCOUNT_KEY}),
                generate_string_key="AccountSecret",
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN,
        )
        Validations.of(created).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="The credentials are issued by Telegent and changed in the vendor's portal; Secrets "
                "Manager cannot rotate them, so a rotation Lambda has nothing to call.",
            )
        )
        skip_checks(
            created,
            {
                "CKV_AWS_149": "Encrypted with the AWS managed key aws/secretsmanager, which is enough for a secret "
                "read only by this account's sender function. A customer managed key is what cross-account "
                "access needs, which this stack does not use; it would also make every operator who writes "
                "the real credentials (put-secret-value) need kms:GenerateDataKey on that key.",
            },
        )
        self.secret = created
        self.secret_id = created.secret_arn
