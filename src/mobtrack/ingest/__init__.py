"""Ingest: one adapter per source format, chosen by `--format` or by sniffing the file.

A new format is one new module here that defines an `Adapter` subclass and decorates it with
`@register`; nothing downstream changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.validate.issue import ImportRejected

ADAPTERS: dict[str, Adapter] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    ADAPTERS[cls.name] = cls()
    return cls


_loaded = False


def _load_builtin_adapters() -> None:
    """Import every module of this package once, so each adapter registers itself (importing one
    adapter directly must not hide the others)."""
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"mobtrack.ingest.{info.name}")
    _loaded = True


def get_adapter(source: SourceFile, fmt: str | None = None) -> Adapter:
    _load_builtin_adapters()
    if fmt:
        if fmt not in ADAPTERS:
            raise ImportRejected(f"unknown format {fmt!r}; known formats: {', '.join(sorted(ADAPTERS))}")
        return ADAPTERS[fmt]
    with open(source.path, "rb") as fh:
        head = fh.read(65536)
    scored = sorted(((a.sniff(source, head), a.name) for a in ADAPTERS.values()), reverse=True)
    if not scored or scored[0][0] <= 0:
        raise ImportRejected(
            f"{source.name}: could not tell which format this file is in; "
            f"choose one with --format ({', '.join(sorted(ADAPTERS))})"
        )
    return ADAPTERS[scored[0][1]]


__all__ = ["ADAPTERS", "Adapter", "Batch", "ImportOptions", "SourceFile", "get_adapter", "register"]
