"""`route show|set-callback`: the Telegent message route that sends us delivery receipts (DESIGN.md section 8).

Both call Telegent with the stack's vendor credentials at the sender's base URL (infra.cli.vendor):
`GET /v1.0/account/message/routes` or `GET /v1.0/message/routes?MessageRouteId=`, and
`POST /v1.0/message/routes/update` with only the callback fields.

`set-callback` points the route's `CallbackMessageUrl` at the stack's webhook (`WebhookUrl` output,
or a URL given) with the stack's callback credential (`CallbackSecretArn` output: `{"Username",
"Password"}` is Basic, `{"Token"}` is Bearer), the one the webhook checks. Passwords and tokens are
never printed: Telegent does not echo them and the command shows only the user name and the type.
Routes are attached to numbers when they are provisioned, so the command never creates one: the
account must have a route, and with several, `--route` picks it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from infra.cli import render, vendor
from infra.cli.errors import NotFound, UsageError
from infra.cli.options import JsonOption, context, wants_json
from infra.cli.stack import OUTPUT_CALLBACK_SECRET_ARN, OUTPUT_WEBHOOK_URL, StackContext
from messaging.callback_auth import CallbackCredential
from telegent.reading import ci_get
from telegent.routes import ROUTE_ID, callback_fields

app = typer.Typer(help="The Telegent message route: where delivery receipts go.", no_args_is_help=True)

# The order an operator reads a route in; anything else follows.
FIELD_ORDER = (
    "MessageRouteId",
    "RouteName",
    "MessageRouteEnabled",
    "CallbackMessageUrl",
    "CallbackMessageUrlMethod",
    "CallbackMessageAuthenticationType",
    "CallbackMessageUsername",
    "OutboundBypass",
    "MessageUrl",
    "MessageUrlMethod",
    "MessageAuthenticationType",
    "MessageUsername",
    "InboundBypass",
    "IntelligentRouteEnabled",
    "AccountId",
)
METHODS = ("POST", "GET")


def ordered(route: dict[str, Any]) -> dict[str, Any]:
    first = {name: route[name] for name in FIELD_ORDER if name in route}
    return {**first, **{name: value for name, value in sorted(route.items()) if name not in first}}


def route_id_of(route: dict[str, Any]) -> str:
    return str(ci_get(route, ROUTE_ID))


def account_routes(stack: StackContext) -> list[dict[str, Any]]:
    return vendor.call(stack, lambda: vendor.routes(stack).list())


def one_route(stack: StackContext, route_id: str | None) -> dict[str, Any]:
    """The route named, else the account's only route; NotFound / UsageError otherwise."""
    if route_id:
        found = vendor.call(stack, lambda: vendor.routes(stack).get(route_id))
        if found is None:
            raise NotFound(f"Telegent ({vendor.base_url(stack)}) has no message route {route_id!r}")
        return found
    routes = account_routes(stack)
    if not routes:
        raise NotFound(
            f"the Telegent account ({vendor.base_url(stack)}) has no message route: routes are created "
            "with your numbers (Telegent portal or POST /v1.0/message/routes)"
        )
    if len(routes) > 1:
        ids = ", ".join(route_id_of(route) for route in routes)
        raise UsageError(f"the account has {len(routes)} message routes ({ids}): pick one with --route")
    return routes[0]


RouteOption = Annotated[
    str | None, typer.Option("--route", metavar="ROUTE_ID", help="The MessageRouteId (default: the only one).")
]


@app.command("show")
def show_command(
    ctx: typer.Context,
    route_id: Annotated[
        str | None, typer.Argument(metavar="[ROUTE_ID]", help="One route; without it, every route of the account.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the message route(s): where receipts and inbound messages go, and how they authenticate."""
    stack = context(ctx)
    routes = [one_route(stack, route_id)] if route_id else account_routes(stack)
    if not routes:
        raise NotFound(f"the Telegent account ({vendor.base_url(stack)}) has no message route")
    shown = [ordered(render.plain(route)) for route in routes]
    if wants_json(ctx, json_output):
        render.print_json(shown[0] if route_id else shown)
        return
    webhook = stack.optional_output(OUTPUT_WEBHOOK_URL)
    for route in shown:
        render.print_fields(f"message route {route.get(ROUTE_ID)}", route)
        if webhook and route.get("CallbackMessageUrl") != webhook:
            render.say(f"receipts do not go to this stack's webhook ({webhook}): see `route set-callback`")


@app.command("set-callback")
def set_callback_command(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Argument(metavar="[URL]", help="Where receipts go (default: the stack's WebhookUrl output)."),
    ] = None,
    route_id: RouteOption = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret", metavar="SECRET_ID", help="Callback credential secret (default: the CallbackSecretArn output)."
        ),
    ] = None,
    method: Annotated[str, typer.Option("--method", help="How Telegent calls the URL: POST or GET.")] = "POST",
    json_output: JsonOption = False,
) -> None:
    """Point the route's receipts (CallbackMessageUrl) at the webhook, with the stack's callback credential."""
    if method.upper() not in METHODS:
        raise UsageError(f"--method must be POST or GET, got {method!r}")
    if url is not None and not url.lower().startswith(("https://", "http://")):
        raise UsageError(f"URL must be an absolute http(s) URL, got {url!r}")
    stack = context(ctx)
    target = url or stack.output(OUTPUT_WEBHOOK_URL, needed_for="the default callback URL")
    secret_id = secret or stack.output(OUTPUT_CALLBACK_SECRET_ARN, needed_for="the callback credential")
    credential: CallbackCredential = vendor.callback_credential(stack, secret_id)
    current = one_route(stack, route_id)
    current_id = route_id_of(current)
    changes = callback_fields(target, credential, method.upper())
    updated = vendor.call(stack, lambda: vendor.routes(stack).update(current_id, changes))
    shown = ordered(render.plain(updated))
    if wants_json(ctx, json_output):
        render.print_json(shown)
        return
    who = f" as {credential.username}" if credential.username else ""
    render.say(f"route {current_id}: receipts now go to {target} ({credential.scheme}{who}, from {secret_id})")
    render.print_fields(f"message route {current_id}", shown)
    if shown.get("OutboundBypass") is True:
        render.say("OutboundBypass is true: Telegent sends no delivery receipts on this route while it is")
