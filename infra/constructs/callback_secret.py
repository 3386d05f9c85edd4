"""The webhook credential Telegent presents on its receipt calls: {"Username": ..., "Password": ...}."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, RemovalPolicy, Validations
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.checkov_skips import skip_checks
from infra.config import Settings

CALLBACK_USERNAME = "telegent"


class CallbackCredentials(Construct):
    """Imports the secret named by context `callback_secret_name`, or creates one with a generated password.

    The operator registers the same Username/Password (Basic) on the Telegent message route, next to the
    webhook URL; a secret holding {"Token": ...} instead selects Bearer (DESIGN.md section 8).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.secret: secretsmanager.ISecret
        # What the webhook passes to GetSecretValue (see VendorCredentials for why a name, when imported).
        self.secret_id: str
        if settings.callback_secret_name:
            self.secret = secretsmanager.Secret.from_secret_name_v2(self, "Imported", settings.callback_secret_name)
            self.secret_id = settings.callback_secret_name
            return

        created = secretsmanager.Secret(
            self,
            "Secret",
            description=f"Credential Telegent presents when it calls the {settings.service_name} receipts webhook",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"Username": CALLBACK_USERNAME}),
                generate_string_key="Password",
                exclude_punctuation=True,  # a Basic credential typed into a vendor portal
                password_length=40,
            ),
            removal_policy=RemovalPolicy.DESTROY if settings.ephemeral else RemovalPolicy.RETAIN,
        )
        Validations.of(created).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason="The same credential is configured on the Telegent message route, which Secrets Manager "
                "cannot update; a rotation would lock the vendor out until an operator re-registers the route. "
                "Rotate by writing a new value and updating the route together (operator CLI).",
            )
        )
        skip_checks(
            created,
            {
                "CKV_AWS_149": "Encrypted with the AWS managed key aws/secretsmanager, enough for a secret read only "
                "by this account's webhook function. A customer managed key is what cross-account access needs, "
                "which this stack does not use.",
            },
        )
        self.secret = created
        self.secret_id = created.secret_arn
