"""Reading spreadsheets and CSV as grids of text, with the row numbers a spreadsheet shows.

Adapters that find their header/tag row themselves (HXL, data dictionary, mapping) read the
raw grid here: every cell as text in columns `c0..cN`, plus `_row`, the 1-based row number as
the user sees it in Excel or a text editor, so every issue points at the right row.

XLSX goes through fastexcel (calamine, Rust) after `safety.check_xlsx`; CSV is streamed with
Polars in batches, so memory does not depend on the file's size.
"""

from __future__ import annotations

import csv
import html
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from mobtrack.validate.issue import ImportRejected

ROW = "_row"


def grid_columns(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _letter_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


# --- XLSX -------------------------------------------------------------------------------------

@dataclass
class Sheet:
    name: str
    grid: pl.DataFrame  # c0..cN as String, plus _row
    xml: bytes  # the sheet's XML part, to find formula cells
    first_col: int  # calamine drops empty leading columns: grid column c0 is this column index

    def formulas(self, text_columns: list[str]) -> pl.DataFrame:
        return formula_cells_in(self.xml, self.first_col, text_columns)


def xlsx_sheet_names(path: Path) -> list[str]:
    try:
        return list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:  # calamine raises its own error types
        raise ImportRejected(f"{path.name}: the workbook cannot be read ({exc})") from exc


def read_xlsx_sheet(path: Path, sheet: str, n_rows: int | None = None) -> Sheet:
    """One sheet as a text grid. Reads the whole sheet unless n_rows is given (for sniffing)."""
    try:
        reader = fastexcel.read_excel(str(path))
        frame = reader.load_sheet(sheet, header_row=None, dtypes="string", n_rows=n_rows).to_polars()
    except Exception as exc:
        raise ImportRejected(f"{path.name}: sheet {sheet!r} cannot be read ({exc})") from exc
    xml = _sheet_xml(path, sheet)
    first_row, first_col = _origin(xml)
    frame = frame.rename(dict(zip(frame.columns, grid_columns(frame.width), strict=True)))
    frame = frame.with_columns(pl.all().cast(pl.String)).with_row_index(ROW, offset=first_row)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    return Sheet(name=sheet, grid=frame, xml=xml, first_col=first_col)


def _sheet_xml(path: Path, sheet: str) -> bytes:
    """The XML part of a sheet, found through workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        targets = dict(re.findall(r'<Relationship[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
        targets.update({i: t for t, i in re.findall(r'<Relationship[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
        for attrs in re.findall(r"<(?:\w+:)?sheet\b([^>]*)/?>", workbook):
            name = re.search(r'\bname="([^"]*)"', attrs)
            rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', attrs)
            if name and rid and html.unescape(name.group(1)) == sheet:
                target = targets.get(rid.group(1) or rid.group(2), "")
                part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                part = re.sub(r"[^/]+/\.\./", "", part)
                if part in zf.namelist():
                    return zf.read(part)
    return b""


_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"')


def _has_value_cell_in(xml: bytes, letters: str) -> bool:
    pattern = rb'<c r="' + letters.encode() + rb'\d+"(?:[^>/]|/(?!>))*>(?:<f[^>]*?(?:/>|>[^<]*</f>))?<(?:v|is)>'
    return re.search(pattern, xml) is not None


def _origin(xml: bytes) -> tuple[int, int]:
    """(first row number, first column index) of the cells calamine reads: it trims empty margins.

    Found with a few C-level searches rather than a pass over every cell: the first row is the
    first cell holding a value; the first column is almost always A, else B...
    """
    first = re.search(rb'<c r="[A-Z]+(\d+)"(?:[^>/]|/(?!>))*>(?:<f[^>]*?(?:/>|>[^<]*</f>))?<(?:v|is)>', xml)
    if not first:
        return 1, 0
    for index in range(0, 52):
        if _has_value_cell_in(xml, column_letter(index)):
            return int(first.group(1)), index
    return int(first.group(1)), 0


_UNCACHED_FORMULA = re.compile(rb'<f(?:\s[^>]*)?>([^<]*)</f>\s*(?:<v>\s*</v>\s*|<v/>\s*)?</c>')


def formula_cells_in(xml: bytes, first_col: int, columns: list[str]) -> pl.DataFrame:
    """(row, grid column, '=formula') for formula cells in `columns`, and for formula cells anywhere
    that carry no stored result (their value would otherwise be lost).

    Searched column by column with C-level regular expressions: a workbook may hold tens of
    thousands of numeric formulas that need no attention.
    """
    found: dict[tuple[int, str], str] = {}

    def add(ref_at: int, text: bytes) -> None:
        cell = _CELL_REF.match(xml, ref_at)
        if cell:
            col = f"c{_letter_index(cell.group(1).decode()) - first_col}"
            found[(int(cell.group(2)), col)] = "=" + html.unescape(text.decode("utf-8", "replace"))

    for m in _UNCACHED_FORMULA.finditer(xml):
        add(xml.rfind(b"<c ", 0, m.start()), m.group(1))
    for col in columns:
        letters = column_letter(int(col[1:]) + first_col).encode()
        pattern = re.compile(rb'<c r="' + letters + rb'\d+"[^>]*>\s*<f(?:\s[^>]*)?>([^<]+)</f>')
        for m in pattern.finditer(xml):
            add(m.start(), m.group(1))
    rows = [(r, c, f) for (r, c), f in found.items()]
    return pl.DataFrame(rows, schema={"row": pl.Int64, "col": pl.String, "formula": pl.String}, orient="row")


def text_typed_columns(path: Path, sheet: str, header_index: int, columns: list[str]) -> set[str]:
    """Of the given grid columns, those whose cells below the header row are stored as text.

    Used to report counts typed as text in Excel (a green-triangle cell), which often hide
    a stray space or apostrophe.
    """
    if not columns:
        return set()
    indices = [int(c[1:]) for c in columns]
    try:
        frame = (
            fastexcel.read_excel(str(path))
            .load_sheet(sheet, header_row=header_index, use_columns=indices, schema_sample_rows=None)
            .to_polars()
        )
    except Exception:  # a typing probe only: never a reason to refuse the file
        return set()
    return {f"c{i}" for i, dtype in zip(indices, frame.dtypes, strict=False) if dtype == pl.String}


# --- CSV --------------------------------------------------------------------------------------

def sniff_separator(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:5] if ln.strip()]
    if not lines:
        return ","
    counts = {sep: min(ln.count(sep) for ln in lines) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def read_csv_head(path: Path, separator: str, n_rows: int = 30) -> pl.DataFrame:
    """The first rows of a UTF-8 CSV as a text grid (no header interpretation).

    Read with the csv module because title rows above the header are often shorter than the
    data rows, and the grid must be as wide as the widest row.
    """
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        rows = []
        try:
            for row in csv.reader(fh, delimiter=separator):
                rows.append(row)
                if len(rows) >= n_rows:
                    break
        except csv.Error as exc:
            raise ImportRejected(f"{path.name}: not a readable CSV file ({exc})") from exc
    width = max((len(r) for r in rows), default=0)
    if width == 0:
        raise ImportRejected(f"{path.name}: the file holds no rows")
    data = {f"c{i}": [(r[i].strip() or None) if i < len(r) else None for r in rows] for i in range(width)}
    frame = pl.DataFrame(data, schema={c: pl.String for c in data})
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def stream_csv(path: Path, separator: str, skip_rows: int, width: int, batch_rows: int,
               whole_numbers: set[str] | frozenset = frozenset()) -> Iterator[pl.DataFrame]:
    """Batches of about `batch_rows` rows after the first `skip_rows`, as text grids c0..c{width-1} with `_row`.

    The file is read in byte blocks cut at a line end outside quotes, and each block is parsed
    by Polars. Memory stays bounded by one block whatever the file's size (Polars' own
    `collect_batches` reads ahead of a slow consumer, so its memory grows with the file).

    `whole_numbers`: grid columns that usually hold whole numbers. A block is first parsed with these
    as Int64 (much cheaper than text); a block where one cell is anything else ("1,234", "n/a", " 5 ")
    is parsed as text, and so are the blocks after it. So a column comes as Int64 or as text, and a
    cell read as Int64 is exactly what stripping and casting its text would give.
    """
    schema = {c: pl.String for c in grid_columns(width)}
    typed = {c: (pl.Int64 if c in whole_numbers else pl.String) for c in schema} if whole_numbers else None
    with open(path, "rb") as fh:
        start = _offset_after_rows(fh, skip_rows)
        fh.seek(start)
        sample = fh.read(1 << 20)
        per_row = len(sample) / max(sample.count(b"\n"), 1)
        block = int(min(max(batch_rows * per_row, 1 << 16), 1 << 28))  # about batch_rows rows
        fh.seek(start)
        row, carry = skip_rows + 1, b""
        while True:
            data = fh.read(block)
            buf = carry + data
            if not data:
                if buf.strip():
                    frame, typed = _parse_typed(path, buf, separator, schema, typed, row)
                    for offset in range(0, frame.height, batch_rows):
                        yield frame.slice(offset, batch_rows)
                return
            cut = _safe_cut(buf)
            if cut <= 0:  # one record longer than a block: read more
                carry = buf
                continue
            frame, typed = _parse_typed(path, buf[:cut], separator, schema, typed, row)
            carry = buf[cut:]
            row += frame.height
            for offset in range(0, frame.height, batch_rows):  # at most batch_rows rows per batch
                yield frame.slice(offset, batch_rows)


def _parse_typed(path: Path, data: bytes, separator: str, schema: dict, typed: dict | None,
                 first_row: int) -> tuple[pl.DataFrame, dict | None]:
    """A block parsed with the typed schema when there is one and it fits, else as text; and the
    typed schema to try on the next block (None once a block did not fit)."""
    if typed is not None:
        try:
            frame = pl.read_csv(data, has_header=False, separator=separator, schema=typed, encoding="utf8-lossy")
            return frame.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64)), typed
        except pl.exceptions.PolarsError:
            typed = None
    return _parse_block(path, data, separator, schema, first_row), typed


def _parse_block(path: Path, data: bytes, separator: str, schema: dict, first_row: int) -> pl.DataFrame:
    try:
        frame = pl.read_csv(data, has_header=False, separator=separator, schema=schema, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as exc:
        hint = ""
        if "more fields" in str(exc):
            hint = (f": a row after row {first_row} has more fields than the header's {len(schema)} columns "
                    "(a separator inside an unquoted value, e.g. 1,234?)")
        raise ImportRejected(f"{path.name}: the CSV cannot be parsed{hint or f' ({exc})'}") from exc
    return frame.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64))


def _safe_cut(buf: bytes) -> int:
    """Index just after the last line end that is outside a quoted value (-1 if none)."""
    end = len(buf)
    while True:
        nl = buf.rfind(b"\n", 0, end)
        if nl < 0:
            return -1
        if buf.count(b'"', 0, nl) % 2 == 0:
            return nl + 1
        end = nl


def _offset_after_rows(fh, rows: int) -> int:
    """Byte offset just after the first `rows` records (a record may span lines inside quotes)."""
    fh.seek(0)
    head = fh.read(4 << 20)
    pos, seen, quotes = 0, 0, 0
    while seen < rows:
        nl = head.find(b"\n", pos)
        if nl < 0:
            return len(head)
        quotes += head.count(b'"', pos, nl)
        pos = nl + 1
        if quotes % 2 == 0:
            seen += 1
    return pos
