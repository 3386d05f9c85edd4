"""What may reach a log line: phone numbers only as their last 4 digits."""

from __future__ import annotations

import re

PHONE_LIKE = re.compile(r"\+?\d{7,15}")


def redact_numbers(text: str) -> str:
    """Vendor error texts may quote a number; logs keep only its last 4 digits."""
    return PHONE_LIKE.sub(lambda match: mask_number(match.group()), text)


def mask_number(number: object) -> str:
    """Phone numbers appear in logs only as their last 4 digits."""
    text = str(number or "")
    return "*" * max(0, len(text) - 4) + text[-4:] if len(text) > 4 else "****"
