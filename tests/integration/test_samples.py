"""Every sample in events/ ends as events/expected.json says (the same flow `make demo` shows)."""

import base64

import pytest

from infra.local.demo_report import match_outcomes, send_waves
from infra.local.samples import EVENTS_DIR, load_samples, upload_media
from tests.integration.helpers import Stack

pytestmark = pytest.mark.integration


def test_every_sample_ends_as_expected(stack: Stack) -> None:
    world = stack.world
    stack.configure(SMART_ENCODING="true")  # as the demos run them (events/expected.json)
    upload_media(world.client("s3"), world.media_bucket)
    samples = load_samples(world.media_bucket)
    assert len(samples) >= 22
    ids = send_waves(samples, world.send_bodies, stack.drain)
    outcomes = match_outcomes(samples, ids, world.result_rows(), world.dlq_messages())
    assert [(o.sample.name, o.problems) for o in outcomes if o.problems] == []
    # Vendor sends: exactly one per sample that expects one (duplicates and rejections send nothing).
    assert len(stack.outbound()) == sum(s.sends for s in samples)
    # Media from S3 went out byte-exact as base64.
    sent_media = [m["request"]["MmsBase64"][0]["Base64"] for m in stack.outbound() if m["request"].get("MmsBase64")]
    assert base64.b64encode((EVENTS_DIR / "s3/mms/boarding-pass.png").read_bytes()).decode() in sent_media
