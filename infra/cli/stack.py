"""Finding the stack's resources from its CloudFormation outputs, and the AWS clients to reach them.

boto3's default session honours AWS_PROFILE, AWS_REGION/AWS_DEFAULT_REGION and AWS_ENDPOINT_URL,
so the same commands work against a real account and against a local emulator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from infra.cli.errors import CliError, NotAvailable, NotFound
from messaging import names
from messaging.settings import Limits

T = TypeVar("T")

DEFAULT_STACK = "TelegentSms"
ENV_STACK = "TELEGENT_SMS_STACK"

# CloudFormation output keys of infra/stack.py that the CLI reads.
OUTPUT_QUEUE_URL = "QueueUrl"
OUTPUT_QUEUE_ARN = "QueueArn"
OUTPUT_DLQ_URL = "DeadLetterQueueUrl"
OUTPUT_MESSAGES_TABLE = "MessagesTableName"
OUTPUT_IDEMPOTENCY_TABLE = "IdempotencyTableName"
OUTPUT_MEDIA_BUCKET = "MediaBucketName"
OUTPUT_SECRET_ARN = "SecretArn"
OUTPUT_SCHEDULE_GROUP = "ScheduleGroupName"
OUTPUT_SENDER_FUNCTION = "SenderFunctionName"
# Priority lane (DESIGN 11) and opt-outs (DESIGN 10): a stack deployed before them lacks these
# outputs, and the commands that need them say so and exit 1.
OUTPUT_PRIORITY_QUEUE_URL = "PriorityQueueUrl"
OUTPUT_OPTOUT_TABLE = "OptOutTableName"
# Delivery status (DESIGN 8) and the vendor: where Telegent calls us, and where the stack calls Telegent.
OUTPUT_WEBHOOK_URL = "WebhookUrl"
OUTPUT_CALLBACK_SECRET_ARN = "CallbackSecretArn"
OUTPUT_TELEGENT_BASE_URL = "TelegentBaseUrl"


def default_stack_name() -> str:
    return os.environ.get(ENV_STACK) or DEFAULT_STACK


def aws_call(what: str, call: Callable[[], T]) -> T:
    """Run one AWS call; credential, region and service errors become one clear line."""
    try:
        return call()
    except (BotoCoreError, ClientError) as exc:
        raise translate(exc, what) from exc


def translate(exc: BotoCoreError | ClientError, what: str) -> CliError:
    if isinstance(exc, NoCredentialsError):
        return CliError(f"no AWS credentials found ({what}): set AWS_PROFILE or AWS_ACCESS_KEY_ID")
    if isinstance(exc, NoRegionError):
        return CliError(f"no AWS region configured ({what}): set AWS_REGION")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", str(exc))
        if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"):
            return CliError(f"AWS credentials rejected ({what}): {code}: {message}")
        if code in ("AccessDenied", "AccessDeniedException"):
            return CliError(f"access denied ({what}): {message}")
        return CliError(f"{what} failed: {code}: {message}")
    return CliError(f"{what} failed: {exc}")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class StackContext:
    """The stack an operator works on: its outputs (read once) and boto3 clients (created once)."""

    def __init__(self, stack_name: str | None = None, session: Any = None) -> None:
        self.stack_name = stack_name or default_stack_name()
        self._session = session
        self._clients: dict[str, Any] = {}

    @property
    def session(self) -> Any:
        if self._session is None:
            # botocore reads AWS_DEFAULT_REGION; AWS_REGION (the SDKs' other name) is honoured here.
            region = os.environ.get("AWS_REGION") or None
            self._session = aws_call("reading the AWS configuration", lambda: boto3.session.Session(region_name=region))
        return self._session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws_call(f"creating the {service} client", lambda: self.session.client(service))
        return self._clients[service]

    def table(self, name: str) -> Any:
        return aws_call("opening the table", lambda: self.session.resource("dynamodb").Table(name))

    @cached_property
    def outputs(self) -> Mapping[str, str]:
        cloudformation = self.client("cloudformation")
        try:
            stacks = cloudformation.describe_stacks(StackName=self.stack_name)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
                raise NotFound(
                    f"stack {self.stack_name!r} not found: pass --stack or set {ENV_STACK} "
                    "(and AWS_REGION/AWS_PROFILE for its account)"
                ) from exc
            raise translate(exc, "reading the stack outputs") from exc
        except BotoCoreError as exc:
            raise translate(exc, "reading the stack outputs") from exc
        outputs = stacks[0].get("Outputs", []) if stacks else []
        return {item["OutputKey"]: item["OutputValue"] for item in outputs}

    def output(self, key: str, *, needed_for: str | None = None) -> str:
        value = self.outputs.get(key)
        if not value:
            what = f" ({needed_for})" if needed_for else ""
            raise NotAvailable(f"stack {self.stack_name!r} has no output {key!r}{what}")
        return value

    def optional_output(self, key: str) -> str | None:
        return self.outputs.get(key) or None

    @cached_property
    def sender_environment(self) -> Mapping[str, str]:
        """The sender Lambda's environment, or {} if it cannot be read (then defaults apply)."""
        function = self.optional_output(OUTPUT_SENDER_FUNCTION)
        if not function:
            return {}
        try:
            configuration = self.client("lambda").get_function_configuration(FunctionName=function)
        except (ClientError, BotoCoreError):
            return {}
        return dict((configuration.get("Environment") or {}).get("Variables") or {})

    def limits(self) -> Limits:
        """The sender's request limits: its own environment when readable, the defaults otherwise."""
        env = self.sender_environment

        def integer(name: str, default: int) -> int:
            raw = env.get(name, "")
            return int(raw) if raw.strip().isdigit() else default

        return Limits(
            body_max_chars=integer(names.ENV_BODY_MAX_CHARS, Limits.body_max_chars),
            max_recipients=integer(names.ENV_MAX_RECIPIENTS, Limits.max_recipients),
            max_media_items=integer(names.ENV_MAX_MEDIA_ITEMS, Limits.max_media_items),
            max_media_bytes=integer(names.ENV_MAX_MEDIA_BYTES, Limits.max_media_bytes),
            media_bucket=env.get(names.ENV_MEDIA_BUCKET) or self.optional_output(OUTPUT_MEDIA_BUCKET),
            media_prefix=env.get(names.ENV_MEDIA_PREFIX, ""),
            # The Body's segments as the sender counts them (DESIGN 9): too many is refused before queueing.
            max_segments=max(1, integer(names.ENV_MAX_SEGMENTS, Limits.max_segments)),
            smart_encoding=env.get(names.ENV_SMART_ENCODING, "").strip().lower() in ("true", "1", "yes", "on"),
        )
