"""A stand-in for the Lambda context object (the attributes Powertools and handlers read)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

DEFAULT_ACCOUNT_ID = "123456789012"


class FakeLambdaContext:
    """Shaped like `awslambdaric`'s LambdaContext; the clock starts when the object is created.

    Create one per invocation: `aws_request_id` is new each time and
    `get_remaining_time_in_millis()` counts down from `timeout_seconds`.
    """

    def __init__(
        self,
        function_name: str = "telegent-sms-sender",
        *,
        timeout_seconds: float = 30,
        memory_limit_in_mb: int = 256,
        function_version: str = "$LATEST",
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[{function_version}]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self.timeout_seconds = timeout_seconds
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    @property
    def timed_out(self) -> bool:
        return time.monotonic() >= self._deadline

    def __repr__(self) -> str:
        return (
            f"FakeLambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r}, remaining_ms={self.get_remaining_time_in_millis()})"
        )
