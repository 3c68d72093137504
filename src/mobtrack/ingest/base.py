"""What every ingest adapter implements, and the options an import takes.

An adapter turns one source file into canonical records (mobtrack.model.records) in batches,
plus the issues it met while reading (file, sheet, row, column, reason). It never touches the
database and never drops a row silently: a row it cannot use becomes an issue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ClassVar

import polars as pl

from mobtrack.validate.issue import Issue


@dataclass
class ImportOptions:
    """Things the user may tell an import that the file does not say (or says wrongly)."""

    format: str | None = None
    operation: str | None = None
    country_iso3: str | None = None
    assessment_type: str | None = None
    round_number: int | None = None
    reporting_date: date | None = None
    mapping: Path | None = None  # YAML column mapping (mapping adapter)
    sheet: str | None = None
    batch_rows: int = 250_000


@dataclass
class SourceFile:
    path: Path
    name: str
    sha256: str
    size: int

    @classmethod
    def from_path(cls, path: Path) -> SourceFile:
        sha256, size = file_digest(path)
        return cls(path=path, name=path.name, sha256=sha256, size=size)


def file_digest(path: Path) -> tuple[str, int]:
    """A file's sha256 (hex) and size, read in 1 MB chunks (hashlib releases the GIL for each)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass
class Batch:
    records: pl.DataFrame  # canonical columns (use model.conform)
    issues: list[Issue] = field(default_factory=list)
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "read sheet 'IDP Data' (3 sheets)"


class Adapter:
    """Base class. Subclasses set `name`, implement `sniff` and `read`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def sniff(self, source: SourceFile, head: bytes) -> float:
        """How sure this adapter is that it can read the file, 0 to 1, from its name and first bytes."""
        raise NotImplementedError

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        raise NotImplementedError
