"""What may reach a log line."""

from messaging.redaction import mask_number, redact_numbers


def test_numbers_quoted_by_the_vendor_are_masked_in_logs() -> None:
    assert redact_numbers("HTTP 400: From +18018018011 is not provisioned") == (
        "HTTP 400: From ********8011 is not provisioned"
    )
    assert redact_numbers("HTTP 503: retry in 30 s") == "HTTP 503: retry in 30 s"


def test_a_number_keeps_only_its_last_four_digits() -> None:
    assert mask_number("+18015737111") == "********7111"
    assert mask_number("123") == "****"
    assert mask_number(None) == "****"
