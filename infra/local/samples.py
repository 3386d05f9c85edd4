"""The sample requests in events/: what producers put on the queue, and what must come of each."""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra import REPO_ROOT

EVENTS_DIR = REPO_ROOT / "events"
MEDIA_BUCKET_PLACEHOLDER = "{{MEDIA_BUCKET}}"
# {{NOW+5s}}, {{NOW-1h}}, {{NOW+30d}}: when the samples are loaded, moved by that much (send-time options).
TIME_PLACEHOLDER = re.compile(r"\{\{NOW([+-])(\d+)([smhd])\}\}")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Sample:
    name: str
    body: str  # exactly what goes on the queue
    wave: int
    request_id: str | None  # None: keyed by the SQS messageId
    status: str | None
    dlq: str | None
    sends: int
    encoding: str | None = None  # the row's Encoding, when the sample is about it
    segments: int | None = None  # the row's Segments, likewise


def with_times(text: str, now: datetime) -> str:
    """The text with each {{NOW±<n><s|m|h|d>}} replaced by that moment in ISO 8601 UTC."""

    def moment(match: re.Match[str]) -> str:
        delta = timedelta(**{_UNITS[match[3]]: int(match[2])})
        when = now + delta if match[1] == "+" else now - delta
        return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    return TIME_PLACEHOLDER.sub(moment, text)


def load_samples(media_bucket: str, now: datetime | None = None) -> list[Sample]:
    expected: dict[str, Any] = json.loads((EVENTS_DIR / "expected.json").read_text())
    now = now or datetime.now(UTC)
    samples = []
    for path in sorted((EVENTS_DIR / "requests").iterdir()):
        outcome = expected[path.stem]
        samples.append(
            Sample(
                name=path.stem,
                body=with_times(path.read_text().replace(MEDIA_BUCKET_PLACEHOLDER, media_bucket), now),
                wave=outcome["wave"],
                request_id=outcome["request_id"],
                status=outcome["status"],
                dlq=outcome["dlq"],
                sends=outcome["sends"],
                encoding=outcome.get("encoding"),
                segments=outcome.get("segments"),
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
