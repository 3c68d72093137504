"""DTM flow-monitoring exports: point counts (FMC) and flow-monitoring surveys (FMS), CSV or CSV.gz.

Counts (`t, fmp, fmp_country, from, to, n` [, route, reason_*]): one row is one tally of travellers
seen at a flow-monitoring point (FMP) on a day, from one country to another. Surveys (`t, fmp,
direction, nationality, sex, age, origin, origin_adm1, ..., destination, ...`): one row is one
interviewed traveller. Survey rows are restricted microdata: the adapter only ever emits counts of
people per point and month, never a row per person, and it drops the personal fields it does not
count (length of stay, unaccompanied-minor flag, reasons).

Rounds: one round per point country and calendar month, numbered YYYYMM (FMC for counts, FMS for
surveys). DTM publishes flow monitoring as monthly dashboards per country, a month is the period a
correction is re-issued for, and days would make thousands of tiny rounds. Within a round each FMP is
a source-defined site (admin level 5) and each (origin, destination, direction[, nationality])
corridor is a `part` of its figure, so the point's headline figure is the month's total flow.

Streaming: the file is read in chunks of complete lines and each chunk is summed into per-month
cells at once, two chunks at a time in threads (ingest/csv_chunks.py); memory holds the cells
(points x months x corridors), not the rows. Rows that cannot be used (no date, no point, a count
that is not a whole number) are reported one by one.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import polars as pl

from mobtrack.gazetteer.names import name_key
from mobtrack.ingest import register
from mobtrack.ingest.base import Adapter, Batch, ImportOptions, SourceFile
from mobtrack.ingest.csv_chunks import head_text, line_chunks, map_in_order
from mobtrack.ingest.values import parse_counts, parse_counts_repeated, parse_dates_repeated
from mobtrack.model import conform
from mobtrack.model.records import SITE_LEVEL
from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import ImportRejected, Issue

COUNT_COLUMNS = {"t", "fmp", "from", "to", "n"}
SURVEY_COLUMNS = {"t", "fmp", "direction", "sex", "age", "origin", "destination"}
# Optional columns either kind may carry: fmp_country, fmp_type (site type), transport, and the point's
# coordinates under one of these names. Anything else (route, reason_*, stay_*, uam) is not stored.
LATITUDE, LONGITUDE = ("latitude", "lat", "fmp_latitude", "fmp_lat"), ("longitude", "lon", "lng", "fmp_longitude",
                                                                       "fmp_lon")
DIRECTIONS = {"inflow": "incoming", "incoming": "incoming", "in": "incoming", "entry": "incoming",
              "outflow": "outgoing", "outgoing": "outgoing", "out": "outgoing", "exit": "outgoing",
              "internal": "internal", "transit": "transit"}
# Every column the adapter reads; the others are not parsed.
USED_COLUMNS = (COUNT_COLUMNS | SURVEY_COLUMNS | {"fmp_country", "fmp_type", "transport", "nationality", "origin_adm1",
                                                 "destination_adm1", *LATITUDE, *LONGITUDE})
BYTES_PER_ROW = 80  # rough CSV line length: turns ImportOptions.batch_rows into a chunk size
# Working memory is ~25x the chunk (text columns, parsed dates and counts, checks), and two chunks are
# summed at once: 4 MB chunks keep the adapter at ~250 MB whatever the file's size (the WCA export:
# 223 MB one chunk at a time, 250 MB two), and larger chunks are not faster.
MAX_CHUNK_BYTES = 4 << 20


def _header(text: str) -> set[str]:
    return {c.strip().strip('"').lower() for c in text.split(",")}


def _text(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


# A row with no date, point or country belongs to no point's figure: it is reported and left out, and the
# points' figures stay right (a warning, so the file's other months can be published). A count that
# cannot be read leaves its point's figure short: an error, which blocks publishing until fixed.
UNPLACED = {"t", "fmp", "fmp_country", "direction"}


def _issues(bad: pl.DataFrame, file: str) -> list[Issue]:
    return [Issue(Severity.WARNING if r["column"] in UNPLACED else Severity.ERROR, r["rule"], r["message"], file,
                  None, r["row"], r["column"], r["value"]) for r in bad.iter_rows(named=True)]


class _Cells:
    """Running sums of count cells: partial sums per chunk, compacted whenever they pile up."""

    def __init__(self, keys: list[str]):
        self.keys, self.parts, self.rows = keys, [], 0

    def add(self, frame: pl.DataFrame) -> None:
        self.parts.append(frame)
        self.rows += frame.height
        if len(self.parts) > 8:
            self.parts = [self.total()]
            self.rows = self.parts[0].height

    def total(self) -> pl.DataFrame:
        return pl.concat(self.parts).group_by(self.keys).agg(
            pl.col("value").sum(), pl.col("first_row").min(), pl.col("rows").sum(),
            pl.col("spelling").first(), *_COORDINATES)


# A point's coordinates: the first given (exports repeat them on every row of the point).
_COORDINATES = [pl.col(c).drop_nulls().first().alias(c) for c in ("_lat", "_lon")]


def _opt(name: str, cols: set[str]) -> pl.Expr:
    return _text(name) if name in cols else pl.lit(None, dtype=pl.String)


def _coordinate(names: tuple[str, ...], cols: set[str], limit: float) -> pl.Expr:
    found = next((n for n in names if n in cols), None)
    if found is None:
        return pl.lit(None, dtype=pl.Float64)
    value = _text(found).str.replace(",", ".").cast(pl.Float64, strict=False)
    return pl.when(value.abs() <= limit).then(value)  # out-of-range coordinates are dropped, not guessed


@register
class FlowMonitoringAdapter(Adapter):
    name = "dtm-flow-monitoring"
    description = "DTM flow-monitoring exports: point counts (t, fmp, from, to, n) or survey records (FMS), CSV/CSV.gz"

    def sniff(self, source: SourceFile, head: bytes) -> float:
        cols = _header(head_text(head))
        if COUNT_COLUMNS <= cols or SURVEY_COLUMNS <= cols:
            return 0.95
        return 0.0

    def read(self, source: SourceFile, options: ImportOptions) -> Iterator[Batch]:
        from mobtrack.ingest.safety import check_size

        check_size(source)
        with open(source.path, "rb") as fh:
            cols = _header(head_text(fh.read(65536)))
        survey = SURVEY_COLUMNS <= cols
        if not survey and not COUNT_COLUMNS <= cols:
            raise ImportRejected(f"{source.name}: not a flow-monitoring export: needs columns "
                                 f"{', '.join(sorted(COUNT_COLUMNS))} (counts) or {', '.join(sorted(SURVEY_COLUMNS))} "
                                 f"(survey); found {', '.join(sorted(cols))}")
        if not survey and "fmp_country" not in cols and not options.country_iso3:
            raise ImportRejected(f"{source.name}: no fmp_country column: give the points' country with --country")
        keys = (["_country", "_month", "_site", "origin", "destination", "_transport", "_site_type"] if not survey
                else ["_country", "_month", "_site", "direction", "nationality", "origin", "origin_adm1",
                      "destination", "destination_adm1", "sex", "age", "_transport", "_site_type"])
        cells, issues, rows, spellings = _Cells(keys), [], 0, {}

        def work(text: bytes) -> tuple[pl.DataFrame, pl.DataFrame, int]:
            chunk = self._parse(source, text)  # rows numbered from 0 here: the chunk's place is known below
            return *self._sum_chunk(chunk, 0, survey, options, spellings, keys), chunk.height

        chunks = line_chunks(source.path, min(MAX_CHUNK_BYTES, max(1024, options.batch_rows * BYTES_PER_ROW)))
        for summed, bad, height in map_in_order(work, chunks):
            offset = rows + 2  # the header is row 1
            rows += height
            issues.extend(_issues(bad.select("rule", "message", pl.col("row") + offset, "column",
                                             pl.col("shown").alias("value")), source.name))
            cells.add(summed.with_columns(pl.col("first_row") + offset))
        if rows == 0:
            raise ImportRejected(f"{source.name}: the file has a header but no rows")
        total = cells.total()
        if total.is_empty():
            yield Batch(records=conform(pl.DataFrame()), issues=issues)
            return
        frame = self._survey_records(total, options) if survey else self._count_records(total, options)
        notes = [f"{rows:,} {'survey records' if survey else 'count rows'} summed into {frame.height:,} values "
                 f"(one round per country and month); {len(issues):,} rows rejected"]
        if survey:
            notes.append("survey records are restricted microdata: only counts per point and month are stored")
        # Sorted by round, so the pipeline finalises each round as soon as the next one starts; then by
        # every column, as the sums come out in hash order: the same file gives the same rows, sites' ids
        # and issues on every run.
        first = ["country_iso3", "round_number", "site_name", "source_row"]
        frame = frame.sort(first + [c for c in frame.columns if c not in first], nulls_last=True)
        step = max(1, options.batch_rows)
        for i, start in enumerate(range(0, frame.height, step)):
            yield Batch(records=frame.slice(start, step), issues=issues if i == 0 else [],
                        notes=notes if i == 0 else [])

    def _parse(self, source: SourceFile, text: bytes) -> pl.DataFrame:
        """A block of the file (its header line, then records: `line_chunks`) as text columns."""
        # only the columns the adapter reads (exports carry route, reason_*, stay_*... as well)
        try:
            names = pl.read_csv(io.BytesIO(text[:text.find(b"\n") + 1]), n_rows=0, infer_schema=False,
                                encoding="utf8").columns
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError):
            names = []
        wanted = [n for n in names if n.strip().lstrip("\ufeff").lower() in USED_COLUMNS]
        try:
            chunk = pl.read_csv(io.BytesIO(text), infer_schema=False, encoding="utf8",
                                truncate_ragged_lines=False,
                                columns=wanted if wanted and len(set(wanted)) == len(wanted) else None)
        except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
            raise ImportRejected(f"{source.name}: cannot read the CSV ({str(exc).splitlines()[0]}); "
                                 "is it UTF-8 and comma-separated?") from exc
        return chunk.rename({c: c.strip().lstrip("\ufeff").lower() for c in chunk.columns})

    def _sum_chunk(self, chunk: pl.DataFrame, offset: int, survey: bool, options: ImportOptions,
                   spellings: dict[str, str], keys: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """A chunk's usable rows summed into cells (`keys`), and its unusable rows, tidied (`_tidy`).

        Apart from its count, every check and every cell key depends only on a row's text columns,
        and a chunk repeats a few points, days and corridors over many rows (a ninth as many distinct
        texts as rows in DTM's West and Central Africa export). So the rows with a usable count are
        summed per distinct text first, and the typing and checks run on those sums; a rejected text's
        verdict is then given to each of its rows, and only the rows whose count cannot be used are
        tidied one by one (each is reported exactly as `_tidy` judges a row)."""
        text = [c for c in chunk.columns if c in USED_COLUMNS and c != "n"]
        count = pl.lit("1") if survey else pl.col("n")
        value, problem = parse_counts(count) if survey else parse_counts_repeated(chunk, count)
        rows = chunk.select(*text, (pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias("row"),
                            value.alias("value"), problem.alias("_problem"), count.alias("_raw"))
        usable = pl.col("value").is_not_null() & (pl.col("value") >= 0)  # the count checks of _tidy pass
        # maintain_order: the sums come in the order of their first rows, so `first` below is the first row's
        distinct = rows.filter(usable).group_by(text, maintain_order=True).agg(
            pl.col("value").sum(), pl.col("row").min(), pl.len().alias("rows")).with_columns(
            pl.lit(None, dtype=pl.String).alias("_problem"), pl.lit(None, dtype=pl.String).alias("_raw"))
        tidy = self._tidy(distinct, survey, options, spellings, carry=["rows"])
        rejected = tidy["rule"].is_not_null()  # a check on the text failed: every row of that text is reported
        summed = tidy.filter(~rejected).group_by(keys).agg(
            pl.col("value").sum(), pl.col("row").min().alias("first_row"), pl.col("rows").sum(),
            pl.col("fmp").first().alias("spelling"), *_COORDINATES)
        verdict = ["row", "rule", "message", "column", "shown"]
        # a row whose count cannot be used is judged on its own; it is usually one row in hundreds
        unusable = rows.filter(~usable)
        parts = [self._tidy(unusable, survey, options, spellings).filter(pl.col("rule").is_not_null())
                 .select(verdict)] if unusable.height else []
        if rejected.any():
            # A usable count passes the count checks, and every other check reads the row's text only:
            # each row of a rejected text has that text's verdict, as `_tidy` would judge it on its own.
            judged = distinct.select(text).hstack(tidy.select(verdict[1:])).filter(rejected)
            parts.append(rows.filter(usable).select(*text, "row").join(
                judged, on=text, how="inner", nulls_equal=True).select(verdict))
        if not parts:
            return summed, pl.DataFrame(schema={"row": pl.Int64, "rule": pl.String, "message": pl.String,
                                                "column": pl.String, "shown": pl.String})
        return summed, pl.concat(parts).sort("row") if len(parts) > 1 else parts[0]

    def _tidy(self, chunk: pl.DataFrame, survey: bool, options: ImportOptions, spellings: dict[str, str],
              carry: list[str] = ()) -> pl.DataFrame:
        """Typed columns and the first problem of each row (`rule`, null if none), row for row. `chunk`:
        the text columns with `row`, the parsed count (`value`, `_problem`) and its text (`_raw`); `carry`:
        columns passed through."""
        cols = set(chunk.columns)

        def opt(name: str) -> pl.Expr:
            return _opt(name, cols)

        # Name keys are computed in Python once per distinct spelling (a file has a few dozen points).
        # `spellings` is shared by the chunks summed in other threads: only this chunk's are read back.
        mine = {}
        for raw in chunk["fmp"].str.strip_chars().drop_nulls().unique().to_list():
            key = spellings.get(raw)
            mine[raw] = spellings[raw] = key if key is not None else name_key(raw) or raw.strip().lower()
        date = parse_dates_repeated(pl.col("t"))
        frame = chunk.select(
            "row", *carry,
            date.alias("_date"), _text("t").alias("_t"),
            _text("fmp").alias("fmp"),
            _text("fmp").replace_strict(mine, default=None, return_dtype=pl.String).alias("_site"),
            "value", "_problem", "_raw",
            opt("fmp_country").str.to_uppercase().alias("_country"),
            opt("transport").alias("_transport"), opt("fmp_type").alias("_site_type"),
            _coordinate(LATITUDE, cols, 90).alias("_lat"), _coordinate(LONGITUDE, cols, 180).alias("_lon"),
            *self._dimensions(cols, survey),
        )
        if options.country_iso3:
            frame = frame.with_columns(pl.lit(options.country_iso3.upper()).alias("_country"))
        elif survey:  # a survey point is where travellers enter (inflow) or leave (outflow) its country
            frame = frame.with_columns(
                pl.when(pl.col("direction") == "incoming").then(pl.col("destination"))
                .when(pl.col("direction") == "outgoing").then(pl.col("origin")).alias("_country"))
        frame = frame.with_columns(pl.col("_date").dt.truncate("1mo").alias("_month"))
        checks = [
            (pl.col("_t").is_null(), "missing-required-field", "no date", "t", pl.col("_t")),
            (pl.col("_date").is_null(), "implausible-date", "date not understood", "t", pl.col("_t")),
            (pl.col("fmp").is_null(), "missing-required-field", "no flow-monitoring point", "fmp", pl.col("fmp")),
            (pl.col("value").is_null() & pl.col("_problem").is_null(), "empty-count", "no count", "n", pl.col("_raw")),
            (pl.col("value").is_null(), pl.col("_problem"), pl.lit("count not usable: ") + pl.col("_problem"), "n",
             pl.col("_raw")),
            (pl.col("value") < 0, pl.lit("negative-count"), "negative count", "n", pl.col("_raw")),
        ]
        if not survey:  # a survey point's country is settled over all its rows (see _survey_records)
            checks.append((pl.col("_country").is_null(), "missing-required-field",
                           "point's country unknown (give --country)", "fmp_country", pl.col("_country")))
        if survey:
            checks.insert(3, (pl.col("direction").is_null(), "missing-required-field",
                              "direction is not inflow or outflow", "direction", pl.col("_direction_raw")))
        first, *others = checks
        rule = pl.when(first[0]).then(pl.lit(first[1]))
        message = pl.when(first[0]).then(pl.lit(first[2]))
        column = pl.when(first[0]).then(pl.lit(first[3]))
        shown = pl.when(first[0]).then(first[4])
        for cond, slug, text, col, cell in others:
            rule = rule.when(cond).then(pl.lit(slug) if isinstance(slug, str) else slug)
            message = message.when(cond).then(pl.lit(text) if isinstance(text, str) else text)
            column = column.when(cond).then(pl.lit(col))
            shown = shown.when(cond).then(cell)
        return frame.with_columns(rule.alias("rule"), message.alias("message"), column.alias("column"),
                                  shown.cast(pl.String).alias("shown"))

    def _dimensions(self, cols: set[str], survey: bool) -> list[pl.Expr]:
        def opt(name: str) -> pl.Expr:
            return _opt(name, cols)

        if not survey:
            return [opt("from").str.to_uppercase().alias("origin"), opt("to").str.to_uppercase().alias("destination")]
        direction = opt("direction").str.to_lowercase()
        return [
            direction.replace_strict(DIRECTIONS, default=None, return_dtype=pl.String).alias("direction"),
            direction.alias("_direction_raw"),
            opt("nationality").str.to_uppercase().alias("nationality"),
            opt("origin").str.to_uppercase().alias("origin"), opt("origin_adm1").alias("origin_adm1"),
            opt("destination").str.to_uppercase().alias("destination"),
            opt("destination_adm1").alias("destination_adm1"),
            opt("sex").str.to_lowercase().fill_null("unknown").alias("sex"),
            opt("age").fill_null("unknown").alias("age"),
        ]

    def _round_columns(self, total: pl.DataFrame, assessment: str, options: ImportOptions) -> pl.DataFrame:
        label = "DTM flow monitoring" + (" survey" if assessment == "FMS" else "")
        return total.with_columns(
            (pl.lit(label + " ") + pl.col("_country")).alias("operation") if not options.operation
            else pl.lit(options.operation).alias("operation"),
            pl.col("_country").alias("country_iso3"),
            pl.lit(assessment).alias("assessment_type"),
            (pl.col("_month").dt.year() * 100 + pl.col("_month").dt.month()).cast(pl.Int32).alias("round_number"),
            pl.col("_month").alias("period_start"),
            pl.col("_month").dt.month_end().alias("period_end"),
            pl.col("_month").dt.month_end().alias("reporting_date"),
            pl.lit(SITE_LEVEL, dtype=pl.Int8).alias("admin_level"),
            pl.lit("migrants").alias("population_group"), pl.lit("individuals").alias("unit"),
        )

    def _site_names(self, total: pl.DataFrame) -> pl.DataFrame:
        """One spelling per point (the one most rows used: 'Nafadji' over 'nafadji') and one position."""
        best = (total.group_by("_country", "_site", "spelling").agg(pl.col("rows").sum())
                .sort(["rows", "spelling"], descending=[True, False])
                .group_by("_country", "_site", maintain_order=True).first()
                .select("_country", "_site", pl.col("spelling").alias("site_name")))
        where = total.sort("first_row").group_by("_country", "_site").agg(*_COORDINATES)
        return total.drop("_lat", "_lon").join(best, on=["_country", "_site"], how="left").join(
            where, on=["_country", "_site"], how="left")

    def _count_records(self, total: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
        # Counts do not say which way travellers cross: it follows from the point's country.
        direction = (pl.when((pl.col("origin") == pl.col("_country")) & (pl.col("destination") == pl.col("_country")))
                     .then(pl.lit("internal"))
                     .when(pl.col("destination") == pl.col("_country")).then(pl.lit("incoming"))
                     .when(pl.col("origin") == pl.col("_country")).then(pl.lit("outgoing"))
                     .otherwise(pl.lit("transit")))
        total = self._site_names(total)
        out = self._round_columns(total, "FMC", options).select(
            "operation", "country_iso3", "assessment_type", "round_number", "reporting_date", "period_start",
            "period_end", "admin_level", "site_name", pl.col("_site_type").alias("site_type"),
            pl.col("_lat").alias("latitude"), pl.col("_lon").alias("longitude"),
            "population_group", "unit", pl.lit("part").alias("role"),
            pl.col("origin").alias("origin_pcode"), pl.col("destination").alias("destination_pcode"),
            direction.alias("direction"), pl.col("_transport").alias("transport"), "value",
            pl.lit("data").alias("source_sheet"), pl.col("first_row").alias("source_row"),
            pl.lit("n").alias("source_column"))
        return conform(out)

    def _survey_records(self, total: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
        # A survey point belongs to the country most of its travellers enter or leave (unless --country).
        home = (total.drop_nulls("_country").group_by("_site", "_country").agg(pl.col("value").sum())
                .sort(["value", "_country"], descending=[True, False])
                .group_by("_site", maintain_order=True).first().select("_site", pl.col("_country").alias("_home")))
        total = self._site_names(total.join(home, on="_site", how="left").with_columns(pl.col("_home").alias("_country")))
        base = self._round_columns(total, "FMS", options)
        common = ["operation", "country_iso3", "assessment_type", "round_number", "reporting_date", "period_start",
                  "period_end", "admin_level", "site_name", "_site_type", "_lat", "_lon", "population_group", "unit", "direction",
                  "_transport"]
        agg = [pl.col("value").sum(), pl.col("first_row").min()]
        # The corridor (who, from where, to where) partitions a point's month; sex x age breaks it down.
        parts = base.group_by(common + ["nationality", "origin", "origin_adm1", "destination",
                                        "destination_adm1"]).agg(agg)
        parts = parts.with_columns(pl.lit("part").alias("role"), pl.col("origin").alias("origin_pcode"),
                                   pl.col("origin_adm1").alias("origin_name"),
                                   pl.col("destination").alias("destination_pcode"),
                                   pl.col("destination_adm1").alias("destination_name"))
        breakdown = base.group_by(common + ["sex", "age"]).agg(agg).with_columns(
            pl.lit("breakdown").alias("role"), pl.col("age").alias("age_band"))
        keep = [*common, "role", "value", "first_row"]
        out = pl.concat([
            parts.select(*keep, "nationality", "origin_pcode", "origin_name", "destination_pcode", "destination_name"),
            breakdown.select(*keep, "sex", "age_band"),
        ], how="diagonal_relaxed")
        return conform(out.rename({"_site_type": "site_type", "_transport": "transport", "_lat": "latitude",
                                   "_lon": "longitude",
                                   "first_row": "source_row"}).with_columns(
            pl.lit("data").alias("source_sheet"), pl.lit("survey record").alias("source_column")))
