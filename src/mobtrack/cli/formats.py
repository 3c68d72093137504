"""`mobtrack formats`: which source formats exist, and which one a file would be read as."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from mobtrack.cli._common import JsonOption, console, fail, print_json


def _adapters() -> dict:
    from mobtrack.ingest import ADAPTERS, _load_builtin_adapters

    _load_builtin_adapters()
    return ADAPTERS


def _bundled_mappings() -> list[dict]:
    folder = resources.files("mobtrack") / "data" / "mappings"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            text = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            found.append({"name": entry.name, "path": str(entry), "description": text.get("description", "")})
    return found


def register(app: typer.Typer) -> None:
    @app.command("formats")
    def formats_command(
        path: Annotated[Path | None, typer.Argument(help="A file: show how sure each format is that it can read it.")] = None,
        json_out: JsonOption = False,
    ) -> None:
        """List the source formats and bundled column mappings, or say which format a file would be read as.

        Example: mobtrack formats survey.csv
        """
        adapters = _adapters()
        if path is None:
            data = {"formats": [{"name": a.name, "description": a.description} for a in adapters.values()],
                    "mappings": _bundled_mappings()}
            if json_out:
                print_json(data)
                return
            table = Table("--format", "reads")
            for f in data["formats"]:
                table.add_row(f["name"], f["description"])
            console.print(table)
            for m in data["mappings"]:
                console.print(f"bundled mapping: {m['path']}  ({m['description']})")
            return
        if not path.is_file():
            fail(f"no such file: {path}", 2)
        from mobtrack.ingest.base import SourceFile

        source = SourceFile(path=path, name=path.name, sha256="", size=path.stat().st_size)
        with open(path, "rb") as fh:
            head = fh.read(65536)
        scores = sorted(((a.sniff(source, head), a.name) for a in adapters.values()), reverse=True)
        chosen = scores[0][1] if scores and scores[0][0] > 0 else None
        if json_out:
            print_json({"file": path.name, "format": chosen,
                        "scores": [{"format": n, "confidence": round(s, 3)} for s, n in scores]})
        else:
            for s, n in scores:
                console.print(f"{n:14s} {s:.2f}")
            console.print(f"read as: {chosen}" if chosen else "no format recognises it: use --format / --mapping")
        if chosen is None:
            raise typer.Exit(1)
