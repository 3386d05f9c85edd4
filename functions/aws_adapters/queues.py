"""SQS side effects: the DLQ copy of a rejected message, delaying a retry, the source queue's redrive."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from aws_adapters.calls import failed
from messaging.errors import TransientError, TransientKind

MAX_VISIBILITY_SECONDS = 43_200  # SQS maximum (12 h)
ATTRIBUTE_VALUE_MAX = 1024
SQS_MAX_DELAY_SECONDS = 900
SQS_MAX_MESSAGE_BYTES = 1_048_576  # 1 MiB: body plus message attributes
T = TypeVar("T")


def _translated(what: str, call: Callable[[], T]) -> T:
    """SQS and ARN errors become TransientError(DEPENDENCY): the caller decides what a failure means."""
    try:
        return call()
    except (ClientError, BotoCoreError, ValueError, KeyError) as exc:
        raise failed(what, exc) from None


class SqsDeadLetterSink:
    """Copies to the DLQ; a copy too large for SQS gets its body offloaded to S3 and an extended-client
    pointer in its place (`offload`), never a retry that can only fail the same way again."""

    def __init__(
        self,
        dlq_url: str,
        client: Any,
        offload: Callable[[str], str] | None = None,
        max_message_bytes: int = SQS_MAX_MESSAGE_BYTES,
    ) -> None:
        self._url = dlq_url
        self._client = client
        self._offload = offload
        self._max_message_bytes = max_message_bytes

    def copy(self, body: str, reasons: Mapping[str, str]) -> None:
        attributes = {
            name: {"DataType": "String", "StringValue": sqs_text(value)[:ATTRIBUTE_VALUE_MAX]}
            for name, value in reasons.items()
            if value
        }
        offloaded = False
        if self._offload is not None and message_size(body, attributes) > self._max_message_bytes:
            body, offloaded = self._offload(body), True
        try:
            self._send(body, attributes)
            return
        except ClientError as exc:
            # The queue may allow less than SQS's maximum (its MaximumMessageSize): offload and try once more.
            if offloaded or self._offload is None or not _too_large(exc):
                raise TransientError(TransientKind.DEPENDENCY, f"copying to the DLQ failed: {_describe(exc)}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"copying to the DLQ failed: {_describe(exc)}") from None
        try:
            self._send(self._offload(body), attributes)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"copying to the DLQ failed: {_describe(exc)}") from None

    def _send(self, body: str, attributes: Mapping[str, Any]) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=body, MessageAttributes=attributes)


def message_size(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """An SQS message's size as SQS counts it: the body plus each attribute's name, type and value."""
    size = len(body.encode("utf-8", "surrogatepass"))
    for name, value in attributes.items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            size += len(str(value["StringValue"]).encode("utf-8", "surrogatepass"))
        if "BinaryValue" in value:
            size += len(value["BinaryValue"])
    return size


# What SQS accepts in a message: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
_NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sqs_text(value: str) -> str:
    """`value` with the characters SQS refuses (NUL, lone surrogates...) replaced by U+FFFD: a reason
    that quotes a bad request must not make its own DLQ copy fail."""
    return _NOT_SQS_TEXT.sub("\ufffd", value)


def _too_large(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    text = f"{error.get('Code', '')} {error.get('Message', '')}".lower()
    return any(sign in text for sign in ("shorter than", "too long", "toolong", "exceeds the maximum"))


def _describe(exc: Exception) -> str:
    return str(exc.response.get("Error", {}).get("Code")) if isinstance(exc, ClientError) else type(exc).__name__


def _api_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    data_type = value.get("dataType", "String")
    if value.get("binaryValue") is not None:
        return {"DataType": data_type, "BinaryValue": base64.b64decode(value["binaryValue"])}
    return {"DataType": data_type, "StringValue": value.get("stringValue", "")}


def queue_name_and_account(queue_arn: str) -> tuple[str, str]:
    parts = queue_arn.split(":")
    if len(parts) < 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {queue_arn}")
    return parts[5], parts[4]


class SqsQueueControl:
    """Queue URL and redrive policy of the source queue, looked up once per container."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}
        self._max_receives: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def _url(self, queue_arn: str) -> str:
        with self._lock:
            if queue_arn not in self._urls:
                name, account = queue_name_and_account(queue_arn)
                self._urls[queue_arn] = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                    "QueueUrl"
                ]
            return self._urls[queue_arn]

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        self._on_queue(
            "delaying the retry",
            queue_arn,
            self._client.change_message_visibility,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(int(seconds), MAX_VISIBILITY_SECONDS)),
        )

    def requeue(self, queue_arn: str, body: str, attributes: Mapping[str, Any], delay_seconds: int) -> None:
        """Send `body` again with Lambda-event-shaped `attributes` (converted back to the SQS API shape)."""
        self._on_queue(
            "putting the message back",
            queue_arn,
            self._client.send_message,
            MessageBody=body,
            DelaySeconds=max(0, min(int(delay_seconds), SQS_MAX_DELAY_SECONDS)),
            MessageAttributes={name: _api_attribute(value) for name, value in attributes.items()},
        )

    def _on_queue(self, what: str, queue_arn: str, operation: Callable[..., Any], **request: Any) -> None:
        """A call on the source queue, its URL looked up (once) inside the same error translation."""
        _translated(what, lambda: operation(QueueUrl=self._url(queue_arn), **request))

    def max_receive_count(self, queue_arn: str) -> int | None:
        if queue_arn not in self._max_receives:

            def read() -> int | None:
                url = self._url(queue_arn)
                attributes = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
                policy = attributes.get("Attributes", {}).get("RedrivePolicy")
                return int(json.loads(policy)["maxReceiveCount"]) if policy else None

            count = _translated("reading the redrive policy", read)
            with self._lock:
                self._max_receives[queue_arn] = count
        return self._max_receives[queue_arn]
