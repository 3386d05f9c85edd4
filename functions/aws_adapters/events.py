"""Events on the stack's EventBridge bus (DESIGN.md section 8), in PutEvents batches of ten."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from messaging import names
from messaging.errors import TransientError, TransientKind

PUT_EVENTS_MAX_ENTRIES = 10


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any, source: str = names.EVENT_SOURCE) -> None:
        self._bus = bus_name
        self._client = client
        self._source = source

    def publish(self, events: list[tuple[str, Mapping[str, Any]]]) -> list[int]:
        """Publish every event; the indexes of the ones EventBridge refused (a failed call refuses its batch)."""
        failed: list[int] = []
        for start in range(0, len(events), PUT_EVENTS_MAX_ENTRIES):
            chunk = events[start : start + PUT_EVENTS_MAX_ENTRIES]
            entries = [
                {
                    "Source": self._source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, separators=(",", ":"), default=str),
                    "EventBusName": self._bus,
                }
                for detail_type, detail in chunk
            ]
            try:
                response = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError):
                failed.extend(range(start, start + len(chunk)))
                continue
            for offset, result in enumerate(response.get("Entries") or []):
                if result.get("ErrorCode"):
                    failed.append(start + offset)
        return failed

    def publish_all(self, events: list[tuple[str, Mapping[str, Any]]]) -> None:
        """Publish every event or raise TransientError (the caller retries the whole record)."""
        failed = self.publish(events)
        if failed:
            raise TransientError(TransientKind.DEPENDENCY, f"EventBridge refused {len(failed)} of {len(events)} events")
