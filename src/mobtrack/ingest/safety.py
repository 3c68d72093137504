"""File checks every adapter runs before it parses anything.

A source file comes from the field: it may be huge, truncated, a zip bomb renamed `.xlsx`,
saved in UTF-16 by Excel, or carry spreadsheet formulas in name cells. These checks turn each
of those into a clear `ImportRejected` (the file is refused, nothing is written) or hand the
adapter what it needs to read the file safely (a UTF-8 path, the formula cells to flag).

Limits can be raised without code changes through environment variables (megabytes):
`MOBTRACK_MAX_FILE_MB` (default 2048), `MOBTRACK_MAX_XLSX_MB` (200), `MOBTRACK_MAX_XLSX_UNCOMPRESSED_MB` (2048).
"""

from __future__ import annotations

import codecs
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mobtrack.ingest.base import SourceFile
from mobtrack.validate.issue import ImportRejected

_MB = 1024 * 1024


def _env_mb(name: str, default_mb: float) -> int:
    raw = os.environ.get(name)
    try:
        return int(float(raw) * _MB) if raw else int(default_mb * _MB)
    except ValueError as exc:
        raise ImportRejected(f"{name}={raw!r} is not a number of megabytes") from exc


def human_size(n: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", _MB), ("kB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Limits:
    # CSV and JSON-lines are streamed in batches, so memory does not grow with the file: a 200 MB
    # export is routine. Above the limit the file is refused before anything is read.
    max_file_bytes: int = 2048 * _MB
    # A workbook is read whole into memory after these checks, hence lower caps.
    max_xlsx_bytes: int = 200 * _MB
    max_xlsx_uncompressed: int = 2048 * _MB
    # Spreadsheet XML compresses 5-20x; a zip bomb compresses 1000x or more.
    max_zip_ratio: float = 150.0
    max_zip_members: int = 5000

    @classmethod
    def from_env(cls) -> Limits:
        """Limits with the environment's overrides (MOBTRACK_MAX_FILE_MB, MOBTRACK_MAX_XLSX_MB,
        MOBTRACK_MAX_XLSX_UNCOMPRESSED_MB), read at each import so a test or a server can tune them."""
        base = cls()
        return cls(
            max_file_bytes=_env_mb("MOBTRACK_MAX_FILE_MB", base.max_file_bytes / _MB),
            max_xlsx_bytes=_env_mb("MOBTRACK_MAX_XLSX_MB", base.max_xlsx_bytes / _MB),
            max_xlsx_uncompressed=_env_mb("MOBTRACK_MAX_XLSX_UNCOMPRESSED_MB", base.max_xlsx_uncompressed / _MB),
        )


def max_file_bytes() -> int:
    return Limits.from_env().max_file_bytes


def check_size(source: SourceFile | Path, limits: Limits | None = None, *, kind: str = "file") -> int:
    """Refuse an empty file or one over the size limit, before reading it. Returns the size."""
    limits = limits or Limits.from_env()
    path = source.path if isinstance(source, SourceFile) else Path(source)
    size = path.stat().st_size
    cap = limits.max_xlsx_bytes if kind == "xlsx" else limits.max_file_bytes
    var = "MOBTRACK_MAX_XLSX_MB" if kind == "xlsx" else "MOBTRACK_MAX_FILE_MB"
    if size == 0:
        raise ImportRejected(f"{path.name}: the file is empty (0 bytes)")
    if size > cap:
        hint = "or save the workbook as CSV, which is streamed" if kind == "xlsx" else "or split the file by round"
        raise ImportRejected(
            f"{path.name}: {human_size(size)} is over the {human_size(cap)} limit for one {kind}; nothing was "
            f"imported. Raise the limit with {var}=<megabytes> if this machine has the memory, {hint}."
        )
    return size


# --- XLSX: a zip archive of XML parts ---------------------------------------------------------

XLSX_REQUIRED = ("[Content_Types].xml", "xl/workbook.xml")


def check_xlsx(path: Path, limits: Limits | None = None) -> None:
    """Refuse a corrupted/truncated workbook or a zip bomb before any XLSX reader opens it.

    The zip directory's sizes are checked first (cheap); then every member is decompressed in
    chunks, counting real bytes, because a crafted archive can lie in its directory. That pass also
    verifies every CRC, so a truncated or damaged file is caught here and not half-way through.
    """
    limits = limits or Limits.from_env()
    check_size(path, limits, kind="xlsx")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRejected(
            f"{path.name}: this is an old binary Excel file (.xls) or an encrypted workbook; "
            "open it in a spreadsheet program and save it as .xlsx (without a password) or CSV"
        )
    if not magic.startswith(b"PK"):
        raise ImportRejected(f"{path.name}: not an XLSX workbook (an .xlsx file is a zip archive; this one is not)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRejected(
            f"{path.name}: the workbook is corrupted or truncated ({exc}); re-download or re-save it"
        ) from exc
    with zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        missing = [n for n in XLSX_REQUIRED if n not in names]
        if missing:
            raise ImportRejected(f"{path.name}: not an XLSX workbook (missing {', '.join(missing)})")
        if len(infos) > limits.max_zip_members:
            raise ImportRejected(f"{path.name}: {len(infos)} parts in the archive; refusing (likely a zip bomb)")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_xlsx_uncompressed:
            raise ImportRejected(
                f"{path.name}: the workbook would expand to {human_size(declared)} in memory, over the "
                f"{human_size(limits.max_xlsx_uncompressed)} limit (zip bomb or a very large workbook); "
                "save it as CSV or raise MOBTRACK_MAX_XLSX_UNCOMPRESSED_MB"
            )
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise ImportRejected(
                    f"{path.name}: part {info.filename} expands {ratio:.0f}x "
                    f"({human_size(info.compress_size)} -> {human_size(info.file_size)}); refusing a likely zip bomb"
                )
        _verify_members(path, zf, infos, limits)


def _verify_members(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        seen = 0
        try:
            with zf.open(info) as member:
                while chunk := member.read(1 << 20):
                    seen += len(chunk)
                    total += len(chunk)
                    if seen > info.file_size or total > limits.max_xlsx_uncompressed:
                        raise ImportRejected(
                            f"{path.name}: part {info.filename} expands beyond what the archive declares; "
                            "refusing a likely zip bomb"
                        )
        except ImportRejected:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            # zlib.error is a subclass of Exception only; caught below
            raise ImportRejected(
                f"{path.name}: the workbook is corrupted or truncated (part {info.filename}: {exc}); "
                "re-download or re-save it"
            ) from exc
        except Exception as exc:  # zlib.error and friends: the stream itself is broken
            raise ImportRejected(
                f"{path.name}: the workbook is corrupted (part {info.filename}: {exc}); re-download or re-save it"
            ) from exc


def looks_like_xlsx(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in {".xlsx", ".xlsm"} or head.startswith(b"PK\x03\x04")


# --- text encodings ---------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def detect_encoding(head: bytes) -> tuple[str, int]:
    """(encoding, BOM length) of a text file from its first bytes.

    Excel's "Unicode text" export is UTF-16 with a BOM; some tools write it without one, which
    shows as a NUL byte in every other position. Anything that is not valid UTF-8 is read as
    Windows-1252, the usual encoding of CSV saved by Excel on Windows.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    sample = head[:4096]
    if len(sample) >= 4:
        even_nul = sample[0::2].count(0) / max(len(sample[0::2]), 1)
        odd_nul = sample[1::2].count(0) / max(len(sample[1::2]), 1)
        if odd_nul > 0.3 and even_nul < 0.05:
            return "utf-16-le", 0
        if even_nul > 0.3 and odd_nul < 0.05:
            return "utf-16-be", 0
    try:
        head.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a multi-byte character cut by the end of the sample
            return "utf-8", 0
    return "cp1252", 0


def encoding_note(encoding: str) -> str:
    """What the import notes say about a file that was not plain UTF-8."""
    if encoding == "cp1252":
        return ("read as cp1252 (Windows Western European): the file is not UTF-8; if names with accents or "
                "non-Latin scripts look wrong, save it as UTF-8 CSV and import it again")
    return f"read as {encoding}"


def head_text(head: bytes) -> str:
    encoding, bom = detect_encoding(head)
    return head[bom:].decode(encoding.replace("-sig", ""), errors="replace")


@contextmanager
def utf8_csv(path: Path) -> Iterator[tuple[Path, str]]:
    """A UTF-8 path for Polars (which reads only UTF-8), transcoding in chunks when needed.

    Yields (path, encoding found). Memory stays bounded: the file is converted 1 MB at a time
    into a temporary file that is removed afterwards. Line ends written as a lone CR (old Mac
    exports) become LF on the way.
    """
    with open(path, "rb") as fh:
        head = fh.read(65536)
    encoding, bom = detect_encoding(head)
    text = head[bom:].decode(encoding.replace("-sig", ""), errors="replace")
    # old Mac "CSV (Macintosh)" ends lines with CR alone, which Polars does not split on
    cr_only = "\r" in text and "\n" not in text
    if encoding == "utf-8" and not cr_only:
        yield path, encoding
        return
    decoder = codecs.getincrementaldecoder(encoding.replace("-sig", ""))(errors="strict")
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="mobtrack-")
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            src.seek(bom)
            try:
                while chunk := src.read(1 << 20):
                    out = decoder.decode(chunk)
                    dst.write((out.replace("\r", "\n") if cr_only else out).encode("utf-8"))
                dst.write(decoder.decode(b"", final=True).encode("utf-8"))
            except UnicodeDecodeError as exc:
                raise ImportRejected(
                    f"{path.name}: the file looks {encoding}-encoded but is not valid {encoding} "
                    f"near byte {src.tell()}: {exc.reason}; re-save it as UTF-8 CSV"
                ) from exc
        yield Path(tmp), encoding
    finally:
        Path(tmp).unlink(missing_ok=True)


# --- formula injection ------------------------------------------------------------------------

# A text cell a spreadsheet would evaluate: '=...', '@...', '+A1...', '-cmd|...', or those behind a
# tab/CR. Plain signed numbers ('-5', '+3') and the placeholder '-' are not formulas.
FORMULA_PATTERN = r"^[\t\r ]*(?:[=@]|[+\-][^0-9.\s])"


def formula_cells(frame: pl.DataFrame, columns: list[str], row_column: str) -> pl.DataFrame:
    """The text cells among `columns` that a spreadsheet would evaluate as a formula.

    Returns (row, column, value) rows. The text itself is kept unchanged in the records (a name is
    a name); the caller records an issue, and every export escapes such cells on the way out.
    """
    parts = [
        frame.filter(pl.col(c).str.contains(FORMULA_PATTERN)).select(
            pl.col(row_column).alias("row"), pl.lit(c).alias("column"), pl.col(c).alias("value")
        )
        for c in columns
        if c in frame.columns and frame.schema[c] == pl.String
    ]
    if not parts:
        return pl.DataFrame(schema={"row": pl.Int64, "column": pl.String, "value": pl.String})
    return pl.concat(parts).with_columns(pl.col("row").cast(pl.Int64))
