"""The `mobtrack` command line: a thin layer over the library.

Each module in this package adds its commands with `register(app)`, so a stage's commands
live next to nothing but themselves (cli/imports.py, cli/gazetteer.py, cli/forecast.py...).
Every command takes `--db` and `--json`; usage errors exit 2, rejected work exits 1.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import typer

app = typer.Typer(
    name="mobtrack",
    help="Displacement and mobility tracking: import rounds, match p-codes, validate, store, roll up, publish.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"mobtrack.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    from mobtrack.cli._common import console
    from mobtrack.store.db import SchemaTooNew

    try:
        app()
    except SchemaTooNew as exc:  # any command can meet it; a traceback would hide the one line that matters
        console.print(f"[red]error:[/red] {exc}")
        raise SystemExit(1) from None
