"""How clients reach a local AWS emulator (moto server, ministack): endpoint, region, fake credentials.

One set of fake credentials for every emulator and every client (boto3 in this process, the
sender's environment, the aws and cdk CLIs), and one list of the caller's AWS variables that must
never leak into a local run (a real profile, real keys, an endpoint elsewhere).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

REGION = "us-east-1"
FAKE_CREDENTIAL = "test"

# Variables of the caller that must not reach a local run (an emulator's Lambdas inherit the
# server's environment) nor override what aws_env() sets for clients.
AWS_VARS_TO_DROP = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CA_BUNDLE",
)


def aws_env(endpoint_url: str, region: str = REGION, *, account_id: str | None = None) -> dict[str, str]:
    """Variables that point boto3 (anything on botocore), the AWS CLI and the CDK CLI at `endpoint_url`.

    With `account_id`, also CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION, which `cdk synth` of an
    environment-agnostic app and `cdk deploy` read.
    """
    env = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIAL,
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIAL,
        # Never wait on the EC2 metadata service for credentials or region.
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if account_id is not None:
        env["CDK_DEFAULT_ACCOUNT"] = account_id
        env["CDK_DEFAULT_REGION"] = region
    return env


def without_aws(base: Mapping[str, str]) -> dict[str, str]:
    """`base` minus every variable in AWS_VARS_TO_DROP."""
    return {k: v for k, v in base.items() if k not in AWS_VARS_TO_DROP}


def client_env(
    endpoint_url: str, base: Mapping[str, str] | None = None, region: str = REGION, *, account_id: str | None = None
) -> dict[str, str]:
    """A complete environment for a subprocess (aws CLI, cdk CLI, a demo) talking to `endpoint_url`:
    `base` (default os.environ) without real AWS credentials/profile/endpoint, plus aws_env()."""
    env = without_aws(os.environ if base is None else base)
    env.update(aws_env(endpoint_url, region, account_id=account_id))
    return env


def fake_credentials(region: str = REGION) -> dict[str, Any]:
    """Keyword arguments for boto3.session.Session(): the fake keys and the region."""
    return {"aws_access_key_id": FAKE_CREDENTIAL, "aws_secret_access_key": FAKE_CREDENTIAL, "region_name": region}


def boto3_kwargs(endpoint_url: str, region: str = REGION) -> dict[str, Any]:
    """Keyword arguments for boto3.client()/resource() on a local endpoint."""
    return {"endpoint_url": endpoint_url, **fake_credentials(region)}
