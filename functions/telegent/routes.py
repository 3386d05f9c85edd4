"""Telegent message routes (telegent-api.md section 5): where Telegent calls us, read and changed.

A route holds the inbound `MessageUrl` and the delivery-receipt `CallbackMessageUrl`, each with
an authentication type (`None`, `Basic`, `Bearer`), a username and a password or token. The calls
go through the vendor client (a token scoped to each bare endpoint URL, cached per URL like every
other scope):

- `POST /v1.0/message/routes` creates one, `GET /v1.0/message/routes?MessageRouteId=` reads one,
- `POST /v1.0/message/routes/update` takes `MessageRouteId` plus the fields to change (the
  vendor's update body is not published: only the changed fields are sent),
- `GET /v1.0/account/message/routes` lists the account's routes (shape not published: a JSON
  array, or one wrapped in `Data`/`Routes`/`Results`, is accepted).

Answers are read tolerantly (field names in any case, flat or wrapped in `Data`). Passwords and
tokens are never kept from an answer, even when a vendor echoes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from messaging.callback_auth import CallbackCredential
from messaging.errors import PermanentError, TransientError, TransientKind
from telegent.client import TelegentClient, VendorAnswer
from telegent.reading import ci_get, unwrap_data

ROUTES_PATH = "message/routes"
ROUTES_UPDATE_PATH = "message/routes/update"
ACCOUNT_ROUTES_PATH = "account/message/routes"
ROUTE_ID = "MessageRouteId"
# Never kept from an answer, whatever the case of the name.
SECRET_FIELDS = frozenset({"messagepasswordtoken", "callbackmessagepasswordtoken"})
_LIST_FIELDS = ("Routes", "MessageRoutes", "Results", "Items", "Data")


def callback_fields(url: str, credential: CallbackCredential | None, method: str = "POST") -> dict[str, Any]:
    """The route fields that send delivery receipts to `url` with `credential` (None: no authentication)."""
    fields: dict[str, Any] = {"CallbackMessageUrl": url, "CallbackMessageUrlMethod": method}
    if credential is None:
        fields["CallbackMessageAuthenticationType"] = "None"
    elif credential.token is not None:
        fields.update(CallbackMessageAuthenticationType="Bearer", CallbackMessagePasswordToken=credential.token)
    else:
        fields.update(
            CallbackMessageAuthenticationType="Basic",
            CallbackMessageUsername=credential.username,
            CallbackMessagePasswordToken=credential.password,
        )
    return fields


def without_secrets(route: Mapping[str, Any]) -> dict[str, Any]:
    return {str(name): value for name, value in route.items() if str(name).lower() not in SECRET_FIELDS}


class MessageRoutes:
    def __init__(self, client: TelegentClient) -> None:
        self._client = client

    def list(self) -> list[dict[str, Any]]:
        """Every route of the account (GET /account/message/routes)."""
        answer = self._client.call("account_routes", "GET", ACCOUNT_ROUTES_PATH)
        self._check(answer, "listing the message routes")
        routes = _route_list(answer.data)
        if routes is None:
            raise TransientError(TransientKind.UNAVAILABLE, "unreadable answer listing the message routes")
        return routes

    def get(self, route_id: str) -> dict[str, Any] | None:
        """One route (GET /message/routes?MessageRouteId=), None when Telegent does not know it (404)."""
        answer = self._client.call("routes", "GET", ROUTES_PATH, query={ROUTE_ID: route_id})
        if answer.status == 404:
            return None
        self._check(answer, f"reading message route {route_id}")
        return self._route(answer, f"reading message route {route_id}")

    def update(self, route_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some fields of a route (POST /message/routes/update); the route as Telegent answers it."""
        answer = self._client.call("routes_update", "POST", ROUTES_UPDATE_PATH, payload={ROUTE_ID: route_id, **changes})
        self._check(answer, f"updating message route {route_id}")
        return self._route(answer, f"updating message route {route_id}")

    def create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A new route (POST /message/routes); the route as Telegent answers it, with its MessageRouteId."""
        answer = self._client.call("routes", "POST", ROUTES_PATH, payload=fields)
        self._check(answer, "creating a message route")
        return self._route(answer, "creating a message route")

    @staticmethod
    def _check(answer: VendorAnswer, what: str) -> None:
        if 200 <= answer.status < 300:
            return
        if answer.status == 429:
            raise TransientError(TransientKind.THROTTLED, f"{what}: HTTP 429: {answer.error}")
        if 400 <= answer.status < 500 and answer.status != 408:
            raise PermanentError(str(answer.status), f"{what}: HTTP {answer.status}: {answer.error}")
        raise TransientError(TransientKind.UNAVAILABLE, f"{what}: HTTP {answer.status}: {answer.error}")

    @staticmethod
    def _route(answer: VendorAnswer, what: str) -> dict[str, Any]:
        route = unwrap_data(answer.data)
        if not isinstance(route, Mapping) or not ci_get(route, ROUTE_ID):
            raise TransientError(TransientKind.UNAVAILABLE, f"{what}: the answer holds no {ROUTE_ID}")
        return without_secrets(route)


def _route_list(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, Mapping):
        inner = next((ci_get(data, name) for name in _LIST_FIELDS if isinstance(ci_get(data, name), list)), None)
        if inner is None:
            return None
        data = inner
    if not isinstance(data, list):
        return None
    return [without_secrets(route) for route in data if isinstance(route, Mapping)]
