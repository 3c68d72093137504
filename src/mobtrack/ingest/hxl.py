"""HXL-tagged CSV and XLSX: the DTM country workbooks on HDX and HDX's global DTM CSV.

The hashtag row (`#adm1+code`, `#affected+idps+ind`...) says what each column is, whatever the
header text above it says. The adapter finds that row (header rows above it are fine), picks
the data sheet of a multi-sheet workbook (the one with a hashtag row and the most rows, unless
`--sheet` says otherwise), maps each tag to the canonical model (hxl_tags) and melts the count
columns into records (cells.melt).

Some things are decided from the data, not the tags (place_checks): swapped name/code columns,
settlement codes tagged as an admin level, and whether several rows per place split its figure
into `part`s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from mobtrack.ingest import register
from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.ingest.cells import ValueColumn, finest_level, harmonise_breakdowns, melt
from mobtrack.ingest.hxl_tags import context_field, is_hxl_row, normalise_tag, value_column, value_tag
from mobtrack.ingest.identity import given_reporting_date, resolve
from mobtrack.ingest.place_checks import decide_split, fix_swaps, sites_below_admin
from mobtrack.ingest.safety import (
    check_size,
    check_xlsx,
    encoding_note,
    formula_cells,
    head_text,
    looks_like_xlsx,
    utf8_csv,
)
from mobtrack.ingest.tables import (
    ROW,
    Sheet,
    read_csv_head,
    read_xlsx_sheet,
    sniff_separator,
    stream_csv,
    text_typed_columns,
    xlsx_sheet_names,
)
from mobtrack.ingest.values import PLACEHOLDER_SPELLINGS, parse_dates_repeated
from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import ImportRejected, Issue

HEAD_ROWS = 30  # the hashtag row must be within the first rows
TEXT_FIELDS = ["operation", "country_name", "adm1_name", "adm2_name", "adm3_name", "adm4_name", "site_name",
               "site_code", "adm1_pcode", "adm2_pcode", "adm3_pcode", "adm4_pcode", "reason", "site_type"]


def find_hxl_row(grid: pl.DataFrame) -> int | None:
    """Index (0-based, within `grid`) of the hashtag row, or None."""
    cols = [c for c in grid.columns if c != ROW]
    for i, row in enumerate(grid.head(HEAD_ROWS).select(cols).iter_rows()):
        if is_hxl_row(list(row)):
            return i
    return None


class Layout:
    """What the hashtag row says: context fields and count columns, plus what was set aside."""

    def __init__(self, tags: dict[str, str | None], headers: dict[str, str | None]):
        self.fields: dict[str, str] = {}  # canonical field -> grid column
        self.values: list[ValueColumn] = []
        self.notes: list[str] = []
        self.ignored: list[str] = []
        units_missing = []
        unused: list[str] = []
        seen: set[tuple] = set()
        for col, raw in tags.items():
            tag = normalise_tag(raw, allow_missing_hash=True)
            if tag is None:
                continue
            label = (headers.get(col) or "").strip() or tag
            vt = value_tag(tag)
            if not isinstance(vt, str):
                vc = value_column(col, label, vt, default_unit="individuals")
                key = (vc.group, vc.unit, vc.sex, vc.age_band, vc.reason, vc.shelter_type)
                if key in seen:
                    self.ignored.append(f"{label} ({tag}): repeats another column's tag")
                    continue
                seen.add(key)
                if vt.unit is None:
                    units_missing.append(tag)
                self.values.append(vc)
                continue
            field = context_field(tag)
            if field and field not in self.fields:
                self.fields[field] = col
            elif vt != "not a count tag":
                self.ignored.append(f"{label} ({tag}): {vt}")
            else:
                unused.append(tag)
        self.values = harmonise_breakdowns(self.values)
        if units_missing:
            self.notes.append(f"no unit attribute (+ind/+hh) on {', '.join(units_missing)}: read as individuals")
        if self.ignored:
            self.notes.append("count columns left out: " + "; ".join(self.ignored))
        if unused:  # e.g. #date+occurred, #indicator+..., typos such as #poplation+total
            self.notes.append("tags not used: " + ", ".join(unused))


@register
class HxlAdapter(Adapter):
    name = "hxl"
    description = "HXL-tagged CSV or XLSX (HDX DTM country workbooks, HDX global DTM CSV)"

    def sniff(self, source: SourceFile, head: bytes) -> float:
        if looks_like_xlsx(source.path, head):
            return 0.5  # a workbook: we can only tell by opening it; the mapping adapter bids lower
        text = head_text(head)
        lines = text.splitlines()[:HEAD_ROWS]
        sep = sniff_separator(text)
        return 0.9 if any(is_hxl_row(line.split(sep)) for line in lines) else 0.0

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        with open(source.path, "rb") as fh:
            head = fh.read(65536)
        if looks_like_xlsx(source.path, head):
            yield from self._read_xlsx(source, options)
        else:
            yield from self._read_csv(source, options)

    # --- XLSX -----------------------------------------------------------------------------------

    def _read_xlsx(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        check_xlsx(source.path)
        names = xlsx_sheet_names(source.path)
        chosen, notes = self._choose_sheet(source.path, names, options.sheet)
        sheet = read_xlsx_sheet(source.path, chosen)
        grid = sheet.grid
        hxl_at = find_hxl_row(grid)
        if hxl_at is None:  # only when --sheet named a sheet without tags
            raise ImportRejected(f"{source.name}: sheet {chosen!r} has no HXL hashtag row; "
                                 "import it with --format mapping --mapping FILE.yaml")
        layout = self._layout(grid, hxl_at, source.name)
        data = grid.slice(hxl_at + 1)
        data, issues = _apply_formulas(data, sheet, layout, source.name)
        typed = text_typed_columns(source.path, chosen, hxl_at, [v.column for v in layout.values])
        for v in layout.values:
            if v.column in typed:
                issues.append(Issue(Severity.INFO, "count-as-text", f"{v.label}: counts stored as text in the "
                                    "workbook; read as numbers where they are whole numbers",
                                    source.name, chosen, None, v.label))
        yield from self._batches(source, options, layout, [data], chosen, notes, issues)

    def _choose_sheet(self, path: Path, names: list[str], wanted: str | None) -> tuple[str, list[str]]:
        if wanted:
            if wanted not in names:
                raise ImportRejected(f"{path.name}: no sheet {wanted!r}; sheets: {', '.join(names)}")
            return wanted, [f"read sheet {wanted!r} (chosen with --sheet)"]
        import fastexcel

        reader = fastexcel.read_excel(str(path))
        tagged: list[tuple[int, str]] = []
        untagged: list[str] = []
        heads: dict[str, pl.DataFrame] = {}
        for name in names:
            head = reader.load_sheet(name, header_row=None, dtypes="string", n_rows=HEAD_ROWS)
            grid = head.to_polars().with_row_index(ROW)
            if find_hxl_row(grid) is not None:
                tagged.append((head.total_height, name))
            else:
                untagged.append(name)
                heads[name] = grid
        if not tagged:
            raise ImportRejected(
                f"{path.name}: no sheet has an HXL hashtag row (looked at the first {HEAD_ROWS} rows of "
                f"{', '.join(repr(n) for n in names)}); import it with --format mapping --mapping FILE.yaml"
            )
        tagged.sort(key=lambda t: -t[0])
        chosen = tagged[0][1]
        note = f"read sheet {chosen!r}: the sheet with HXL tags and the most rows ({tagged[0][0]})"
        if len(names) > 1:
            others = [f"{n!r} ({h} rows, tagged)" for h, n in tagged[1:]] + [f"{n!r} (no tags)" for n in untagged]
            note += "; other sheets: " + ", ".join(others) + " (choose one with --sheet)"
        return chosen, [note, *_mapping_hints(path, heads)]

    # --- CSV ------------------------------------------------------------------------------------

    def _read_csv(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        check_size(source)
        with utf8_csv(source.path) as (path, encoding):
            with open(path, "rb") as fh:
                sep = sniff_separator(fh.read(65536).decode("utf-8", "replace"))
            head = read_csv_head(path, sep, HEAD_ROWS)
            hxl_at = find_hxl_row(head)
            if hxl_at is None:
                raise ImportRejected(f"{source.name}: no HXL hashtag row in the first {HEAD_ROWS} rows; "
                                     "import it with --format mapping --mapping FILE.yaml")
            layout = self._layout(head, hxl_at, source.name)
            notes = [f"HXL hashtag row is row {hxl_at + 1}"]
            if encoding != "utf-8":
                notes.append(encoding_note(encoding))
            width = head.width - 1
            batches = stream_csv(path, sep, hxl_at + 1, width, options.batch_rows)
            yield from self._batches(source, options, layout, batches, None, notes, [])

    # --- shared ---------------------------------------------------------------------------------

    def _layout(self, grid: pl.DataFrame, hxl_at: int, file: str) -> Layout:
        cols = [c for c in grid.columns if c != ROW]
        tags = {c: grid[c][hxl_at] for c in cols}
        headers = {c: grid[c][hxl_at - 1] if hxl_at > 0 else None for c in cols}
        layout = Layout(tags, headers)
        if not layout.values:
            raise ImportRejected(
                f"{file}: the HXL row has no count column that can be read (#affected+idps+ind, "
                "#affected+returnees+hh ...)"
                + (f"; set aside: {'; '.join(layout.ignored)}" if layout.ignored else "")
            )
        return layout

    def _batches(self, source, options, layout: Layout, frames, sheet, notes, issues) -> Iterator[Batch]:
        notes = notes + layout.notes
        fields = dict(layout.fields)
        decided = False
        row_split = False
        context: dict[str, pl.Expr] = {}
        for frame in frames:
            if frame.height == 0:
                continue
            if not decided:
                fields, swap_issues = fix_swaps(frame, fields, source.name, sheet)
                fields = sites_below_admin(frame, fields, notes)
                issues = issues + swap_issues
                context = _context(fields, frame, options, source.name, notes)
                row_split, context = decide_split(frame, context, notes)
                decided = True
            records, cell_issues = melt(frame, context, layout.values, file=source.name, sheet=sheet,
                                        row_split=row_split)
            records = records.with_columns(pl.lit(sheet, dtype=pl.String).alias("source_sheet"))
            formula = formula_cells(frame.select([ROW, *[fields[f] for f in TEXT_FIELDS if f in fields]]),
                                    [fields[f] for f in TEXT_FIELDS if f in fields], ROW)
            batch_issues = issues + cell_issues + _formula_issues(formula, layout, fields, source.name, sheet)
            yield Batch(records=records, issues=batch_issues, sheet=sheet, notes=notes)
            issues, notes = [], []
        if not decided:
            raise ImportRejected(f"{source.name}: no data rows below the HXL hashtag row")


def _mapping_hints(path: Path, heads: dict[str, pl.DataFrame]) -> list[str]:
    """Untagged sheets that a bundled column mapping can read (e.g. a site list with coordinates)."""
    from mobtrack.ingest.mapping import bundled_mapping_for

    hints = []
    for name, head in heads.items():
        mapping = bundled_mapping_for(head)
        if mapping is not None:
            hints.append(f"sheet {name!r} has no HXL tags but the bundled mapping {mapping.name} reads it: "
                         f"mobtrack import {path.name} --mapping {mapping}")
    return hints


def _apply_formulas(data: pl.DataFrame, sheet: Sheet, layout: Layout, file: str) -> tuple[pl.DataFrame, list[Issue]]:
    """Formula cells: a name or code cell keeps the formula as typed (then flagged as formula-in-text,
    never evaluated); a count cell keeps its stored result, or the formula text when there is none,
    so that nothing vanishes silently."""
    text_cols = [layout.fields[f] for f in TEXT_FIELDS if f in layout.fields]
    formulas = sheet.formulas(text_cols)
    if formulas.height == 0:
        return data, []
    patches = []
    for col in formulas.get_column("col").unique().to_list():
        if col not in data.columns:
            continue
        sub = formulas.filter(pl.col("col") == col).select(pl.col("row").alias(ROW), pl.col("formula"))
        patched = data.select(ROW, col).join(sub, on=ROW, how="left", maintain_order="left")
        first, second = ("formula", col) if col in text_cols else (col, "formula")
        patches.append(pl.coalesce(patched.get_column(first), patched.get_column(second)).alias(col))
    return data.with_columns(patches), []


def _formula_issues(formula: pl.DataFrame, layout: Layout, fields: dict[str, str], file: str, sheet) -> list[Issue]:
    names = {col: field for field, col in fields.items()}
    return [
        Issue(Severity.WARNING, "formula-in-text",
              f"{names.get(col, col)}: {value!r} is a spreadsheet formula; kept as text, never evaluated "
              "(exports escape it)", file, sheet, row, names.get(col, col), value)
        for row, col, value in formula.iter_rows()
    ]


def _context(fields: dict[str, str], frame: pl.DataFrame, options: ImportOptions, file: str,
             notes: list[str]) -> dict[str, pl.Expr]:
    def text(col: str) -> pl.Expr:
        # "Not available" in a name or code column means the same as an empty cell
        t = pl.col(col).cast(pl.String).str.strip_chars()
        return pl.when((t == "") | t.is_in(PLACEHOLDER_SPELLINGS)).then(None).otherwise(t)

    own = {f: text(c) for f, c in fields.items()
           if f in {"operation", "country_iso3", "country_name", "assessment_type", "round_number",
                    "adm1_pcode", "adm2_pcode", "adm3_pcode"}}
    ctx = resolve(own, options, file, frame, notes)
    for field in ("adm1_pcode", "adm1_name", "adm2_pcode", "adm2_name", "adm3_pcode", "adm3_name",
                  "adm4_pcode", "adm4_name", "site_code", "site_name", "site_type", "reason", "shelter_type",
                  "displacement_period"):
        if field in fields:
            ctx[field] = text(fields[field])
    for field in ("reporting_date", "period_start", "period_end"):
        if field in fields:
            ctx[field] = parse_dates_repeated(text(fields[field]))
    given_reporting_date(options, ctx, notes, file)
    if "reporting_date" not in ctx:
        notes.append("no reporting date in the file (#date+reported)")
    for field in ("latitude", "longitude"):
        if field in fields:
            ctx[field] = text(fields[field]).str.replace(",", ".").cast(pl.Float64, strict=False)
    origin_codes = [text(fields[f"origin{n}_pcode"]) for n in (4, 3, 2, 1) if f"origin{n}_pcode" in fields]
    origin_names = [text(fields[f"origin{n}_name"]) for n in (4, 3, 2, 1) if f"origin{n}_name" in fields]
    if origin_codes:
        ctx["origin_pcode"] = pl.coalesce(origin_codes)
    if origin_names:
        ctx["origin_name"] = pl.coalesce(origin_names)
    if "admin_level" in fields:
        ctx["admin_level"] = text(fields["admin_level"]).cast(pl.Float64, strict=False).cast(pl.Int8, strict=False)
    else:
        place = {f: text(c) for f, c in fields.items() if f.startswith(("adm", "site_code", "site_name"))}
        ctx["admin_level"] = finest_level(place)
    return ctx


