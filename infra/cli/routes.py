"""`route show|set-callback`: the Telegent message route (DESIGN.md section 8).

Not available yet: the vendor client (functions/telegent) has no message-route calls and the
Telegent sandbox does not model `/message/routes`, so there is nothing to test them against.
The commands exist so that `--help` documents them; they exit 1 with that explanation.
"""

from __future__ import annotations

from typing import Annotated

import typer

from infra.cli.errors import NotAvailable
from infra.cli.options import JsonOption

app = typer.Typer(help="The Telegent message route (not available yet).", no_args_is_help=True)

NOT_YET = (
    "route commands are not available yet: the Telegent client has no /message/routes calls "
    "and the sandbox does not model routes (DESIGN 8); use the Telegent portal meanwhile"
)


@app.command("show")
def show_command(
    route_id: Annotated[str | None, typer.Argument(metavar="[ROUTE_ID]")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the message route (GET /v1.0/message/routes)."""
    raise NotAvailable(NOT_YET)


@app.command("set-callback")
def set_callback_command(
    url: Annotated[str, typer.Argument(metavar="URL")],
    json_output: JsonOption = False,
) -> None:
    """Set the route's CallbackMessageUrl and credential (POST /v1.0/message/routes/update)."""
    raise NotAvailable(NOT_YET)
