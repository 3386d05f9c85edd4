"""Telegent account credentials from Secrets Manager, cached by Powertools parameters."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from messaging.errors import TransientError, TransientKind
from messaging.ports import Credentials


class SecretCredentials:
    """Callable CredentialsSource: cached for max_age seconds, re-read when `force` is set.

    A malformed value (not JSON, not an object, a key missing) is never trusted from the cache: the
    next call reads the secret again, so a fixed secret is used at once, not after max_age.
    """

    def __init__(self, secret_id: str, provider: SecretsProvider, max_age: int) -> None:
        self._secret_id = secret_id
        self._provider = provider
        self._max_age = max_age
        self._reread = False

    def __call__(self, force: bool = False) -> Credentials:
        force, self._reread = force or self._reread, False
        try:
            value: Any = self._provider.get(self._secret_id, transform="json", max_age=self._max_age, force_fetch=force)
        except TransformParameterError:
            raise self._malformed("is not JSON") from None
        except GetParameterError as exc:
            # The message names the secret and the AWS error, never the value.
            raise TransientError(
                TransientKind.CONFIG, f"cannot read secret {self._secret_id}: {type(exc.__cause__).__name__}"
            ) from None
        if not isinstance(value, dict):
            raise self._malformed("is not a JSON object")
        key, secret = value.get("AccountKey"), value.get("AccountSecret")
        if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
            raise self._malformed('lacks non-empty "AccountKey" and "AccountSecret" strings')
        return Credentials(key, secret)

    def _malformed(self, problem: str) -> TransientError:
        self._reread = True
        return TransientError(
            TransientKind.CONFIG,
            f'secret {self._secret_id} {problem}; expected {{"AccountKey": "...", "AccountSecret": "..."}}',
        )
