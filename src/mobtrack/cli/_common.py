"""Options and output helpers shared by every command."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL or SQLite file path (default: $MOBTRACK_DATABASE_URL or ./mobtrack.db)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]

# Human output goes to stderr when --json is on, so stdout stays parseable.
console = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    sys.stdout.write("\n")


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)
