"""Media policy: the S3 allow-list and the streamed base64 encoder."""

import base64

import pytest

from messaging.errors import PermanentError
from messaging.media import (
    CHUNK,
    MediaFetcher,
    allowed_location,
    allowed_payload_locations,
    encode_stream,
    media_location_allowed,
    payload_location_allowed,
    safe_key,
)
from messaging.ports import EncodedMedia, S3Object
from messaging.settings import Limits


@pytest.mark.parametrize("size", [0, 1, 2, 3, 786_431, 786_432, 786_433, 2_000_000])
def test_streamed_base64_matches_the_standard_encoding(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    chunks = [data[i : i + CHUNK - 7] for i in range(0, len(data), CHUNK - 7)]  # odd-sized chunks
    assert bytes(encode_stream(chunks, size, max_bytes=size)) == base64.b64encode(data)


def test_streamed_base64_refuses_more_than_announced_limit() -> None:
    with pytest.raises(PermanentError):
        encode_stream([b"x" * 10, b"x" * 10], 10, max_bytes=15)


LIMITS = Limits(media_bucket="media", media_prefix="mms/")


@pytest.mark.parametrize(
    ("bucket", "key", "allowed"),
    [
        ("media", "mms/a.png", True),
        ("media", "other/a.png", False),
        ("elsewhere", "mms/a.png", False),
    ],
)
def test_only_the_configured_bucket_and_prefix_are_readable(bucket: str, key: str, allowed: bool) -> None:
    assert media_location_allowed(bucket, key, LIMITS) is allowed


def test_without_a_media_bucket_nothing_is_readable() -> None:
    assert not media_location_allowed("media", "mms/a.png", Limits())
    assert allowed_location(Limits()) == "(none configured)"
    assert allowed_location(LIMITS) == "s3://media/mms/*"


# ---------------------------------------------------------------- keys and payload pointers (issue 8, defect 10)


@pytest.mark.parametrize(
    "key",
    [
        "mms/../x",
        "mms/../../etc/passwd",
        "mms/./a.png",
        "mms/a/..",
        "mms//a.png",
        "mms/%2e%2e/x",
        "mms/%2E%2E/x",
        "mms/a%2fb",
        "mms/a%5Cb",
        "mms\\..\\x",
        "mms/a\\b.png",
        "mms/a\x00.png",
        "mms/a\n.png",
        "mms/",
    ],
)
def test_keys_with_dot_segments_or_encoded_separators_are_refused(key: str) -> None:
    assert not safe_key(key)
    assert not media_location_allowed("media", key, LIMITS)
    assert not payload_location_allowed("media", key, LIMITS)


@pytest.mark.parametrize("key", ["mms/a.png", "mms/2026/12/clip.v2.mp4", "mms/..a.png", "mms/a..png", "mms/café.png"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert safe_key(key)
    assert media_location_allowed("media", key, LIMITS)


def test_payload_pointers_may_point_under_the_payload_prefix_or_at_our_dlq_offloads() -> None:
    assert payload_location_allowed("media", "mms/payloads/p.json", LIMITS)  # default: the media prefix
    assert payload_location_allowed("media", "dlq-payloads/abc.json", LIMITS)  # a redriven DLQ copy
    assert not payload_location_allowed("media", "3f2a-uuid", LIMITS)  # the bucket root is not allowed by default
    assert not media_location_allowed("media", "dlq-payloads/abc.json", LIMITS)  # never as MMS media
    assert not payload_location_allowed("elsewhere", "dlq-payloads/abc.json", LIMITS)
    root = Limits(media_bucket="media", media_prefix="mms/", payload_prefix="")
    assert payload_location_allowed("media", "3f2a-uuid", root)  # the stock Extended Client's keys
    assert not payload_location_allowed("media", "../3f2a-uuid", root)
    assert not media_location_allowed("media", "3f2a-uuid", root)
    assert allowed_payload_locations(LIMITS) == "s3://media/mms/* or s3://media/dlq-payloads/*"


class RecordingReader:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str, int]] = []

    def read(self, bucket: str, key: str, max_bytes: int) -> S3Object:
        self.reads.append((bucket, key, max_bytes))
        return S3Object(b"{}", "application/json")

    def read_base64(self, bucket: str, key: str, max_bytes: int) -> EncodedMedia:
        raise AssertionError("not used")


def test_payloads_are_read_within_max_payload_bytes_and_dot_segments_are_never_read() -> None:
    reader = RecordingReader()
    fetcher = MediaFetcher(reader, Limits(media_bucket="media", media_prefix="mms/", max_payload_bytes=12345))
    assert fetcher.load_payload("media", "mms/p.json") == b"{}"
    assert reader.reads == [("media", "mms/p.json", 12345)]
    with pytest.raises(PermanentError) as refused:
        fetcher.load_payload("media", "mms/../secret.json")
    assert refused.value.code == "MEDIA_NOT_ALLOWED"
    assert len(reader.reads) == 1
