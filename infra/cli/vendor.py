"""Calling Telegent the way the stack does: its base URL and account credentials, the shared vendor client.

- Base URL: the sender Lambda's `TELEGENT_BASE_URL` (what the stack really calls), else the
  stack's `TelegentBaseUrl` output, else the production default.
- Credentials: the stack's vendor secret (`SecretArn` output), `{"AccountKey", "AccountSecret"}`,
  read with the operator's AWS credentials and never printed.
- The client is `telegent.client.TelegentClient` (tokens per endpoint URL, deadlines, errors
  classified) with no rate limiter: an operator's few calls are not worth a slot in the shared
  limiter, and a 429 is reported as such.

Vendor failures end as one `error:` line: the vendor's refusal (4xx) or its absence (no answer,
throttled, 5xx), never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from infra.cli.errors import CliError, NotFound
from infra.cli.stack import OUTPUT_SECRET_ARN, OUTPUT_TELEGENT_BASE_URL, StackContext, aws_call
from messaging import names
from messaging.callback_auth import CallbackCredential, CallbackSecretError
from messaging.errors import PermanentError, TransientError
from messaging.ports import Credentials
from telegent.client import TelegentClient
from telegent.http import new_pool_manager
from telegent.routes import MessageRoutes
from telegent.tokens import TokenCache

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0


def base_url(stack: StackContext) -> str:
    url = (
        stack.sender_environment.get(names.ENV_TELEGENT_BASE_URL)
        or stack.optional_output(OUTPUT_TELEGENT_BASE_URL)
        or names.DEFAULT_TELEGENT_BASE_URL
    )
    return url.rstrip("/")


def read_secret(stack: StackContext, secret_id: str, what: str) -> Any:
    """A JSON secret's value; a missing secret is NotFound, a non-JSON one a CliError (neither quotes it)."""
    client = stack.client("secretsmanager")
    try:
        text = aws_call(f"reading the {what}", lambda: client.get_secret_value(SecretId=secret_id))["SecretString"]
    except CliError as exc:
        if "ResourceNotFoundException" in exc.message:
            raise NotFound(f"the {what} {secret_id} does not exist") from None
        raise
    try:
        return json.loads(text)
    except ValueError:
        raise CliError(f"the {what} {secret_id} is not JSON") from None


class SecretCredentials:
    """The stack's vendor credentials, read once (again when the vendor refused a token)."""

    def __init__(self, stack: StackContext, secret_id: str) -> None:
        self._stack = stack
        self._secret_id = secret_id
        self._value: Credentials | None = None

    def __call__(self, force: bool = False) -> Credentials:
        if self._value is None or force:
            value = read_secret(self._stack, self._secret_id, "vendor secret")
            key = value.get("AccountKey") if isinstance(value, dict) else None
            secret = value.get("AccountSecret") if isinstance(value, dict) else None
            if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
                raise CliError(
                    f'the vendor secret {self._secret_id} lacks non-empty "AccountKey" and "AccountSecret" strings'
                )
            self._value = Credentials(key, secret)
        return self._value


def client(stack: StackContext) -> TelegentClient:
    return TelegentClient(
        base_url(stack),
        SecretCredentials(stack, stack.output(OUTPUT_SECRET_ARN, needed_for="the vendor credentials")),
        new_pool_manager(CONNECT_TIMEOUT, READ_TIMEOUT, 1),
        TokenCache(),
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


def routes(stack: StackContext) -> MessageRoutes:
    return MessageRoutes(client(stack))


def callback_credential(stack: StackContext, secret_id: str) -> CallbackCredential:
    try:
        return CallbackCredential.from_secret(read_secret(stack, secret_id, "callback secret"))
    except CallbackSecretError as exc:
        raise CliError(f"the callback secret {secret_id}: {exc}") from None


@contextmanager
def vendor_errors(stack: StackContext) -> Iterator[None]:
    """Telegent's refusals and silences as one line naming the URL asked."""
    try:
        yield
    except PermanentError as exc:
        raise CliError(f"Telegent ({base_url(stack)}) refused: {exc.message}") from None
    except TransientError as exc:
        raise CliError(f"no usable answer from Telegent ({base_url(stack)}): {exc}") from None


def call(stack: StackContext, request: Callable[[], T]) -> T:
    with vendor_errors(stack):
        return request()
