"""MMS media and offloaded payloads: the allow-list policy, the media byte budget, streamed base64."""

from __future__ import annotations

import base64
from typing import Any

from messaging.errors import PermanentError, RejectCode
from messaging.ports import ObjectReader
from messaging.settings import Limits

DEFAULT_MEDIA_TYPE = "application/octet-stream"


CHUNK = 3 * 256 * 1024  # a multiple of 3, so chunks base64-encode with no padding in between


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


def media_location_allowed(bucket: str, key: str, limits: Limits) -> bool:
    return bool(limits.media_bucket) and bucket == limits.media_bucket and key.startswith(limits.media_prefix)


def allowed_location(limits: Limits) -> str:
    if not limits.media_bucket:
        return "(none configured)"
    return f"s3://{limits.media_bucket}/{limits.media_prefix}*"
