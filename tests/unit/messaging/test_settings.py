import pytest
import urllib3

from messaging.ports import Credentials
from messaging.settings import ConfigurationError, Settings
from telegent.client import TelegentClient

REQUIRED = {
    "TELEGENT_SECRET_ID": "telegent/creds",
    "MESSAGES_TABLE": "messages",
    "IDEMPOTENCY_TABLE": "idem",
    "DLQ_URL": "https://sqs/dlq",
}


def test_defaults() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.base_url == "https://api.telegent.com/v1.0"
    # The outbound URL is the vendor client's, derived from the configured base.
    client = TelegentClient(settings.base_url, lambda force: Credentials("k", "s"), urllib3.PoolManager())
    assert client.outbound_url == "https://api.telegent.com/v1.0/message/outbound"
    assert settings.rate_limit_per_minute == 50
    assert settings.limits.body_max_chars == 1600
    assert settings.limits.max_media_bytes == 5 * 1024 * 1024
    assert settings.limits.media_bucket is None
    assert settings.deadline_guard_ms == int((3.05 + 8.0) * 1000) + 1000


def test_overrides_and_trailing_slash() -> None:
    settings = Settings.from_env(
        {**REQUIRED, "TELEGENT_BASE_URL": "http://127.0.0.1:9/v1.0/", "BODY_MAX_CHARS": "160", "MEDIA_BUCKET": "b"}
    )
    assert settings.base_url == "http://127.0.0.1:9/v1.0"
    assert settings.limits.body_max_chars == 160
    assert settings.limits.media_bucket == "b"


def test_missing_required_names_every_variable() -> None:
    with pytest.raises(ConfigurationError, match="MESSAGES_TABLE, IDEMPOTENCY_TABLE"):
        Settings.from_env({"TELEGENT_SECRET_ID": "x", "DLQ_URL": "y"})


def test_bad_number_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="BODY_MAX_CHARS must be an integer"):
        Settings.from_env({**REQUIRED, "BODY_MAX_CHARS": "lots"})


def test_payload_reads_are_bounded_by_the_function_memory() -> None:
    assert Settings.from_env(REQUIRED).limits.max_payload_bytes == 64 * 1024 * 1024  # outside Lambda
    small = Settings.from_env({**REQUIRED, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"})
    assert small.limits.max_payload_bytes == 32 * 1024 * 1024  # an eighth of 256 MB
    large = Settings.from_env({**REQUIRED, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"})
    assert large.limits.max_payload_bytes == 64 * 1024 * 1024
    chosen = Settings.from_env({**REQUIRED, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "MAX_PAYLOAD_BYTES": "1000"})
    assert chosen.limits.max_payload_bytes == 1000


def test_payload_prefix_defaults_to_the_media_prefix_and_may_be_the_bucket_root() -> None:
    default = Settings.from_env({**REQUIRED, "MEDIA_PREFIX": "mms/"})
    assert default.limits.payload_location == "mms/"
    root = Settings.from_env({**REQUIRED, "MEDIA_PREFIX": "mms/", "PAYLOAD_PREFIX": ""})
    assert root.limits.payload_location == ""
    own = Settings.from_env({**REQUIRED, "MEDIA_PREFIX": "mms/", "PAYLOAD_PREFIX": "payloads/"})
    assert own.limits.payload_location == "payloads/"


def test_max_message_age() -> None:
    assert Settings.from_env(REQUIRED).max_message_age_hours == 336
    assert Settings.from_env({**REQUIRED, "MAX_MESSAGE_AGE_HOURS": "0.5"}).max_message_age_hours == 0.5
    with pytest.raises(ConfigurationError, match="MAX_MESSAGE_AGE_HOURS must be a number"):
        Settings.from_env({**REQUIRED, "MAX_MESSAGE_AGE_HOURS": "two weeks"})


def test_ambiguous_send_settings() -> None:
    defaults = Settings.from_env(REQUIRED).reconcile_rules
    assert (defaults.search_delay_seconds, defaults.max_minutes, defaults.policy) == (20, 30, "resend")
    env = {
        **REQUIRED,
        "AMBIGUOUS_SEARCH_DELAY_SECONDS": "2.5",
        "AMBIGUOUS_RECONCILE_MAX_MINUTES": "5",
        "AMBIGUOUS_POLICY": " DLQ ",
    }
    rules = Settings.from_env(env).reconcile_rules
    assert (rules.search_delay_seconds, rules.max_minutes, rules.policy) == (2.5, 5, "dlq")
    with pytest.raises(ConfigurationError, match="AMBIGUOUS_POLICY must be resend or dlq"):
        Settings.from_env({**REQUIRED, "AMBIGUOUS_POLICY": "retry"})
