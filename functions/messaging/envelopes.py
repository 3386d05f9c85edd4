"""Find the send request inside an SQS body: plain, EventBridge, SNS, or an extended-client S3 pointer.

Decoding is strict and total: whatever the text, the result is the decoded value or a
PermanentError (INVALID_JSON with the reason), never a RecursionError, a TypeError or a value no
JSON interoperates on (I-JSON, RFC 7493): NaN/Infinity literals, numbers outside the double range,
integers beyond 2^53, duplicate keys, unpaired surrogates (from \\ud800-style escapes) and nesting
deeper than MAX_JSON_DEPTH are refused here with a reason, so nothing downstream meets them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from messaging.checks import field_name, has_unpaired_surrogate, s3_bucket_problem, s3_key_problem
from messaging.errors import PermanentError, RejectCode

S3_POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
MAX_NESTING = 3
MAX_JSON_DEPTH = 32  # arrays/objects inside one another; an EventBridge-wrapped request needs 4
MAX_SAFE_INTEGER = 2**53 - 1
REQUEST_FIELDS = frozenset({"To", "From", "Body"})

# Reads (bucket, key) -> bytes; it enforces the allowed location and raises PermanentError/TransientError.
PayloadLoader = Callable[[str, str], bytes]


@dataclass(frozen=True)
class Unwrapped:
    request: Any
    envelopes: tuple[str, ...]  # outermost first, e.g. ("sns", "eventbridge")


class _Refused(ValueError):
    """Raised from the decoder's hooks: valid JSON syntax that we do not accept."""


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is outside the range of a double")
    return value


def _parse_int(text: str) -> int:
    # Checked on the text first: Python refuses to convert more than 4300 digits anyway.
    if len(text.lstrip("-")) > 16 or abs(value := int(text)) > MAX_SAFE_INTEGER:
        raise _Refused(f"an integer is beyond +/-{MAX_SAFE_INTEGER} (2^53 - 1)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # which value counts would depend on the parser: refuse, naming the key
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the key {field_name(key)} appears more than once in an object")
            seen.add(key)
    return obj


def _structure_problem(data: Any) -> str | None:
    """Nesting deeper than MAX_JSON_DEPTH or an unpaired surrogate anywhere (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if has_unpaired_surrogate(value):
                return "a string holds an unpaired surrogate (a lone \\ud800-\\udfff escape): not valid Unicode"
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return f"nested deeper than {MAX_JSON_DEPTH} arrays/objects"
            if isinstance(value, dict):
                stack.extend((key, depth + 1) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def _decode(text: Any, what: str) -> Any:
    if not isinstance(text, str | bytes | bytearray):
        raise PermanentError(RejectCode.INVALID_JSON, f"{what} is not text (got {type(text).__name__})")
    try:
        data = json.loads(
            text,
            parse_constant=_parse_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
            object_pairs_hook=_object,
        )
    except _Refused as exc:
        raise PermanentError(RejectCode.INVALID_JSON, f"{what} is not accepted JSON: {exc}") from None
    except RecursionError:
        raise PermanentError(
            RejectCode.INVALID_JSON, f"{what} is nested too deeply to decode (at most {MAX_JSON_DEPTH} levels)"
        ) from None
    except json.JSONDecodeError as exc:
        raise PermanentError(
            RejectCode.INVALID_JSON, f"{what} is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError:  # UnicodeDecodeError included: bytes that are not UTF-8/16/32 text
        raise PermanentError(RejectCode.INVALID_JSON, f"{what} is not valid JSON text") from None
    if (problem := _structure_problem(data)) is not None:
        raise PermanentError(RejectCode.INVALID_JSON, f"{what} is not accepted JSON: {problem}")
    return data


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


def unwrap(body: str | bytes, load_payload: PayloadLoader) -> Unwrapped:
    """Peel known envelopes (at most MAX_NESTING) and return what is inside."""
    data = _decode(body, "the message body")
    seen: list[str] = []
    for _ in range(MAX_NESTING + 1):
        if _is_s3_pointer(data):
            pointer = data[1]
            seen.append("s3-pointer")
            bucket, key = pointer["s3BucketName"], pointer["s3Key"]
            for name, problem in (("s3BucketName", s3_bucket_problem(bucket)), ("s3Key", s3_key_problem(key))):
                if problem is not None:
                    raise PermanentError(RejectCode.VALIDATION_ERROR, f"the S3 pointer's {name} {problem}")
            data = _decode(load_payload(bucket, key), "the S3 payload")
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
