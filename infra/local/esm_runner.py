"""A local stand-in for Lambda's SQS event source mapping (DESIGN.md section 6).

It polls a queue, hands the handler a real-shaped SQS event and a fresh FakeLambdaContext,
and then does what the mapping does with the answer:

- handler raised (or ran past the function timeout) -> nothing is deleted; the whole batch
  comes back after the visibility timeout;
- `{"batchItemFailures": [{"itemIdentifier": id}, ...]}` -> every other record is deleted;
- an empty/None answer or an empty failure list -> the whole batch is deleted;
- an itemIdentifier that is missing, empty or not in the batch, or an answer of the wrong
  shape -> the whole batch failed (this is what AWS does).

Redelivery and the move to the DLQ after maxReceiveCount are left to the queue (moto server
implements both). Only batch sizes and outcomes are logged, never bodies.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra.local.aws_env import boto3_kwargs
from infra.local.lambda_context import FakeLambdaContext

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

SQS_MAX_RECEIVE = 10
SQS_MAX_WAIT_SECONDS = 20
IDLE_SLEEP_SECONDS = 0.05


@dataclass
class BatchResult:
    """What happened to one poll (and, when it got messages, one invocation)."""

    received_ids: list[str] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0
    error: BaseException | None = None
    response: Any = None

    @property
    def invoked(self) -> bool:
        return bool(self.received_ids)

    @property
    def batch_failed(self) -> bool:
        """True when the invocation counted as a failure of the whole batch."""
        return self.error is not None


@dataclass
class DrainSummary:
    invocations: int = 0
    records: int = 0
    failures: int = 0
    batch_errors: int = 0
    deleted: int = 0
    drained: bool = False
    duration_seconds: float = 0.0
    batches: list[BatchResult] = field(default_factory=list)

    def add(self, result: BatchResult) -> None:
        if not result.invoked:
            return
        self.invocations += 1
        self.records += len(result.received_ids)
        self.failures += len(result.failed_ids)
        self.batch_errors += int(result.batch_failed)
        self.deleted += len(result.deleted_ids)
        self.batches.append(result)


class BatchResponseError(ValueError):
    """The handler's answer made the whole batch count as failed."""


class FunctionTimeoutError(TimeoutError):
    """The handler ran longer than the function timeout."""


