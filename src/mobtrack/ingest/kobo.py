"""DTM data-dictionary CSV and raw KoboToolbox exports of DTM forms.

DTM names its form variables after its data dictionary: `m0310_loc_num_idp_ind` is dictionary
entry m0310, and the rest says what it is (a location-level number of IDP individuals). The id
may differ between form versions; the suffix is what this adapter reads, so a new form that
reuses the dictionary's words imports without a mapping file.

One row is one assessed village or site, located by its admin1-3 p-codes; counts of IDPs,
returnees, arrivals and departures (individuals and households) and their men/women/children
breakdowns become canonical records at site level (admin level 5).

Only the variables listed here are read. Everything else in the export, including the
enumerator's details, the GPS position where the interview started, phone numbers and free-text
remarks, never reaches a canonical record; only the village's own coordinates do.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator

import polars as pl

from mobtrack.ingest import register
from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.ingest.cells import ValueColumn, finest_level, harmonise_breakdowns, melt
from mobtrack.ingest.identity import given_reporting_date, resolve
from mobtrack.ingest.safety import check_size, check_xlsx, encoding_note, head_text, looks_like_xlsx, utf8_csv
from mobtrack.ingest.tables import (
    ROW,
    read_csv_head,
    read_xlsx_sheet,
    sniff_separator,
    stream_csv,
    xlsx_sheet_names,
)
from mobtrack.ingest.values import parse_dates_repeated
from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import ImportRejected, Issue

VARIABLE = re.compile(r"^_?[ms]\d{4}_(?P<suffix>[a-z0-9_]+)$")

# Context variables, by suffix, in order of preference when several fill the same field.
CONTEXT = {
    "meta_adm0_pcode": "country_iso3",
    "meta_adm1_pcode": "adm1_pcode",
    "meta_adm2_pcode": "adm2_pcode",
    "meta_adm3_pcode": "adm3_pcode",
    "loc_site_id_ssid": "site_code",
    "meta_adm4_pcode": "site_code",
    "loc_site_name": "site_name",
    "meta_adm4_pcode_other": "site_name",  # the village typed in when it is not in the list
    "meta_survey_round": "round_number",
    "loc_site_type_multiple": "site_type",
}
# Kobo's own calculated columns, which carry no dictionary id.
PLAIN_CONTEXT = {"admin_4_name_txt_calc": "site_name"}
ASSESSMENT_DATE = "meta_assessment_date"
VILLAGE_GPS = "loc_gps_coords"  # "lat lon altitude precision" of the village itself

# What a `loc_num_<what>_<unit>` variable counts.
GROUPS = {
    "idp": "idps", "idps": "idps", "arrival": "idps", "arrivals": "idps",
    "return_idp": "returnees_internal", "return": "returnees_internal", "returnee": "returnees_internal",
    "returnees": "returnees_internal", "return_abroad": "returnees_abroad", "returnee_abroad": "returnees_abroad",
    "refugee": "refugees", "refugees": "refugees", "migrant": "migrants", "migrants": "migrants",
    "host": "host_community", "depart": "absentees", "departure": "absentees", "departures": "absentees",
}
PEOPLE = {"men": ("male", "adult"), "women": ("female", "adult"), "boys": ("male", "children"),
          "girls": ("female", "children"), "children": (None, "children"), "elderly": (None, "elderly")}
TOTAL_VALUE = re.compile(r"^loc_num_(?P<what>[a-z_]+?)_(?P<unit>ind|hh)(?:_period)?$")
BREAKDOWN_VALUE = re.compile(r"^loc_num_(?P<who>men|women|boys|girls|children|elderly)_(?P<what>[a-z_]+)$")
# Personal or sensitive variables we name in the notes so that the user sees they were left out.
SENSITIVE = re.compile(r"enum|phone|gps|respondent|_name_ki|ki_|contact|remarks|_submitted_by|_uuid|email")

# Exports write an empty answer as these.
BLANKS = ["NULL", "NaT", "nan", "N/A"]


def variables(header: list[str | None]) -> dict[str, str]:
    """{suffix: column} of the data-dictionary variables in a header row."""
    found = {}
    for col, name in enumerate(header):
        # Kobo may prefix group paths ("grp_idp/m0310_..."); select-multiple options end in "/option"
        m = VARIABLE.match(str(name or "").strip().lower().rsplit("/", 1)[-1])
        if m:
            found.setdefault(m.group("suffix"), f"c{col}")
    return found


def labels(header: list[str | None]) -> dict[str, str]:
    return {f"c{i}": str(name).strip() for i, name in enumerate(header) if name}


def value_columns(suffixes: dict[str, str], names: dict[str, str]) -> tuple[list[ValueColumn], list[str]]:
    values: list[ValueColumn] = []
    unread: list[str] = []
    for suffix, col in suffixes.items():
        if not suffix.startswith("loc_num_"):
            continue
        if m := BREAKDOWN_VALUE.match(suffix):
            group = GROUPS.get(m.group("what"))
            if group:
                sex, age = PEOPLE[m.group("who")]
                values.append(ValueColumn(col, names.get(col, suffix), group, "individuals", "breakdown",
                                          sex=sex, age_band=age))
                continue
        if m := TOTAL_VALUE.match(suffix):
            group = GROUPS.get(m.group("what"))
            unit = "individuals" if m.group("unit") == "ind" else "households"
            if group:
                values.append(ValueColumn(col, names.get(col, suffix), group, unit, "total"))
                continue
        unread.append(names.get(col, suffix))
    # Arrivals are the IDPs who came to the place: when the form also asks the number of IDPs
    # present, arrivals repeat it and must not be counted twice.
    totals: dict[tuple[str, str], ValueColumn] = {}
    kept = []
    for v in sorted(values, key=lambda v: ("arriv" in v.label, v.label)):
        key = (v.group, v.unit, v.role, v.sex, v.age_band)
        if v.role == "total" and key in totals:
            unread.append(f"{v.label} (same figure as {totals[key].label})")
            continue
        totals[key] = v
        kept.append(v)
    return harmonise_breakdowns(kept), unread


@register
class KoboAdapter(Adapter):
    name = "dtm-kobo"
    description = "DTM data-dictionary CSV (m0310_loc_num_idp_ind ...) and raw KoboToolbox exports of DTM forms"

    def sniff(self, source: SourceFile, head: bytes) -> float:
        if looks_like_xlsx(source.path, head):
            # a workbook: look for dictionary variable names among its first shared strings
            strings = ""
            try:
                with zipfile.ZipFile(source.path) as zf:
                    for part in ("xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"):  # shared or inline strings
                        if part in zf.namelist():
                            with zf.open(part) as fh:
                                strings += fh.read(1 << 18).decode("utf-8", "replace")
            except (OSError, zipfile.BadZipFile):
                return 0.0
            names = re.findall(r"<t[^>]*>([^<>]{5,80})</t>", strings)
            return 0.8 if len(variables(names)) >= 3 else 0.0
        text = head_text(head)
        first = text.splitlines()[0] if text else ""
        names = first.split(sniff_separator(text))
        return 0.92 if len(variables([n.strip('"') for n in names])) >= 3 else 0.0

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        with open(source.path, "rb") as fh:
            xlsx = looks_like_xlsx(source.path, fh.read(8))
        if xlsx:
            check_xlsx(source.path)
            names = xlsx_sheet_names(source.path)
            sheet = options.sheet or names[0]
            if sheet not in names:
                raise ImportRejected(f"{source.name}: no sheet {sheet!r}; sheets: {', '.join(names)}")
            grid = read_xlsx_sheet(source.path, sheet).grid
            header = [grid[c][0] for c in grid.columns if c != ROW]
            notes = [f"read sheet {sheet!r}"]
            yield from self._records(source, options, header, lambda: iter([grid.slice(1)]), sheet, notes)
            return
        check_size(source)
        with utf8_csv(source.path) as (path, encoding):
            with open(path, "rb") as fh:
                sep = sniff_separator(fh.read(65536).decode("utf-8", "replace"))
            head = read_csv_head(path, sep, 2)
            header = [head[c][0] for c in head.columns if c != ROW]
            notes = [encoding_note(encoding)] if encoding != "utf-8" else []
            yield from self._records(source, options, header,
                                     lambda: stream_csv(path, sep, 1, len(header), options.batch_rows), None, notes)

    def _records(self, source, options, header: list, frames, sheet, notes: list[str]) -> Iterator[Batch]:
        """Canonical records from the batches `frames()` yields (callable: the dates need a first pass)."""
        suffixes = variables(header)
        values, unread = value_columns(suffixes, labels(header))
        if not values:
            raise ImportRejected(f"{source.name}: no count variable (loc_num_..._ind / _hh) among the "
                                 "data-dictionary columns; use --format mapping with a mapping file")
        notes = [f"{len(suffixes)} data-dictionary variables; {len(values)} count variables read", *notes]
        if unread:
            notes.append("count variables not read: " + ", ".join(unread))
        left_out = [h for h in header if h and SENSITIVE.search(h.lower()) and VILLAGE_GPS not in h.lower()]
        if left_out:
            notes.append("personal or sensitive fields left out: " + ", ".join(left_out))
        dates = _period(frames(), suffixes)
        context_cols = _context_columns(suffixes, header)
        ctx = None
        for batch in frames():
            batch = batch.with_columns(
                [pl.when(pl.col(c).is_in(BLANKS)).then(None).otherwise(pl.col(c)).alias(c)
                 for c in batch.columns if c != ROW]
            )
            if ctx is None:
                ctx = self._context(context_cols, suffixes, dates, batch, options, source.name, notes)
            records, issues = melt(batch, ctx, values, file=source.name, sheet=sheet)
            issues += _stray_dates(batch, suffixes, dates, source.name, sheet, labels(header))
            records = records.with_columns(pl.lit(sheet, dtype=pl.String).alias("source_sheet"))
            yield Batch(records=records, issues=issues, sheet=sheet, notes=notes)
            notes = []
        if ctx is None:
            raise ImportRejected(f"{source.name}: no data rows below the header")

    def _context(self, cols: dict[str, list[str]], suffixes, dates, batch, options, file, notes) -> dict:
        def text(names: list[str]) -> pl.Expr:
            exprs = [pl.col(c).str.strip_chars() for c in names]
            return pl.coalesce([pl.when(e == "").then(None).otherwise(e) for e in exprs])

        own = {f: text(c) for f, c in cols.items() if f in {"country_iso3", "round_number", "adm1_pcode", "adm2_pcode"}}
        if "round_number" in own:
            # DTM round codes: "B2_01" is baseline 2, round 1
            own["assessment_type"] = pl.when(own["round_number"].str.contains(r"(?i)^B\d*[_\-]\d+$")).then(pl.lit("BA"))
        ctx = resolve(own, options, file, batch, notes)
        for field in ("adm1_pcode", "adm2_pcode", "adm3_pcode", "site_code", "site_name", "site_type"):
            if field in cols:
                ctx[field] = text(cols[field])
        if dates:
            ctx["period_start"] = pl.lit(dates[0])
            ctx["period_end"] = pl.lit(dates[1])
            ctx["reporting_date"] = pl.lit(dates[1])
            notes.append(f"assessments from {dates[0]} to {dates[1]}: reporting date set to the last day")
        given_reporting_date(options, ctx, notes, file)
        lat = suffixes.get(f"{VILLAGE_GPS}_latitude")
        lon = suffixes.get(f"{VILLAGE_GPS}_longitude")
        if lat and lon:
            ctx["latitude"] = pl.col(lat).cast(pl.Float64, strict=False)
            ctx["longitude"] = pl.col(lon).cast(pl.Float64, strict=False)
        elif VILLAGE_GPS in suffixes:
            parts = pl.col(suffixes[VILLAGE_GPS]).str.strip_chars().str.split(" ")
            ctx["latitude"] = parts.list.get(0, null_on_oob=True).cast(pl.Float64, strict=False)
            ctx["longitude"] = parts.list.get(1, null_on_oob=True).cast(pl.Float64, strict=False)
        ctx["admin_level"] = finest_level({k: v for k, v in ctx.items() if k.startswith(("adm", "site_code", "site_name"))})
        return ctx


GAP_DAYS = 60  # assessments of one round run without a two-month pause


def _period(frames, suffixes: dict[str, str]) -> tuple | None:
    """(first, last, stray dates) of the assessments, from a pass over the date column only.

    A date separated from all the others by more than GAP_DAYS (a year typed wrong) does not
    stretch the round's period: it is returned as stray, and reported row by row.
    """
    col = suffixes.get(ASSESSMENT_DATE)
    if col is None:
        return None
    counts = [b.select(parse_dates_repeated(pl.col(col)).alias("d")).drop_nulls().unique() for b in frames]
    days = sorted(set(pl.concat(counts)["d"].to_list())) if counts else []
    if not days:
        return None
    # the largest run of dates without a long pause is the round; dates outside it are stray
    runs, current = [], [days[0]]
    for day in days[1:]:
        if (day - current[-1]).days > GAP_DAYS:
            runs.append(current)
            current = []
        current.append(day)
    runs.append(current)
    main = max(runs, key=len)
    stray = sorted(d for run in runs if run is not main for d in run)
    return main[0], main[-1], stray


def _stray_dates(batch: pl.DataFrame, suffixes: dict[str, str], dates, file: str, sheet,
                 names: dict[str, str]) -> list[Issue]:
    if not dates or not dates[2]:
        return []
    col = suffixes[ASSESSMENT_DATE]
    rows = batch.select(pl.col(ROW), pl.col(col), parse_dates_repeated(pl.col(col)).alias("d")).filter(
        pl.col("d").is_in(dates[2]))
    return [Issue(Severity.WARNING, "stray-assessment-date",
                  f"assessment date {day} is more than {GAP_DAYS} days away from the round's other assessments "
                  f"({dates[0]} to {dates[1]}): left out of the round's period; check the year",
                  file, sheet, row, names.get(col, col), raw)
            for row, raw, day in rows.iter_rows()]


def _context_columns(suffixes: dict[str, str], header: list) -> dict[str, list[str]]:
    cols: dict[str, list[str]] = {}
    for suffix, field in CONTEXT.items():
        if suffix in suffixes:
            cols.setdefault(field, []).append(suffixes[suffix])
    for i, name in enumerate(header):
        field = PLAIN_CONTEXT.get(str(name or "").strip().lower())
        if field:
            cols.setdefault(field, []).insert(0, f"c{i}")
    return cols
