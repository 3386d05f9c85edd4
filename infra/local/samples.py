"""The sample requests in events/: what producers put on the queue, and what must come of each."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from typing import Any

from infra import REPO_ROOT

EVENTS_DIR = REPO_ROOT / "events"
MEDIA_BUCKET_PLACEHOLDER = "{{MEDIA_BUCKET}}"


@dataclass(frozen=True)
class Sample:
    name: str
    body: str  # exactly what goes on the queue
    wave: int
    request_id: str | None  # None: keyed by the SQS messageId
    status: str | None
    dlq: str | None
    sends: int


def load_samples(media_bucket: str) -> list[Sample]:
    expected: dict[str, Any] = json.loads((EVENTS_DIR / "expected.json").read_text())
    samples = []
    for path in sorted((EVENTS_DIR / "requests").iterdir()):
        outcome = expected[path.stem]
        samples.append(
            Sample(
                name=path.stem,
                body=path.read_text().replace(MEDIA_BUCKET_PLACEHOLDER, media_bucket),
                wave=outcome["wave"],
                request_id=outcome["request_id"],
                status=outcome["status"],
                dlq=outcome["dlq"],
                sends=outcome["sends"],
            )
        )
    missing = set(expected) - {s.name for s in samples} - {"_doc"}
    if missing:
        raise ValueError(f"expected.json names samples with no request file: {sorted(missing)}")
    return samples


def upload_media(s3_client: Any, bucket: str) -> list[str]:
    """Put every file under events/s3/ into the media bucket, keyed by its relative path."""
    root = EVENTS_DIR / "s3"
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3_client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type)
        keys.append(key)
    return keys
