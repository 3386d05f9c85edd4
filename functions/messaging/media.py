"""MMS media and offloaded payloads: the allow-list policy, the media byte budget, streamed base64."""

from __future__ import annotations

import base64
import re
from typing import Any

from messaging.errors import PermanentError, RejectCode
from messaging.names import DLQ_PAYLOAD_PREFIX
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

    def sizes(self, items: tuple[Any, ...], already_used: int) -> list[int]:
        """Each S3 media item's size, checked like `fetch_all` (exists, within the media byte budget) but
        without reading the bytes: what a dry run needs (DESIGN.md section 9)."""
        budget = self._limits.max_media_bytes - already_used
        sizes: list[int] = []
        for item in items:
            size = self._reader.head(item.bucket, item.key).size
            if size > budget:
                raise PermanentError(
                    RejectCode.MEDIA_TOO_LARGE,
                    f"s3://{item.bucket}/{item.key} is {size} bytes; at most {max(budget, 0)} left of "
                    f"{self._limits.max_media_bytes} for the message's media",
                )
            budget -= size
            sizes.append(size)
        return sizes

    def load_payload(self, bucket: str, key: str) -> bytes:
        """Body of an SQS extended-client pointer: under the payload prefix (or our own DLQ offloads),
        and never more than MAX_PAYLOAD_BYTES (bounded by the function's memory)."""
        if not payload_location_allowed(bucket, key, self._limits):
            raise PermanentError(
                RejectCode.MEDIA_NOT_ALLOWED,
                f"payload pointer s3://{bucket}/{key} is outside the allowed locations "
                f"{allowed_payload_locations(self._limits)}",
            )
        try:
            return self._reader.read(bucket, key, self._limits.max_payload_bytes).data
        except PermanentError as exc:
            if exc.code == RejectCode.MEDIA_NOT_FOUND:
                raise PermanentError(RejectCode.PAYLOAD_NOT_FOUND, exc.message) from None
            raise


# Percent-encoded dot, slash and backslash: a key is a name, not a path to be resolved.
_ENCODED_PATH_CHARACTERS = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)


def safe_key(key: str) -> bool:
    """A plain object key: no dot segments (`..`, `.`), no empty segments (`//`, a leading `/`), no
    backslashes, no percent-encoded dots or separators, no control characters. Such a key may be
    normalised somewhere between here and S3 and escape the allowed prefix, so it is refused."""
    if not key or "\\" in key or _ENCODED_PATH_CHARACTERS.search(key):
        return False
    if not key.isprintable():
        return False
    return all(segment not in ("", ".", "..") for segment in key.split("/"))


def _under(bucket: str, key: str, limits: Limits, prefix: str) -> bool:
    return bool(limits.media_bucket) and bucket == limits.media_bucket and key.startswith(prefix) and safe_key(key)


def media_location_allowed(bucket: str, key: str, limits: Limits) -> bool:
    return _under(bucket, key, limits, limits.media_prefix)


def payload_location_allowed(bucket: str, key: str, limits: Limits) -> bool:
    """Extended-client pointers: under PAYLOAD_PREFIX (default MEDIA_PREFIX), or a DLQ copy's body
    that the sender offloaded itself (so a redriven copy is read back)."""
    return _under(bucket, key, limits, limits.payload_location) or _under(bucket, key, limits, DLQ_PAYLOAD_PREFIX)


def allowed_location(limits: Limits) -> str:
    if not limits.media_bucket:
        return "(none configured)"
    return f"s3://{limits.media_bucket}/{limits.media_prefix}*"


def allowed_payload_locations(limits: Limits) -> str:
    if not limits.media_bucket:
        return "(none configured)"
    return f"s3://{limits.media_bucket}/{limits.payload_location}* or s3://{limits.media_bucket}/{DLQ_PAYLOAD_PREFIX}*"
