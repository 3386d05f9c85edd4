"""One webhook call: check the credential, size and method, queue the receipt, answer (DESIGN.md section 8)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from messaging.callback_auth import CallbackCredential
from messaging.receipts import receipt_envelope
from observability import logger

MAX_BODY_BYTES = 64 * 1024
ACCEPTED_METHODS = frozenset({"GET", "POST"})


class Unavailable(Exception):
    """The credential cannot be read or the queue cannot take the receipt: answer 503 so Telegent retries."""


@dataclass
class WebhookDeps:
    credential: Callable[[], CallbackCredential]  # raises Unavailable
    enqueue: Callable[[str], None]  # raises Unavailable
    clock: Callable[[], datetime]


def _reply(status: int, message: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps({"message": message}),
    }


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def handle_call(event: Mapping[str, Any], deps: WebhookDeps) -> dict[str, Any]:
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "").upper()
    try:
        credential = deps.credential()
    except Unavailable:
        logger.error("callback credential unavailable; answering 503")
        return _reply(503, "temporarily unavailable", {"Retry-After": "30"})
    if not credential.accepts(_header(event, "authorization")):
        logger.warning("webhook call without a valid credential", extra={"method": method})
        return _reply(401, "unauthorized", {"WWW-Authenticate": f'{credential.scheme} realm="telegent-sms"'})
    if method not in ACCEPTED_METHODS:
        return _reply(405, "GET or POST only", {"Allow": "GET, POST"})

    raw = event.get("body") or ""
    is_base64 = bool(event.get("isBase64Encoded"))
    try:
        data = base64.b64decode(raw, validate=True) if is_base64 else str(raw).encode()
    except (binascii.Error, ValueError):
        return _reply(400, "body is not valid base64")
    query = str(event.get("rawQueryString") or "")
    if len(data) + len(query.encode()) > MAX_BODY_BYTES:
        logger.warning("webhook call over the size cap", extra={"bytes": len(data)})
        return _reply(413, f"at most {MAX_BODY_BYTES} bytes")
    try:
        body, as_base64 = data.decode("utf-8"), False
    except UnicodeDecodeError:
        body, as_base64 = base64.b64encode(data).decode("ascii"), True
    envelope = receipt_envelope(
        method, _header(event, "content-type"), query, body, deps.clock(), body_base64=as_base64
    )
    try:
        deps.enqueue(envelope)
    except Unavailable:
        logger.error("status queue unavailable; answering 503")
        return _reply(503, "temporarily unavailable", {"Retry-After": "30"})
    logger.info("webhook call queued", extra={"method": method, "bytes": len(data)})
    return _reply(200, "accepted")
