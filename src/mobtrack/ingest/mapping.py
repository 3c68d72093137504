"""Any CSV or XLSX, read through a small YAML file that says which column is what.

    sheet: MT R11 Baseline locations      # XLSX only; default: the first sheet
    header_row: 1                         # spreadsheet row of the column names; default: found
    constants: {country_iso3: SSD, assessment_type: BA, round_number: 11, reporting_date: 2021-09-30}
    columns: {adm1_pcode: state_pcode, site_name: village_idp_settlement_name, latitude: latitude}
    dates: {reporting_date: "%d/%m/%Y"}   # strptime formats; default: the usual spellings
    values:
      - {column: "IDP households", group: idps, unit: households}
      - {column: "IDP women", group: idps, unit: individuals, role: breakdown, sex: female}

Column names match ignoring case and runs of spaces. Everything the YAML says is checked before
the file is read: an unknown key, group or unit, or a column the file does not have, refuses the
import with the list of what is wrong (and the file's columns, to copy from).
See docs/formats.md for the full reference.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from mobtrack.ingest import register
from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.ingest.cells import DIMENSIONS, ValueColumn, finest_level, melt
from mobtrack.ingest.identity import given_reporting_date, resolve
from mobtrack.ingest.place_checks import decide_split, fix_swaps
from mobtrack.ingest.safety import (
    check_size,
    check_xlsx,
    encoding_note,
    formula_cells,
    looks_like_xlsx,
    utf8_csv,
)
from mobtrack.ingest.tables import (
    ROW,
    read_csv_head,
    read_xlsx_sheet,
    sniff_separator,
    stream_csv,
    xlsx_sheet_names,
)
from mobtrack.ingest.values import PLACEHOLDER_SPELLINGS, parse_dates, parse_dates_repeated
from mobtrack.model.vocab import PopulationGroup, Role, Severity, parse_group, parse_unit
from mobtrack.validate.issue import ImportRejected, Issue

TOP_KEYS = {"sheet", "header_row", "constants", "columns", "dates", "values", "description"}
TEXT_FIELDS = ["operation", "country_iso3", "assessment_type", "round_number", "adm1_pcode", "adm1_name",
               "adm2_pcode", "adm2_name", "adm3_pcode", "adm3_name", "adm4_pcode", "adm4_name", "site_code",
               "site_name", "site_type", "reason", "origin_pcode", "origin_name", "shelter_type",
               "displacement_period"]
DATE_FIELDS = ["reporting_date", "period_start", "period_end"]
NUMBER_FIELDS = ["latitude", "longitude", "admin_level"]
FIELDS = set(TEXT_FIELDS) | set(DATE_FIELDS) | set(NUMBER_FIELDS)
VALUE_KEYS = {"column", "group", "unit", "role", *DIMENSIONS}


def _norm(name: object) -> str:
    return re.sub(r"\s+", " ", str(name or "")).strip().lower()


@dataclass
class Mapping:
    sheet: str | int | None = None
    header_row: int | None = None
    constants: dict[str, object] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    values: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Mapping:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ImportRejected(f"mapping {path.name}: not readable YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise ImportRejected(f"mapping {path.name}: expected a YAML mapping with 'values:' and 'columns:'")
        problems = [f"unknown key {k!r}" for k in raw if k not in TOP_KEYS]
        m = cls(sheet=raw.get("sheet"), header_row=raw.get("header_row"),
                constants=dict(raw.get("constants") or {}), columns=dict(raw.get("columns") or {}),
                dates=dict(raw.get("dates") or {}), values=list(raw.get("values") or []))
        problems += m._problems()
        if problems:
            raise ImportRejected(f"mapping {path.name}: " + "; ".join(problems))
        return m

    def _problems(self) -> list[str]:
        out = []
        for where, keys in (("constants", self.constants), ("columns", self.columns), ("dates", self.dates)):
            out += [f"{where}: unknown field {k!r} (fields: {', '.join(sorted(FIELDS))})" for k in keys if k not in FIELDS]
        out += [f"{k!r} is given both as a constant and as a column" for k in self.constants if k in self.columns]
        out += [f"dates: {k!r} is not a date field" for k in self.dates if k not in DATE_FIELDS]
        if self.header_row is not None and (not isinstance(self.header_row, int) or self.header_row < 1):
            out.append("header_row must be a row number, 1 or more")
        if not self.values:
            out.append("no 'values:' list: say which columns hold counts")
        for i, v in enumerate(self.values, start=1):
            if not isinstance(v, dict) or "column" not in v:
                out.append(f"values #{i}: needs at least 'column', 'group' and 'unit'")
                continue
            out += [f"values #{i}: unknown key {k!r}" for k in v if k not in VALUE_KEYS]
            if parse_group(v.get("group")) is None:
                out.append(f"values #{i} ({v['column']}): group {v.get('group')!r} is not one of "
                           + ", ".join(g.value for g in PopulationGroup))
            if parse_unit(v.get("unit")) is None:
                out.append(f"values #{i} ({v['column']}): unit {v.get('unit')!r} is not individuals or households")
            if v.get("role", "total") not in {r.value for r in Role}:
                out.append(f"values #{i} ({v['column']}): role {v.get('role')!r} is not total, part or breakdown")
        return out

    def wanted_columns(self) -> list[str]:
        return [str(c) for c in self.columns.values()] + [str(v["column"]) for v in self.values]


@register
class MappingAdapter(Adapter):
    name = "mapping"
    description = "any CSV/XLSX through a YAML column-mapping file (--mapping FILE.yaml)"

    def sniff(self, source: SourceFile, head: bytes) -> float:
        return 0.0  # only chosen explicitly: a mapping file is required

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        if options.mapping is None:
            raise ImportRejected("the mapping format needs a mapping file: pass --mapping FILE.yaml "
                                 "(see docs/formats.md)")
        mapping = Mapping.load(Path(options.mapping))
        with open(source.path, "rb") as fh:
            head = fh.read(65536)
        if looks_like_xlsx(source.path, head):
            yield from self._read_xlsx(source, options, mapping)
        else:
            yield from self._read_csv(source, options, mapping)

    def _read_xlsx(self, source: SourceFile, options: ImportOptions, mapping: Mapping) -> Iterator[Batch]:
        check_xlsx(source.path)
        names = xlsx_sheet_names(source.path)
        wanted = options.sheet if options.sheet is not None else mapping.sheet
        if isinstance(wanted, str) and wanted.isdigit() and wanted not in names:
            wanted = int(wanted)  # --sheet 2: the second sheet
        if wanted is None:
            sheet = _sheet_with_columns(source.path, names, mapping)
        elif isinstance(wanted, int) and not isinstance(wanted, bool):
            if not 1 <= wanted <= len(names):
                raise ImportRejected(f"{source.name}: no sheet number {wanted}; it has {len(names)}")
            sheet = names[wanted - 1]
        elif str(wanted) in names:
            sheet = str(wanted)
        else:
            raise ImportRejected(f"{source.name}: no sheet {wanted!r}; sheets: {', '.join(names)}")
        grid = read_xlsx_sheet(source.path, sheet).grid
        header_at = _header_index(grid, mapping, source.name)
        columns = _resolve_columns(grid, header_at, mapping, source.name)
        notes = [f"read sheet {sheet!r} with the mapping {Path(options.mapping).name}, "
                 f"column names on row {grid[ROW][header_at]}"]
        yield from self._batches(source, options, mapping, columns, [grid.slice(header_at + 1)], sheet, notes)

    def _read_csv(self, source: SourceFile, options: ImportOptions, mapping: Mapping) -> Iterator[Batch]:
        check_size(source)
        with utf8_csv(source.path) as (path, encoding):
            with open(path, "rb") as fh:
                sep = sniff_separator(fh.read(65536).decode("utf-8", "replace"))
            head = read_csv_head(path, sep, 30)
            header_at = _header_index(head, mapping, source.name)
            columns = _resolve_columns(head, header_at, mapping, source.name)
            notes = [f"read with the mapping {Path(options.mapping).name}, column names on row {header_at + 1}"]
            if encoding != "utf-8":
                notes.append(encoding_note(encoding))
            batches = stream_csv(path, sep, header_at + 1, head.width - 1, options.batch_rows)
            yield from self._batches(source, options, mapping, columns, batches, None, notes)

    def _batches(self, source, options, mapping: Mapping, columns: dict[str, str], frames, sheet,
                 notes) -> Iterator[Batch]:
        values = [_value_column(v, columns[_norm(v["column"])]) for v in mapping.values]
        fields = {f: columns[_norm(c)] for f, c in mapping.columns.items()}
        names = {columns[_norm(c)]: str(c) for c in mapping.columns.values()}
        ctx, row_split, issues = None, False, []
        for frame in frames:
            if frame.height == 0:
                continue
            if ctx is None:  # the same checks as for HXL files, on the first batch
                fields, issues = fix_swaps(frame, fields, source.name, sheet)
                ctx = _context(mapping, fields, frame, options, source.name, notes)
                row_split, ctx = decide_split(frame, ctx, notes)
            records, cell_issues = melt(frame, ctx, values, file=source.name, sheet=sheet, row_split=row_split)
            issues += cell_issues
            records = records.with_columns(pl.lit(sheet, dtype=pl.String).alias("source_sheet"))
            text_cols = [fields[f] for f in fields if f in TEXT_FIELDS]
            for row, col, value in formula_cells(frame, text_cols, ROW).iter_rows():
                issues.append(Issue(Severity.WARNING, "formula-in-text", f"{value!r} is a spreadsheet formula; kept "
                                    "as text, never evaluated", source.name, sheet, row, names.get(col, col), value))
            yield Batch(records=records, issues=issues, sheet=sheet, notes=notes)
            notes, issues = [], []
        if ctx is None:
            raise ImportRejected(f"{source.name}: no data rows below the column names")


def _sheet_with_columns(path: Path, names: list[str], mapping: Mapping) -> str:
    """The first sheet whose first rows hold every column the mapping names (else the first sheet)."""
    import fastexcel

    wanted = {_norm(c) for c in mapping.wanted_columns()}
    reader = fastexcel.read_excel(str(path))
    for name in names:
        head = reader.load_sheet(name, header_row=None, dtypes="string", n_rows=30).to_polars()
        if any(wanted <= {_norm(v) for v in row if v is not None} for row in head.iter_rows()):
            return name
    return names[0]


def bundled_mappings() -> list[Path]:
    from importlib import resources

    folder = resources.files("mobtrack") / "data" / "mappings"
    return sorted(Path(str(e)) for e in folder.iterdir() if e.name.endswith(".yaml"))


def bundled_mapping_for(head: pl.DataFrame) -> Path | None:
    """A bundled mapping whose columns are all in one of the first rows of `head` (a text grid), if any."""
    rows = [{_norm(v) for v in row if v is not None} for row in head.select(pl.exclude(ROW)).iter_rows()]
    for path in bundled_mappings():
        try:
            wanted = {_norm(c) for c in Mapping.load(path).wanted_columns()}
        except ImportRejected:
            continue
        if any(wanted <= row for row in rows):
            return path
    return None


def _header_index(grid: pl.DataFrame, mapping: Mapping, file: str) -> int:
    if mapping.header_row is not None:
        matches = [i for i, r in enumerate(grid[ROW].to_list()[:200]) if r == mapping.header_row]
        if not matches:
            raise ImportRejected(f"{file}: header_row {mapping.header_row} is not among the file's first rows")
        return matches[0]
    wanted = {_norm(c) for c in mapping.wanted_columns()}
    cols = [c for c in grid.columns if c != ROW]
    best, best_hits = 0, -1
    for i, row in enumerate(grid.head(30).select(cols).iter_rows()):
        hits = len(wanted & {_norm(v) for v in row if v is not None})
        if hits > best_hits:
            best, best_hits = i, hits
    return best


def _resolve_columns(grid: pl.DataFrame, header_at: int, mapping: Mapping, file: str) -> dict[str, str]:
    """{normalised column name: grid column} for every column the mapping names; refuses missing ones."""
    cols = [c for c in grid.columns if c != ROW]
    header = {}
    for c in cols:
        header.setdefault(_norm(grid[c][header_at]), c)
    missing = [name for name in mapping.wanted_columns() if _norm(name) not in header]
    if missing:
        available = [str(grid[c][header_at]) for c in cols if grid[c][header_at] is not None]
        hints = []
        for name in missing:
            close = difflib.get_close_matches(str(name), available, n=1, cutoff=0.6)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ImportRejected(f"{file}: the mapping names columns the file does not have: {', '.join(hints)}; "
                             f"the file's columns are: {', '.join(repr(a) for a in available)}")
    return {_norm(name): header[_norm(name)] for name in mapping.wanted_columns()}


def _value_column(spec: dict, col: str) -> ValueColumn:
    dims = {d: str(spec[d]) for d in DIMENSIONS if spec.get(d) is not None}
    return ValueColumn(column=col, label=str(spec["column"]), group=parse_group(spec["group"]).value,
                       unit=parse_unit(spec["unit"]).value, role=spec.get("role", "total"), **dims)


def _opt(value) -> str | None:
    return None if value is None else str(value)


def _round(value) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ImportRejected(f"mapping: constants.round_number {value!r} is not a whole number") from exc


def _context(mapping: Mapping, fields: dict[str, str], frame: pl.DataFrame, options: ImportOptions, file: str,
             notes: list[str]) -> dict[str, pl.Expr]:
    def text(col: str) -> pl.Expr:
        t = pl.col(col).cast(pl.String).str.strip_chars()
        return pl.when((t == "") | t.is_in(PLACEHOLDER_SPELLINGS)).then(None).otherwise(t)

    exprs: dict[str, pl.Expr] = {f: text(c) for f, c in fields.items()}
    constants = dict(mapping.constants)
    # the round's identity given as constants acts like the command-line options (which still win)
    options = replace(
        options,
        operation=options.operation or _opt(constants.pop("operation", None)),
        country_iso3=options.country_iso3 or _opt(constants.pop("country_iso3", None)),
        assessment_type=options.assessment_type or _opt(constants.pop("assessment_type", None)),
        round_number=options.round_number if options.round_number is not None else _round(constants.pop("round_number", None)),
    )
    for f, v in constants.items():
        text_value = v.isoformat() if isinstance(v, date) else str(v)
        if f in DATE_FIELDS:  # parsed here: a constant is one value, not a column
            fmt = mapping.dates.get(f)
            parsed = pl.select(parse_dates(pl.lit(text_value), [fmt] if fmt else None)).item()
            if parsed is None:
                raise ImportRejected(f"mapping: constants.{f} {text_value!r} is not a date")
            exprs[f] = pl.lit(parsed, dtype=pl.Date)
        else:
            exprs[f] = pl.lit(text_value, dtype=pl.String)
    own = {f: e for f, e in exprs.items() if f in {"operation", "country_iso3", "assessment_type", "round_number",
                                                 "adm1_pcode", "adm2_pcode", "adm3_pcode"}}
    ctx = resolve(own, options, file, frame, notes)
    for f, e in exprs.items():
        if f in ctx:
            continue
        if f in DATE_FIELDS and f in mapping.constants:
            ctx[f] = e
        elif f in DATE_FIELDS:
            fmt = mapping.dates.get(f)
            ctx[f] = parse_dates_repeated(e, [fmt] if fmt else None)
        elif f in NUMBER_FIELDS:
            number = e.str.replace(",", ".").cast(pl.Float64, strict=False)
            ctx[f] = number.cast(pl.Int8, strict=False) if f == "admin_level" else number
        else:
            ctx[f] = e
    given_reporting_date(options, ctx, notes, file)
    if "admin_level" not in ctx:
        ctx["admin_level"] = finest_level({k: v for k, v in ctx.items() if k.startswith(("adm", "site_code", "site_name"))})
    if "reporting_date" not in ctx:
        notes.append("no reporting date: add constants: {reporting_date: YYYY-MM-DD} or a column to the mapping")
    return ctx
