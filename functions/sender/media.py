"""Reading MMS media and offloaded payloads from S3, inside the allowed location only."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sender.errors import PermanentError, RejectCode, TransientError, TransientKind
from sender.request import allowed_location, media_location_allowed
from sender.settings import Limits

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
DEFAULT_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class S3Object:
    data: bytes
    content_type: str | None


class ObjectReader(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        """The object's bytes; PermanentError when missing or larger than max_bytes."""
        ...


class S3ObjectReader:
    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
            size = int(response.get("ContentLength") or 0)
            stream = response["Body"]
            if size > max_bytes:
                stream.close()
                raise PermanentError(
                    RejectCode.MEDIA_TOO_LARGE, f"s3://{bucket}/{key} is {size} bytes; at most {max_bytes} allowed"
                )
            # Read one byte past the limit so a wrong ContentLength cannot smuggle in more.
            data = stream.read(max_bytes + 1)
            stream.close()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in NOT_FOUND_CODES:
                raise PermanentError(RejectCode.MEDIA_NOT_FOUND, f"s3://{bucket}/{key} does not exist") from None
            raise TransientError(TransientKind.DEPENDENCY, f"reading s3://{bucket}/{key} failed: {code}") from None
        except BotoCoreError as exc:
            raise TransientError(TransientKind.DEPENDENCY, f"reading s3://{bucket}/{key} failed: {exc}") from None
        if len(data) > max_bytes:
            raise PermanentError(RejectCode.MEDIA_TOO_LARGE, f"s3://{bucket}/{key} is over {max_bytes} bytes")
        return S3Object(data, response.get("ContentType"))


class MediaFetcher:
    """Turns MmsS3 references into (base64, mime) pairs within the media byte budget."""

    def __init__(self, reader: ObjectReader, limits: Limits) -> None:
        self._reader = reader
        self._limits = limits

    def fetch_all(self, items: tuple[Any, ...], already_used: int) -> list[tuple[str, str]]:
        budget = self._limits.max_media_bytes - already_used
        fetched: list[tuple[str, str]] = []
        for item in items:
            obj = self._reader.read(item.bucket, item.key, max(budget, 0))
            budget -= len(obj.data)
            mime = item.base_type or obj.content_type or DEFAULT_MEDIA_TYPE
            fetched.append((base64.b64encode(obj.data).decode("ascii"), mime))
        return fetched

    def load_payload(self, bucket: str, key: str) -> bytes:
        """Body of an SQS extended-client pointer: same allow-list as media."""
        if not media_location_allowed(bucket, key, self._limits):
            raise PermanentError(
                RejectCode.MEDIA_NOT_ALLOWED,
                f"payload pointer s3://{bucket}/{key} is outside the allowed location {allowed_location(self._limits)}",
            )
        try:
            # Extended-client payloads may be far larger than media; SQS allows up to 2 GB.
            return self._reader.read(bucket, key, 64 * 1024 * 1024).data
        except PermanentError as exc:
            if exc.code == RejectCode.MEDIA_NOT_FOUND:
                raise PermanentError(RejectCode.PAYLOAD_NOT_FOUND, exc.message) from None
            raise
