"""Wiring: the callback secret (cached by Powertools parameters) and the status queue, created on first use."""

from __future__ import annotations

import os
from collections.abc import Callable

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambda_runtime import PerContainer
from messaging import names
from messaging.callback_auth import CallbackCredential, CallbackSecretError
from messaging.rows import now_utc
from messaging.settings import ConfigurationError
from webhook.pipeline import Unavailable, WebhookDeps

SECRET_MAX_AGE_SECONDS = 300


def _credential_reader(
    secret_id: str, session: boto3.session.Session, config: Config
) -> Callable[[], CallbackCredential]:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

    provider = SecretsProvider(boto3_client=session.client("secretsmanager", config=config))

    def read() -> CallbackCredential:
        try:
            value = provider.get(secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
            return CallbackCredential.from_secret(value)
        except (GetParameterError, TransformParameterError, CallbackSecretError) as exc:
            raise Unavailable(f"callback secret {secret_id}: {type(exc).__name__}") from None

    return read


def build_dependencies(session: boto3.session.Session | None = None) -> WebhookDeps:
    secret_id = os.environ.get(names.ENV_CALLBACK_SECRET_ID)
    queue_url = os.environ.get(names.ENV_STATUS_QUEUE_URL)
    if not secret_id or not queue_url:
        raise ConfigurationError(f"{names.ENV_CALLBACK_SECRET_ID} and {names.ENV_STATUS_QUEUE_URL} are required")
    session = session or boto3.session.Session()
    # A short budget: Telegent waits for the answer, and retries on 503.
    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=3)
    sqs = session.client("sqs", config=config)

    def enqueue(body: str) -> None:
        try:
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable(f"status queue: {type(exc).__name__}") from None

    return WebhookDeps(credential=_credential_reader(secret_id, session, config), enqueue=enqueue, clock=now_utc)


_container: PerContainer[WebhookDeps] = PerContainer(build_dependencies)
# The container's dependencies, built on the first invocation (so cold imports stay cheap).
get_dependencies = _container.get
# Forget them (tests that change the environment between invocations: a new container).
reset_dependencies = _container.reset
