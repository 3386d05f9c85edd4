"""Find the send request inside an SQS body: plain, EventBridge, SNS, or an extended-client S3 pointer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from messaging.errors import PermanentError, RejectCode

S3_POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
MAX_NESTING = 3
REQUEST_FIELDS = frozenset({"To", "From", "Body"})

# Reads (bucket, key) -> bytes; it enforces the allowed location and raises PermanentError/TransientError.
PayloadLoader = Callable[[str, str], bytes]


@dataclass(frozen=True)
class Unwrapped:
    request: Any
    envelopes: tuple[str, ...]  # outermost first, e.g. ("sns", "eventbridge")


def _decode(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PermanentError(RejectCode.INVALID_JSON, f"{what} is not valid JSON") from exc


def _is_eventbridge(data: Mapping[str, Any]) -> bool:
    return "detail-type" in data and "detail" in data and "source" in data


def _is_sns(data: Mapping[str, Any]) -> bool:
    return data.get("Type") == "Notification" and isinstance(data.get("Message"), str) and "TopicArn" in data


def _is_s3_pointer(data: Any) -> bool:
    return (
        isinstance(data, list)
        and len(data) == 2
        and data[0] == S3_POINTER_CLASS
        and isinstance(data[1], Mapping)
        and isinstance(data[1].get("s3BucketName"), str)
        and isinstance(data[1].get("s3Key"), str)
    )


def unwrap(body: str, load_payload: PayloadLoader) -> Unwrapped:
    """Peel known envelopes (at most MAX_NESTING) and return what is inside."""
    data = _decode(body, "the message body")
    seen: list[str] = []
    for _ in range(MAX_NESTING + 1):
        if _is_s3_pointer(data):
            pointer = data[1]
            seen.append("s3-pointer")
            data = _decode(load_payload(pointer["s3BucketName"], pointer["s3Key"]), "the S3 payload")
        elif isinstance(data, Mapping) and _is_eventbridge(data):
            seen.append("eventbridge")
            detail = data["detail"]
            data = _decode(detail, "the EventBridge detail") if isinstance(detail, str) else detail
        elif isinstance(data, Mapping) and _is_sns(data):
            seen.append("sns")
            data = _decode(data["Message"], "the SNS Message")
        else:
            break
    else:
        raise PermanentError(RejectCode.UNKNOWN_ENVELOPE, f"more than {MAX_NESTING} nested envelopes")

    if not isinstance(data, Mapping) or not (REQUEST_FIELDS & set(data)):
        kind = type(data).__name__ if not isinstance(data, Mapping) else "object without To/From/Body"
        raise PermanentError(
            RejectCode.UNKNOWN_ENVELOPE,
            f"not a send request nor a known envelope (EventBridge, SNS, S3 pointer): got a JSON {kind}",
        )
    return Unwrapped(data, tuple(seen))
