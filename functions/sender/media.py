"""Reading MMS media and offloaded payloads from S3, inside the allowed location only."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from sender.errors import PermanentError, RejectCode, TransientError, TransientKind
from sender.request import allowed_location, media_location_allowed
from sender.settings import Limits

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
DEFAULT_MEDIA_TYPE = "application/octet-stream"
T = TypeVar("T")


CHUNK = 3 * 256 * 1024  # a multiple of 3, so chunks base64-encode with no padding in between


@dataclass(frozen=True)
class S3Object:
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class EncodedMedia:
    base64: bytearray  # ASCII, spliced into the request body without another copy
    size: int
    content_type: str | None


class ObjectReader(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        """The object's bytes; PermanentError when missing or larger than max_bytes."""
        ...

    def read_base64(self, bucket: str, key: str, max_bytes: int) -> EncodedMedia:
        """The object base64-encoded while streaming, so the raw bytes are never held whole."""
        ...


def encode_stream(chunks: Any, size: int, max_bytes: int) -> bytearray:
    """Base64 of a stream of byte chunks into one preallocated buffer."""
    out = bytearray(4 * ((size + 2) // 3))
    carry, written, total = b"", 0, 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise PermanentError(RejectCode.MEDIA_TOO_LARGE, f"object is over {max_bytes} bytes")
        data = carry + chunk if carry else chunk
        cut = len(data) - len(data) % 3
        encoded = base64.b64encode(data[:cut])
        out[written : written + len(encoded)] = encoded
        written += len(encoded)
        carry = data[cut:]
    tail = base64.b64encode(carry)
    out[written : written + len(tail)] = tail
    written += len(tail)
    del out[written:]  # ContentLength was a promise, not a guarantee
    return out


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


class MediaFetcher:
    """Turns MmsS3 references into (base64, mime) pairs within the media byte budget."""

    def __init__(self, reader: ObjectReader, limits: Limits) -> None:
        self._reader = reader
        self._limits = limits

    def fetch_all(self, items: tuple[Any, ...], already_used: int) -> list[tuple[bytearray, str]]:
        budget = self._limits.max_media_bytes - already_used
        fetched: list[tuple[bytearray, str]] = []
        for item in items:
            media = self._reader.read_base64(item.bucket, item.key, max(budget, 0))
            budget -= media.size
            fetched.append((media.base64, item.base_type or media.content_type or DEFAULT_MEDIA_TYPE))
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
