"""The outbound request body, built without copying large media."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any


def json_body(payload: Mapping[str, Any]) -> list[bytes]:
    """JSON as a list of chunks; bytes-like values (base64 media) are spliced in as strings, uncopied.

    A 5 MB MMS would otherwise exist as bytes, base64 str, JSON str and encoded bytes at once.
    """
    marker = uuid.uuid4().hex
    raw: list[bytes | bytearray] = []

    def swap(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            raw.append(value)
            return f"{marker}{len(raw) - 1}"
        if isinstance(value, Mapping):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(payload), separators=(",", ":"))
    chunks: list[bytes] = []
    position = 0
    for index, value in enumerate(raw):
        token = f'"{marker}{index}"'
        found = text.index(token, position)
        chunks += [text[position:found].encode(), b'"', value, b'"']  # type: ignore[list-item]
        position = found + len(token)
    chunks.append(text[position:].encode())
    return chunks
