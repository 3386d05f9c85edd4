"""The producer's send request (DESIGN.md section 2): parsing, validation and the vendor payload."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from messaging.errors import PermanentError, RejectCode
from messaging.media import allowed_location, media_location_allowed
from messaging.settings import Limits

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MIME_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$")
BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")

TOP_LEVEL_FIELDS = frozenset(
    {"IdempotencyKey", "To", "From", "Owner", "Body", "CampaignId", "MmsMedia", "MmsBase64", "MmsS3"}
)
IDEMPOTENCY_KEY_MAX = 256
CAMPAIGN_ID_MAX = 128


@dataclass(frozen=True)
class InlineMedia:
    base64: str = field(repr=False)
    base_type: str
    size: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.base64.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class S3Media:
    bucket: str
    key: str
    base_type: str | None


@dataclass(frozen=True)
class SendRequest:
    to: tuple[str, ...]
    sender: str
    owner: str
    body: str = field(repr=False)
    campaign_id: str | None = None
    media_urls: tuple[str, ...] = ()
    inline_media: tuple[InlineMedia, ...] = ()
    s3_media: tuple[S3Media, ...] = ()
    idempotency_key: str | None = None

    @property
    def message_type(self) -> str:
        return "mms" if (self.media_urls or self.inline_media or self.s3_media) else "sms"

    @property
    def inline_media_bytes(self) -> int:
        return sum(m.size for m in self.inline_media)

    def fingerprint(self) -> dict[str, Any]:
        """What two requests must share to count as the same one (hashed by the idempotency layer).

        Inline media is represented by its digest so that large payloads are not serialised twice.
        """
        return {
            "To": list(self.to),
            "From": self.sender,
            "Owner": self.owner,
            "Body": self.body,
            "CampaignId": self.campaign_id,
            "MmsMedia": list(self.media_urls),
            "MmsBase64": [{"Sha256": m.digest, "BaseType": m.base_type} for m in self.inline_media],
            "MmsS3": [{"Bucket": m.bucket, "Key": m.key, "BaseType": m.base_type} for m in self.s3_media],
        }

    def vendor_payload(self, fetched_media: list[tuple[bytearray, str]] | None = None) -> dict[str, Any]:
        """The seed's request shape, exactly; S3 media arrive as extra (base64, mime) pairs.

        Fetched base64 stays a bytearray: the client splices it into the body without copying.
        """
        payload: dict[str, Any] = {
            "To": [{"Number": number} for number in self.to],
            "From": self.sender,
            "Owner": self.owner,
            "Body": self.body,
        }
        if self.campaign_id:
            payload["CampaignId"] = self.campaign_id
        if self.media_urls:
            payload["MmsMedia"] = [{"MediaUrl": url} for url in self.media_urls]
        inline: list[dict[str, Any]] = [{"Base64": m.base64, "BaseType": m.base_type} for m in self.inline_media]
        inline += [{"Base64": data, "BaseType": mime} for data, mime in fetched_media or []]
        if inline:
            payload["MmsBase64"] = inline
        return payload


def peek_idempotency_key(data: Any) -> str | None:
    """The producer's key from a request that failed validation, if it is usable as a row key."""
    if isinstance(data, Mapping):
        key = data.get("IdempotencyKey")
        if isinstance(key, str) and _valid_key(key):
            return key
    return None


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= IDEMPOTENCY_KEY_MAX and key.isprintable()


def is_e164(value: Any) -> bool:
    return isinstance(value, str) and bool(E164.match(value))


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _list_of_objects(data: Mapping[str, Any], name: str, allowed: set[str], problems: list[str]) -> list[Mapping]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        problems.append(f"{name} must be an array of objects")
        return []
    for index, item in enumerate(value):
        extra = sorted(set(item) - allowed)
        if extra:
            problems.append(f"{name}[{index}] has unknown field(s): {', '.join(extra)}")
    return value


