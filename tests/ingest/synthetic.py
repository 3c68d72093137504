"""Small synthetic source files for the ingest tests (no real data: everything is made up here)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl

from mobtrack.ingest import _load_builtin_adapters, get_adapter
from mobtrack.ingest.base import ImportOptions, SourceFile


def write_xlsx(path: Path, sheets: dict[str, list[list]], *, start_row: int = 1, start_col: int = 1) -> Path:
    """A workbook with one sheet per entry; rows written from (start_row, start_col)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.cell(row=start_row + r, column=start_col + c, value=value)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", sep: str = ",") -> Path:
    def cell(v) -> str:
        text = "" if v is None else str(v)
        return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in (sep, '"', "\n")) else text

    text = "\n".join(sep.join(cell(v) for v in row) for row in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def read_all(path: Path, fmt: str | None = None, **options) -> tuple[pl.DataFrame, list, list[str], list]:
    """(records, issues, notes, batches) of one file through the adapter `fmt` (or the sniffed one)."""
    _load_builtin_adapters()  # the registry loads lazily only when empty; a test may have imported one adapter
    source = SourceFile.from_path(path)
    adapter = get_adapter(source, fmt)
    batches = list(adapter.read(source, ImportOptions(**options)))
    records = pl.concat([b.records for b in batches], how="vertical_relaxed")
    issues = [i for b in batches for i in b.issues]
    notes = [n for b in batches for n in b.notes]
    return records, issues, notes, batches


HEADER = ["Date", "Country", "ISO3", "Region", "Region code", "District", "District code",
          "IDP HH", "IDP Ind", "Returnee Ind"]
TAGS = ["#date+reported", "#country+name", "#country+code", "#adm1+name", "#adm1+code", "#adm2+name",
        "#adm2+code", "#affected+idps+hh", "#affected+idps+ind", "#affected+returnees+ind"]


def district_rows() -> list[list]:
    return [
        ["2024-03-31", "Kenya", "KEN", "Alpha", "KE01", "Alpha North", "KE0101", 10, 50, 5],
        ["2024-03-31", "Kenya", "KEN", "Alpha", "KE01", "Alpha South", "KE0102", 20, 90, 0],
        ["2024-03-31", "Kenya", "KEN", "Beta", "KE02", "Beta East", "KE0201", 3, 12, 7],
    ]
