"""AWS calls with their errors translated: a failing AWS call is a TransientError(DEPENDENCY) that
names what we were doing and the AWS error code, never the request's data."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from messaging.errors import TransientError, TransientKind

T = TypeVar("T")
CONDITION_FAILED = "ConditionalCheckFailedException"


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError, else the exception's type name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code"))
    return type(exc).__name__


def failed(what: str, exc: Exception) -> TransientError:
    return TransientError(TransientKind.DEPENDENCY, f"{what} failed: {error_code(exc)}")


def aws_call(what: str, operation: Callable[..., T], /, **request: Any) -> T:
    try:
        return operation(**request)
    except (ClientError, BotoCoreError) as exc:
        raise failed(what, exc) from None


def aws_call_unless(what: str, refusals: Collection[str], operation: Callable[..., Any], /, **request: Any) -> bool:
    """True when the call succeeded; False when AWS refused it with one of `refusals` (an expected answer,
    such as a failed condition or an existing name)."""
    try:
        operation(**request)
        return True
    except ClientError as exc:
        if error_code(exc) in refusals:
            return False
        raise failed(what, exc) from None
    except BotoCoreError as exc:
        raise failed(what, exc) from None
