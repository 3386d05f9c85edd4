"""What may reach a log line."""

import pytest

from messaging.redaction import log_key, mask_number, redact, redact_numbers


def test_numbers_quoted_by_the_vendor_are_masked_in_logs() -> None:
    assert redact_numbers("HTTP 400: From +18018018011 is not provisioned") == (
        "HTTP 400: From ********8011 is not provisioned"
    )
    assert redact_numbers("HTTP 503: retry in 30 s") == "HTTP 503: retry in 30 s"


def test_a_number_keeps_only_its_last_four_digits() -> None:
    assert mask_number("+18015737111") == "********7111"
    assert mask_number("123") == "****"
    assert mask_number(None) == "****"


# ---------------------------------------------------------------- echoed bodies and keys (issue 8, defect 8)

BODY = "Your one-time code is 918273, valid for 10 minutes"


@pytest.mark.parametrize(
    "vendor_text",
    [
        f"Bad request: Body '{BODY}' contains a blocked word",
        f'{{"Message": "invalid Body: \\"{BODY}\\""}}',  # JSON-escaped echo
        f"Body '{BODY[:30]}...' is too long",  # a truncated echo
        f"rejected: {BODY} (was: {BODY})",  # twice
    ],
)
def test_an_echoed_body_is_removed(vendor_text: str) -> None:
    text = redact(vendor_text, BODY)
    assert BODY[:12] not in text
    assert "918273" not in text
    assert "[body]" in text


def test_numbers_are_masked_whatever_their_punctuation() -> None:
    for written in ("+18015737111", "+1 801-573-7111", "(801) 573-7111", "801.573.7111"):
        text = redact(f"To {written} is opted out")
        assert "573" not in text, text
        assert text.endswith("7111 is opted out")


def test_a_short_body_is_not_hunted_for() -> None:
    assert redact("ok then", "ok") == "ok then"


def test_a_key_with_a_number_is_logged_masked_and_still_correlates() -> None:
    assert log_key("order-1234") == "order-1234"  # nothing phone-like: as is
    assert log_key(None) is None
    masked = log_key("welcome-+18015737111")
    assert masked is not None
    assert "8015737111" not in masked
    assert masked.startswith("welcome-********7111#")
    assert log_key("welcome-+18015737111") == masked  # same key, same log value
    assert log_key("welcome-+18015737112") != masked
    assert log_key("welcome-+18025737111") != masked  # same last digits, another key
