"""What every command shares: the stack context in ctx.obj and the `--json` switch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from infra.cli.stack import StackContext

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]


@dataclass
class CliState:
    stack: StackContext
    json: bool = False


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("the root callback did not run")
    return obj


def context(ctx: typer.Context) -> StackContext:
    return state(ctx).stack


def wants_json(ctx: typer.Context, flag: bool) -> bool:
    return flag or state(ctx).json
