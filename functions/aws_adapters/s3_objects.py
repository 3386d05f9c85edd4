"""S3 media access for the boto3 client: GetObject with size checks, streamed base64, errors classified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from aws_adapters.calls import failed
from messaging.envelopes import S3_POINTER_CLASS
from messaging.errors import PermanentError, RejectCode, TransientError, TransientKind
from messaging.media import CHUNK, encode_stream
from messaging.names import DLQ_PAYLOAD_PREFIX
from messaging.ports import EncodedMedia, ObjectInfo, S3Object

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
T = TypeVar("T")


class S3ObjectReader:
    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        def whole(stream: Any, size: int) -> bytes:
            # Read one byte past the limit so a wrong ContentLength cannot smuggle in more.
            data: bytes = stream.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise PermanentError(RejectCode.MEDIA_TOO_LARGE, f"s3://{bucket}/{key} is over {max_bytes} bytes")
            return data

        data, _, content_type = self._get(bucket, key, max_bytes, whole)
        return S3Object(data, content_type)

    def read_base64(self, bucket: str, key: str, max_bytes: int) -> EncodedMedia:
        def encoded(stream: Any, size: int) -> bytearray:
            return encode_stream(stream.iter_chunks(CHUNK), size, max_bytes)

        data, size, content_type = self._get(bucket, key, max_bytes, encoded)
        return EncodedMedia(data, size, content_type)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """HeadObject: size and type of a media object, without its bytes (a dry run's check)."""
        try:
            response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise _s3_error(exc, bucket, key) from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"reading s3://{bucket}/{key} failed: {exc}") from None
        return ObjectInfo(int(response.get("ContentLength") or 0), response.get("ContentType"))

    def _get(
        self, bucket: str, key: str, max_bytes: int, consume: Callable[[Any, int], T]
    ) -> tuple[T, int, str | None]:
        """GetObject, refuse it by its announced size, let `consume` read the body; S3 errors classified."""
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
            size = int(response.get("ContentLength") or 0)
            stream = response["Body"]
            try:
                if size > max_bytes:
                    raise PermanentError(
                        RejectCode.MEDIA_TOO_LARGE, f"s3://{bucket}/{key} is {size} bytes; at most {max_bytes} allowed"
                    )
                return consume(stream, size), size, response.get("ContentType")
            finally:
                stream.close()
        except ClientError as exc:
            raise _s3_error(exc, bucket, key) from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"reading s3://{bucket}/{key} failed: {exc}") from None


def _s3_error(exc: ClientError, bucket: str, key: str) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code"))
    if code in NOT_FOUND_CODES:
        return PermanentError(RejectCode.MEDIA_NOT_FOUND, f"s3://{bucket}/{key} does not exist")
    return TransientError(TransientKind.DEPENDENCY, f"reading s3://{bucket}/{key} failed: {code}")


class S3PayloadOffload:
    """Writes a body too large for an SQS message to the media bucket and returns the Amazon SQS
    Extended Client pointer that stands for it (the sender unwraps such pointers when they come back)."""

    def __init__(self, client: Any, bucket: str, prefix: str = DLQ_PAYLOAD_PREFIX) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def __call__(self, body: str) -> str:
        data = body.encode("utf-8", "surrogatepass")
        # Named by content: copying the same body twice writes the same object.
        key = f"{self._prefix}{hashlib.sha256(data).hexdigest()}.json"
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise failed(f"offloading a body to s3://{self._bucket}/{key}", exc) from None
        return json.dumps([S3_POINTER_CLASS, {"s3BucketName": self._bucket, "s3Key": key}])
