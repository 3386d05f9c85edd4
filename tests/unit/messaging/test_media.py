"""Media policy: the S3 allow-list and the streamed base64 encoder."""

import base64

import pytest

from messaging.errors import PermanentError
from messaging.media import CHUNK, allowed_location, encode_stream, media_location_allowed
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
