"""Output: Rich tables for people, JSON for scripts (`--json`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


def plain(value: Any) -> Any:
    """DynamoDB values -> JSON-ready Python (Decimal -> int/float, sets -> sorted lists)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def console() -> Console:
    # Created per call so that it writes to the sys.stdout of the moment (CliRunner swaps it).
    # Values come from producers and the vendor: printed as they are, never read as Rich markup
    # ("[/x]" would raise) or emoji codes (":secret:" would become a symbol).
    return Console(highlight=False, soft_wrap=False, width=160, markup=False, emoji=False)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(plain(data), indent=2, sort_keys=False, default=str))


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(plain(cell)) for cell in row))
    console().print(table)


def print_fields(title: str | None, fields: Mapping[str, Any]) -> None:
    """One record as a two-column table (name, value)."""
    print_table(title, ("field", "value"), ((name, value) for name, value in fields.items()))


def say(text: str) -> None:
    console().print(text, markup=False)


def warn(text: str) -> None:
    typer.echo(text, err=True)
