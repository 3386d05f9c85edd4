"""The credential Telegent presents on our route webhook (DESIGN.md section 8): Basic or Bearer.

Pure: the secret's value comes in, a yes/no goes out; comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class CallbackSecretError(ValueError):
    """The secret has neither {"Username", "Password"} nor {"Token"}; the message never quotes it."""


@dataclass(frozen=True)
class CallbackCredential:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_secret(cls, value: Any) -> CallbackCredential:
        if not isinstance(value, Mapping):
            raise CallbackSecretError("the callback secret is not a JSON object")
        username, password, token = value.get("Username"), value.get("Password"), value.get("Token")
        if isinstance(token, str) and token:
            return cls(token=token)
        if isinstance(username, str) and username and isinstance(password, str) and password:
            return cls(username=username, password=password)
        raise CallbackSecretError('the callback secret needs {"Username", "Password"} or {"Token"}')

    @property
    def scheme(self) -> str:
        return "Bearer" if self.token is not None else "Basic"

    def accepts(self, authorization: str | None) -> bool:
        """True when the Authorization header carries exactly this credential."""
        if not authorization:
            return False
        scheme, _, presented = authorization.strip().partition(" ")
        presented = presented.strip()
        if scheme.lower() != self.scheme.lower() or not presented:
            return False
        if self.token is not None:
            return hmac.compare_digest(presented.encode(), self.token.encode())
        try:
            decoded = base64.b64decode(presented, validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        # Both compared, always, so the time taken does not tell which one was wrong.
        user_ok = hmac.compare_digest(user, (self.username or "").encode())
        password_ok = hmac.compare_digest(password, (self.password or "").encode())
        return bool(sep) and user_ok and password_ok
