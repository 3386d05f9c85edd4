"""The `telegent-sms` console script: the root command, global options, and how errors exit.

Typer (on Click) gives typed options, `--help` for free and an in-process test runner; Rich
prints the tables and the redrive progress.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from typer.core import TyperGroup

from infra.cli import dlq, optout, routes, schedules, send, stats, status
from infra.cli.errors import EXIT_FAILED, CliError
from infra.cli.options import CliState, JsonOption
from infra.cli.stack import ENV_STACK, StackContext, default_stack_name, translate


class OperatorGroup(TyperGroup):
    """Expected failures end as one line on stderr and exit 1 (or 2 for bad usage), never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (BotoCoreError, ClientError) as exc:
            typer.echo(f"error: {translate(exc, 'an AWS call').message}", err=True)
            raise typer.Exit(EXIT_FAILED) from None


app = typer.Typer(
    name="telegent-sms",
    cls=OperatorGroup,
    help="Operate the telegent-sms relay: send, look up, redrive, cancel, opt out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    stack: Annotated[
        str | None,
        typer.Option("--stack", help=f"CloudFormation stack name (default: ${ENV_STACK} or TelegentSms)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Operate the telegent-sms relay. AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL apply as usual."""
    existing = ctx.obj
    if isinstance(existing, StackContext):  # tests hand in a prepared context
        if stack:
            existing.stack_name = stack
        ctx.obj = CliState(existing, json_output)
    else:
        ctx.obj = CliState(StackContext(stack or default_stack_name()), json_output)


app.command("send")(send.command)
app.command("status")(status.command)
app.command("stats")(stats.command)
app.add_typer(dlq.app, name="dlq")
app.add_typer(schedules.app, name="schedule")
app.add_typer(optout.app, name="optout")
app.add_typer(routes.app, name="route")


def main() -> None:
    app()
