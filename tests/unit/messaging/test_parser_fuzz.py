"""Pure fuzz of unwrap + parse_send_request: thousands of hostile bodies, seeded.

Asserts the parser's contract (issue 8, defects 3 and 4): whatever the body, the only exception
is PermanentError, with a bounded reason; and whatever it accepts passes independent checks of
the vendor schema (tests/fuzz_bodies.py, written apart from messaging.checks).
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from messaging.envelopes import unwrap
from messaging.errors import PermanentError, RejectCode
from messaging.media import MediaFetcher
from messaging.ports import S3Object
from messaging.request import IDEMPOTENCY_KEY_MAX, SendRequest, parse_send_request
from messaging.settings import Limits
from tests.fuzz_bodies import BodyFuzzer, payload_objects, vendor_payload_problems
from tests.unit.fakes import FakeObjects

MEDIA_BUCKET = "media-bucket"
LIMITS = Limits(media_bucket=MEDIA_BUCKET, media_prefix="mms/")
SEEDS = (1, 2, 3, 5, 8, 13, 21, 34)
BODIES_PER_SEED = 400


def loader() -> MediaFetcher:
    objects = FakeObjects()
    for key, data in payload_objects(MEDIA_BUCKET).items():
        objects.objects[MEDIA_BUCKET, key] = S3Object(data, "application/json")
    return MediaFetcher(objects, LIMITS)


def accepted_problems(request: SendRequest) -> list[str]:
    """Independent re-validation of what the parser accepted."""
    problems = vendor_payload_problems(request.vendor_payload(), LIMITS.body_max_chars)
    for media in request.inline_media:
        if len(base64.b64decode(media.base64, validate=True)) != media.size:
            problems.append("inline media size is not the decoded length")
    for item in request.s3_media:
        if item.bucket != MEDIA_BUCKET or not item.key.startswith("mms/") or not item.key.isprintable():
            problems.append("S3 media outside the allowed location or with an unprintable key")
    key = request.idempotency_key
    if key is not None and not (0 < len(key) <= IDEMPOTENCY_KEY_MAX and key.isprintable()):
        problems.append("IdempotencyKey is not printable text of 1-256 characters")
    if len(request.to) > LIMITS.max_recipients:
        problems.append("more recipients than allowed")
    return problems


def attempt(parse: Callable[..., SendRequest], *args: Any) -> SendRequest | PermanentError:
    """The request, or the PermanentError; any other exception propagates and fails the test."""
    try:
        return parse(*args)
    except PermanentError as error:
        return error


def parse_body(body: str, fetcher: MediaFetcher) -> SendRequest:
    return parse_send_request(unwrap(body, fetcher.load_payload).request, LIMITS)


def check_refusal(error: PermanentError, where: str) -> str:
    assert error.code in set(RejectCode), where
    assert 0 < len(error.message) < 2500, where
    return error.code


@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_bodies_give_a_request_or_a_permanent_error_only(seed: int) -> None:
    fetcher = loader()
    outcomes: Counter[str] = Counter()
    for index, body in enumerate(BodyFuzzer(seed, MEDIA_BUCKET).bodies(BODIES_PER_SEED)):
        where = f"seed {seed} body {index}: {body[:200]!r}"
        result = attempt(parse_body, body, fetcher)
        if isinstance(result, PermanentError):
            outcomes[check_refusal(result, where)] += 1
        else:
            outcomes["accepted"] += 1
            assert accepted_problems(result) == [], where
    # The generator is not degenerate: it produces sends and each kind of refusal.
    assert outcomes["accepted"] >= BODIES_PER_SEED // 10, outcomes
    assert outcomes[RejectCode.VALIDATION_ERROR] >= BODIES_PER_SEED // 5, outcomes
    assert outcomes[RejectCode.INVALID_JSON] >= BODIES_PER_SEED // 20, outcomes
    assert outcomes[RejectCode.UNKNOWN_ENVELOPE] > 0, outcomes


@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_values_given_to_the_parser_directly(seed: int) -> None:
    """Decoded values the JSON decoder now refuses (NaN, lone surrogates, huge numbers) still reach
    parse_send_request from other callers (the CLI): it must stay total on them too."""
    fuzzer = BodyFuzzer(seed, MEDIA_BUCKET)
    outcomes: Counter[str] = Counter()
    for index in range(BODIES_PER_SEED):
        data: Any = fuzzer.mutated_request() if index % 4 else fuzzer.hostile_value()
        where = f"seed {seed} case {index}: {data!r:.200}"
        result = attempt(parse_send_request, data, LIMITS)
        if isinstance(result, PermanentError):
            outcomes[check_refusal(result, where)] += 1
        else:
            outcomes["accepted"] += 1
            assert accepted_problems(result) == [], where
    assert outcomes[RejectCode.VALIDATION_ERROR] >= BODIES_PER_SEED // 2, outcomes
    assert outcomes["accepted"] > 0, outcomes
