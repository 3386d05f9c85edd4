"""Vendor credentials from Secrets Manager through Powertools' cache (issue 8, defect 10a)."""

from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from aws_adapters.secrets import SecretCredentials
from messaging.errors import TransientError, TransientKind

GOOD = '{"AccountKey": "DID-1", "AccountSecret": "s3cret"}'


class FakeSecretsManager:
    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def get_secret_value(self, **_: Any) -> dict[str, Any]:
        self.reads += 1
        return {"SecretString": self.value}


def credentials(client: FakeSecretsManager) -> SecretCredentials:
    return SecretCredentials("telegent/creds", SecretsProvider(boto3_client=client), max_age=300)


def test_a_good_secret_is_read_once_per_cache_age() -> None:
    client = FakeSecretsManager(GOOD)
    source = credentials(client)
    assert source().account_key == "DID-1"
    assert source().account_key == "DID-1"
    assert client.reads == 1


@pytest.mark.parametrize(
    "malformed", ['{"AccountKey": "DID-1"}', '["DID-1"]', "not json", '{"AccountKey": "", "AccountSecret": "x"}']
)
def test_a_malformed_secret_is_read_again_at_once_once_fixed(malformed: str) -> None:
    client = FakeSecretsManager(malformed)
    source = credentials(client)
    with pytest.raises(TransientError) as failed:
        source()
    assert failed.value.kind == TransientKind.CONFIG
    assert "s3cret" not in failed.value.message
    client.value = GOOD  # an operator fixes the secret
    assert source().account_secret == "s3cret"  # not the cached bad value for the next 300 s
    assert source().account_secret == "s3cret"
    assert client.reads == 2  # and cached again once good