class EventSourceRunner:
    """Poll `queue_url` and invoke `handler(event, context)` like an SQS event source mapping.

    `sqs` is a boto3 SQS client or an endpoint URL (a client is then created for it).
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        maximum_batching_window_seconds: float = 0,
        function_timeout_seconds: float = 30,
        function_name: str = "telegent-sms-sender",
        report_batch_item_failures: bool = True,
        wait_time_seconds: int = 1,
        concurrency: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if batch_size > SQS_MAX_RECEIVE and maximum_batching_window_seconds <= 0:
            # Same rule as the real mapping.
            raise ValueError("batch_size > 10 needs maximum_batching_window_seconds > 0")
        if isinstance(sqs, str):  # an endpoint URL: a local emulator, so fake credentials will do
            sqs = boto3.client("sqs", **boto3_kwargs(sqs))
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.maximum_batching_window_seconds = maximum_batching_window_seconds
        self.function_timeout_seconds = function_timeout_seconds
        self.function_name = function_name
        self.report_batch_item_failures = report_batch_item_failures
        self.wait_time_seconds = max(0, min(SQS_MAX_WAIT_SECONDS, int(wait_time_seconds)))
        self.concurrency = max(1, concurrency)
        self.region: str = self.sqs.meta.region_name
        self._queue_arn: str | None = None

    @property
    def queue_arn(self) -> str:
        if self._queue_arn is None:
            attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self._queue_arn = attributes["Attributes"]["QueueArn"]
        return self._queue_arn

    # -- polling -------------------------------------------------------------------------------

    def _receive(self, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def receive_batch(self) -> list[dict[str, Any]]:
        """Long-poll once, then keep gathering until the batch is full or the window elapses."""
        messages: dict[str, dict[str, Any]] = {}
        for message in self._receive(min(SQS_MAX_RECEIVE, self.batch_size), self.wait_time_seconds):
            messages[message["MessageId"]] = message
        if not messages:
            return []
        window_ends = time.monotonic() + self.maximum_batching_window_seconds
        while len(messages) < self.batch_size:
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            wanted = min(SQS_MAX_RECEIVE, self.batch_size - len(messages))
            more = self._receive(wanted, min(SQS_MAX_WAIT_SECONDS, int(remaining)))
            if not more and remaining < 1:
                break
            for message in more:
                messages[message["MessageId"]] = message
        return list(messages.values())

    # -- event shape ---------------------------------------------------------------------------

    def to_record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One SQS message as a record of a Lambda SQS event."""
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record["eventSource"] = "aws:sqs"
        record["eventSourceARN"] = self.queue_arn
        record["awsRegion"] = self.region
        return record

    def build_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        # Through JSON, as the real service does: the handler gets plain data it may mutate.
        event = {"Records": [self.to_record(m) for m in messages]}
        return json.loads(json.dumps(event))

    # -- invoke and settle ---------------------------------------------------------------------

    def run_once(self) -> BatchResult:
        """One poll and, if anything arrived, one invocation. Returns what happened."""
        messages = self.receive_batch()
        result = BatchResult(received_ids=[m["MessageId"] for m in messages])
        if not messages:
            return result

        event = self.build_event(messages)
        context = FakeLambdaContext(
            self.function_name, timeout_seconds=self.function_timeout_seconds, region=self.region
        )
        started = time.monotonic()
        try:
            response = self.handler(event, context)
            result.duration_seconds = time.monotonic() - started
            if result.duration_seconds > self.function_timeout_seconds:
                raise FunctionTimeoutError(
                    f"Task timed out after {result.duration_seconds:.2f} seconds "
                    f"(timeout {self.function_timeout_seconds}s)"
                )
            result.response = json.loads(json.dumps(response))  # must be JSON, as in Lambda
            if self.report_batch_item_failures:
                result.failed_ids = _failed_ids(result.response, result.received_ids)
        except Exception as exc:
            result.duration_seconds = time.monotonic() - started
            result.error = exc
            result.failed_ids = list(result.received_ids)
            logger.warning(
                "invocation %s failed the whole batch of %d: %s",
                context.aws_request_id,
                len(messages),
                type(exc).__name__,
            )
            return result

        failed = set(result.failed_ids)
        result.deleted_ids = self._delete([m for m in messages if m["MessageId"] not in failed])
        logger.info(
            "invocation %s: %d records, %d failed, %d deleted, %.3fs",
            context.aws_request_id,
            len(messages),
            len(failed),
            len(result.deleted_ids),
            result.duration_seconds,
        )
        return result

    def _delete(self, messages: list[dict[str, Any]]) -> list[str]:
        deleted: list[str] = []
        for start in range(0, len(messages), SQS_MAX_RECEIVE):
            chunk = messages[start : start + SQS_MAX_RECEIVE]
            entries = [{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            ok = {entry["Id"] for entry in response.get("Successful", [])}
            for entry in response.get("Failed", []):
                logger.warning("delete failed: %s %s", entry.get("Code"), entry.get("Message"))
            deleted += [m["MessageId"] for i, m in enumerate(chunk) if f"m{i}" in ok]
        return deleted

    # -- loops ---------------------------------------------------------------------------------

    def queue_counts(self) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return {name: int(value) for name, value in attributes.items()}

    def is_drained(self) -> bool:
        return not any(self.queue_counts().values())

    def run_until_drained(self, max_seconds: float = 60, idle_polls: int = 2) -> DrainSummary:
        """Poll and invoke (with `concurrency` pollers) until the queue holds nothing.

        The queue counts as drained after `idle_polls` consecutive empty polls each seeing zero visible,
        in-flight and delayed messages. In-flight messages that the handler failed come back after
        the visibility timeout, so this keeps polling until they are deleted or moved to the DLQ
        (which the queue does on the receive after the one that reaches maxReceiveCount).
        On deadline it returns with `drained=False`.

        Two idle polls by default: moto reads the visible and in-flight counts one after the other,
        so a message whose visibility timeout ends between the two reads is in neither.
        """
        summary = DrainSummary()
        lock = threading.Lock()
        stop = threading.Event()
        deadline = time.monotonic() + max_seconds
        started = time.monotonic()

        def poller() -> None:
            idle = 0
            while not stop.is_set() and time.monotonic() < deadline:
                result = self.run_once()
                with lock:
                    summary.add(result)
                if result.invoked:
                    idle = 0
                    continue
                idle = idle + 1 if self.is_drained() else 0
                if idle >= idle_polls:
                    stop.set()
                elif self.wait_time_seconds == 0:  # short polling: don't hammer the endpoint
                    stop.wait(IDLE_SLEEP_SECONDS)

        if self.concurrency == 1:
            poller()
        else:
            threads = [
                threading.Thread(target=poller, name=f"esm-poller-{i}", daemon=True) for i in range(self.concurrency)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        summary.drained = stop.is_set() or self.is_drained()
        summary.duration_seconds = time.monotonic() - started
        logger.info(
            "drain %s after %.1fs: %d invocations, %d records, %d failures, %d batch errors",
            "complete" if summary.drained else "INCOMPLETE",
            summary.duration_seconds,
            summary.invocations,
            summary.records,
            summary.failures,
            summary.batch_errors,
        )
        return summary


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """boto3's MessageAttributeValue -> the Lambda event's camelCase shape."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    attribute["dataType"] = value["DataType"]
    return attribute


def _failed_ids(response: Any, batch_ids: list[str]) -> list[str]:
    """The records to keep, per the partial batch response rules; raises for an invalid answer."""
    if response is None or response == {}:
        return []
    if not isinstance(response, dict):
        raise BatchResponseError(f"response is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if not failures:
        return []
    if not isinstance(failures, list):
        raise BatchResponseError("batchItemFailures is not a list")
    known = set(batch_ids)
    failed: list[str] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            raise BatchResponseError("batchItemFailures entry without an itemIdentifier")
        if identifier not in known:
            raise BatchResponseError("itemIdentifier is not a messageId of this batch")
        if identifier not in failed:
            failed.append(identifier)
    return failed