def parse_send_request(data: Any, limits: Limits) -> SendRequest:
    """Validate a decoded request; raises PermanentError naming every problem found."""
    if not isinstance(data, Mapping):
        raise PermanentError(RejectCode.VALIDATION_ERROR, "the request must be a JSON object")
    problems: list[str] = []

    unknown = sorted(set(data) - TOP_LEVEL_FIELDS)
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}")

    key = data.get("IdempotencyKey")
    if key is not None and not (isinstance(key, str) and _valid_key(key)):
        problems.append(f"IdempotencyKey must be a printable string of 1-{IDEMPOTENCY_KEY_MAX} characters")

    recipients = _list_of_objects(data, "To", {"Number"}, problems)
    if "To" not in data or (isinstance(data.get("To"), list) and not data["To"]):
        problems.append('To is required: an array of {"Number": "+E164"}')
    elif len(recipients) > limits.max_recipients:
        problems.append(
            f"To has {len(recipients)} recipients; at most {limits.max_recipients} per message "
            "(send one message per recipient)"
        )
    for index, item in enumerate(recipients):
        if not is_e164(item.get("Number")):
            problems.append(f"To[{index}].Number must be an E.164 number like +18015551234")

    raw_sender = data.get("From")
    sender = raw_sender if isinstance(raw_sender, str) and is_e164(raw_sender) else ""
    if raw_sender is None:
        problems.append("From is required")
    elif not sender:
        problems.append("From must be an E.164 number like +18015551234")
    raw_owner = data.get("Owner", raw_sender)
    owner = raw_owner if isinstance(raw_owner, str) and is_e164(raw_owner) else ""
    if "Owner" in data and not owner:
        problems.append("Owner must be an E.164 number like +18015551234")

    media_urls = _list_of_objects(data, "MmsMedia", {"MediaUrl"}, problems)
    for index, item in enumerate(media_urls):
        if not _is_url(item.get("MediaUrl")):
            problems.append(f"MmsMedia[{index}].MediaUrl must be an absolute http(s) URL")

    inline: list[InlineMedia] = []
    for index, item in enumerate(_list_of_objects(data, "MmsBase64", {"Base64", "BaseType"}, problems)):
        encoded, mime = item.get("Base64"), item.get("BaseType")
        if not isinstance(encoded, str) or not encoded or len(encoded) % 4 or not BASE64.match(encoded):
            problems.append(f"MmsBase64[{index}].Base64 must be non-empty standard base64")
            continue
        if not isinstance(mime, str) or not MIME_TYPE.match(mime):
            problems.append(f"MmsBase64[{index}].BaseType must be a MIME type like image/png")
            continue
        inline.append(InlineMedia(encoded, mime, len(encoded) // 4 * 3 - (len(encoded) - len(encoded.rstrip("=")))))

    s3_media: list[S3Media] = []
    for index, item in enumerate(_list_of_objects(data, "MmsS3", {"Bucket", "Key", "BaseType"}, problems)):
        bucket, object_key, mime = item.get("Bucket"), item.get("Key"), item.get("BaseType")
        if not isinstance(bucket, str) or not bucket or not isinstance(object_key, str) or not object_key:
            problems.append(f"MmsS3[{index}] needs Bucket and Key strings")
            continue
        if mime is not None and not (isinstance(mime, str) and MIME_TYPE.match(mime)):
            problems.append(f"MmsS3[{index}].BaseType must be a MIME type like video/mp4")
            continue
        s3_media.append(S3Media(bucket, object_key, mime))

    media_count = len(media_urls) + len(data.get("MmsBase64") or []) + len(data.get("MmsS3") or [])
    if media_count > limits.max_media_items:
        problems.append(f"{media_count} media items; at most {limits.max_media_items}")

    raw_body = data.get("Body")
    body = raw_body if isinstance(raw_body, str) else ""
    if raw_body is None:
        problems.append("Body is required")
    elif not isinstance(raw_body, str):
        problems.append("Body must be a string")
    elif not body.strip():
        # The vendor requires Body even for MMS (seed: required To, From, Body).
        problems.append("Body must not be empty")
    elif len(body) > limits.body_max_chars:
        problems.append(f"Body has {len(body)} characters; at most {limits.body_max_chars}")

    campaign = data.get("CampaignId")
    if campaign is not None and not (isinstance(campaign, str) and 0 < len(campaign) <= CAMPAIGN_ID_MAX):
        problems.append(f"CampaignId must be a string of 1-{CAMPAIGN_ID_MAX} characters")

    if problems:
        raise PermanentError(RejectCode.VALIDATION_ERROR, "; ".join(problems))

    for index, media in enumerate(s3_media):
        if not media_location_allowed(media.bucket, media.key, limits):
            raise PermanentError(
                RejectCode.MEDIA_NOT_ALLOWED,
                f"MmsS3[{index}] s3://{media.bucket}/{media.key} is outside the allowed media location "
                f"{allowed_location(limits)}",
            )
    inline_bytes = sum(m.size for m in inline)
    if inline_bytes > limits.max_media_bytes:
        raise PermanentError(
            RejectCode.MEDIA_TOO_LARGE, f"inline media is {inline_bytes} bytes; at most {limits.max_media_bytes}"
        )

    return SendRequest(
        to=tuple(item["Number"] for item in recipients),
        sender=sender,
        owner=owner,
        body=body,
        campaign_id=campaign,
        media_urls=tuple(item["MediaUrl"] for item in media_urls),
        inline_media=tuple(inline),
        s3_media=tuple(s3_media),
        idempotency_key=key,
    )
