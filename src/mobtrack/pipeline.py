"""The import pipeline: source file -> adapter -> canonical records -> match places -> validate -> store.

One file is one transaction. Rounds are finalised one at a time (memory is bounded by one batch
plus the rounds it touches): duplicates settled, round rules run, content hashed and compared
with the stored version, figures rolled up, blocks written. If nothing changed, the transaction
is rolled back and the import reports `unchanged`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, insert, select

from mobtrack import gazetteer
from mobtrack.analytics.rollup import rollup
from mobtrack.ingest import ImportOptions, SourceFile, get_adapter
from mobtrack.model.vocab import Severity
from mobtrack.store import rounds
from mobtrack.store.blocks import OBSERVATION_COLUMNS
from mobtrack.store.db import ensure_schema
from mobtrack.store.places import hierarchy
from mobtrack.store.schema import issue as issue_table
from mobtrack.store.schema import source_file
from mobtrack.validate import ImportRejected, Issue, RuleContext, check_round, check_rows, repeats

ProgressCallback = Callable[[int], None]
ROUND_KEY = ["operation", "country_iso3", "assessment_type", "round_number"]


@dataclass
class RoundOutcome:
    operation: str
    assessment_type: str
    round_number: int
    reporting_date: str | None
    status: str  # imported | unchanged
    observations: int
    version: int | None = None
    version_id: int | None = None
    round_status: str | None = None  # draft (errors block publishing) | validated | published


@dataclass
class ImportResult:
    file: str
    status: str  # imported | unchanged | rejected
    format: str | None = None
    rounds: list[RoundOutcome] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    message: str | None = None

    @property
    def observations(self) -> int:
        return sum(r.observations for r in self.rounds if r.status == "imported")

    def issue_counts(self) -> dict[str, int]:
        counts = Counter(str(i.severity) for i in self.issues)
        return {s: counts.get(s, 0) for s in ("error", "warning", "info")}

    def as_dict(self) -> dict:
        return {
            "file": self.file, "status": self.status, "format": self.format, "message": self.message,
            "rounds": [r.__dict__ for r in self.rounds], "observations": self.observations,
            "issues": self.issue_counts(), "notes": self.notes,
        }


def _round_totals(figures: pl.DataFrame | None, assessment_type: str, number: int) -> pl.DataFrame:
    """A stored round's headline totals: its country-level figures, where no value was missing."""
    schema = {"assessment_type": pl.String, "round_number": pl.Int64, "population_group": pl.String,
              "unit": pl.String, "value": pl.Int64}
    if figures is None or figures.is_empty():
        return pl.DataFrame(schema=schema)
    top = figures.filter((pl.col("admin_level") == 0) & (pl.col("missing") == 0) & pl.col("value").is_not_null())
    return top.select(pl.lit(assessment_type).alias("assessment_type"), pl.lit(number, dtype=pl.Int64)
                      .alias("round_number"), "population_group", "unit", pl.col("value").cast(pl.Int64))


def _same_as(previous, stored: pl.DataFrame, digest: str, observations: pl.DataFrame,
             meta: rounds.RoundMeta) -> bool:
    """Whether the round's new content equals its current version (`stored` are that version's observations)."""
    if previous.content_hash == digest:
        return True
    if (previous.reporting_date, previous.period_start, previous.period_end) != (
            meta.reporting_date, meta.period_start, meta.period_end):
        return False
    # Row hashes can change with a Polars upgrade; the stored content is the truth.
    if stored.height != observations.height:
        return False
    columns = [c for c in observations.columns if not c.startswith("source_")]
    return stored.select(columns).sort(columns, nulls_last=True).equals(
        observations.select(columns).sort(columns, nulls_last=True))


class _RoundReappeared(Exception):
    """A round came back after it was finalised: the file is not grouped by round (see import_file)."""


def _apply_options(records: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    overrides = {"operation": options.operation, "country_iso3": options.country_iso3,
                 "assessment_type": options.assessment_type, "round_number": options.round_number,
                 "reporting_date": options.reporting_date}
    exprs = [pl.lit(v).cast(records.schema[k]).alias(k) for k, v in overrides.items() if v is not None]
    return records.with_columns(exprs) if exprs else records


def _settle_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Keep the first of rows that describe the same cell, exactly as the duplicate rules judged them
    (the rules report the others, with their values)."""
    return frame.filter(~repeats(frame))


def _merge_levels(stored: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """A file replaces a round's values at the admin levels it covers and keeps the others.

    DTM publishes a round's admin0, admin1 and admin2 figures as separate files: importing them one
    after the other builds up one round; a corrected admin2 file replaces only the admin2 values.
    """
    levels = new["admin_level"].unique().to_list()
    kept = stored.filter(~pl.col("admin_level").is_in(levels))
    return new if kept.is_empty() else pl.concat([kept.select(new.columns), new], how="vertical_relaxed")


class _Importer:
    def __init__(self, conn: Connection, source: SourceFile, options: ImportOptions, settings: dict,
                 progress: ProgressCallback | None):
        self.conn, self.source, self.options, self.progress = conn, source, options, progress
        # One context for the whole file: the issue cap and the file-wide checks keep their counts in it.
        self.ctx = RuleContext(file=source.name, settings=settings, stored_round_totals=self._stored_totals)
        self.totals: dict[str, pl.DataFrame] = {}  # operation -> headline totals of its stored rounds
        self.last_figures: dict[tuple, tuple[int, pl.DataFrame]] = {}  # (operation id, type) -> (round, figures)
        self.result = ImportResult(file=source.name, status="unchanged")
        self.pending: dict[tuple, list[pl.DataFrame]] = {}
        self.finalised: set[tuple] = set()
        self.file_id: int | None = None
        self.stored_issues: list[tuple[int | None, Issue]] = []  # (round version id or None for the file)
        self.row_issues: dict[tuple, list[Issue]] = {}  # row issues by round key, until the round is stored

    def _file_id(self, fmt: str, sheet: str | None) -> int:
        if self.file_id is None:
            self.file_id = self.conn.execute(insert(source_file).values(
                name=self.source.name, sha256=self.source.sha256, size=self.source.size, format=fmt, sheet=sheet,
                imported_at=rounds.now(),
            ).returning(source_file.c.id)).scalar_one()
        return self.file_id

    def run(self, grouped: bool) -> ImportResult:
        adapter = get_adapter(self.source, self.options.format)
        self.result.format = adapter.name
        self.grouped = grouped
        for batch in adapter.read(self.source, self.options):
            self.result.notes.extend(batch.notes)
            self.result.issues.extend(batch.issues)
            self.stored_issues.extend((None, i) for i in batch.issues)
            file_id = self._file_id(adapter.name, batch.sheet)
            records = _apply_options(batch.records, self.options)
            if records.is_empty():
                continue
            self._missing_identity(records)
            matched, place_issues = self._match(records, file_id)
            self._route(place_issues + check_rows(matched, self.ctx), matched)
            self._collect(matched)
            if self.progress:
                self.progress(batch.records.height)
        self._flush(all_rounds=True)
        if not self.result.rounds:
            raise ImportRejected(f"{self.source.name}: no rows with a usable round were found", self.result.issues)
        return self.result

    def _missing_identity(self, records: pl.DataFrame) -> None:
        for column in ROUND_KEY:
            missing = records.filter(pl.col(column).is_null())
            if missing.height:
                flag = {"operation": "--operation", "country_iso3": "--country", "assessment_type": "--assessment-type",
                        "round_number": "--round"}[column]
                raise ImportRejected(
                    f"{self.source.name}: {missing.height} rows have no {column.replace('_', ' ')} "
                    f"(first at row {missing['source_row'][0]}); give it with {flag}",
                    [Issue(Severity.ERROR, "missing-required-field", f"no {column}", self.source.name,
                            missing["source_sheet"][0], missing["source_row"][0], column)],
                )

    def _stored_totals(self, operation_name: str) -> pl.DataFrame:
        """Headline totals (assessment_type, round_number, population_group, unit, value) of the operation's
        stored rounds, read once per file and kept up to date as this file's rounds are stored."""
        if operation_name not in self.totals:
            from mobtrack.analytics.rounds import RoundFilter, current_rounds

            frames = [_round_totals(rounds.read_figures(self.conn, r["version_id"]), r["assessment_type"], r["round"])
                      for r in current_rounds(self.conn, RoundFilter(operation=operation_name)).iter_rows(named=True)]
            self.totals[operation_name] = pl.concat(frames) if frames else _round_totals(None, "", 0)
        return self.totals[operation_name]

    def _match(self, records: pl.DataFrame, file_id: int) -> tuple[pl.DataFrame, list[Issue]]:
        parts, issues = [], []
        for (country,), part in records.group_by(["country_iso3"], maintain_order=True):
            resolution = gazetteer.resolve_places(
                self.conn, part, country_iso3=country, reporting_date=part["reporting_date"].max(),
                source_file_id=file_id, file_name=self.source.name,
            )
            issues.extend(resolution.issues)
            parts.append(resolution.records)
        return pl.concat(parts, how="vertical_relaxed"), issues

    def _route(self, issues: list[Issue], records: pl.DataFrame) -> None:
        """Attach each row's issues to the round the row belongs to (they block publishing that round)."""
        self.result.issues.extend(issues)
        located = [i for i in issues if i.row is not None]
        self.stored_issues.extend((None, i) for i in issues if i.row is None)
        if not located:
            return
        wanted = pl.DataFrame({"source_sheet": [i.sheet for i in located], "source_row": [i.row for i in located]},
                              schema={"source_sheet": pl.String, "source_row": pl.Int64}).with_row_index("_i")
        rows = records.select("source_sheet", "source_row", *ROUND_KEY).unique(["source_sheet", "source_row"])
        keyed = wanted.join(rows, on=["source_sheet", "source_row"], how="left", nulls_equal=True).sort("_i")
        for issue, key in zip(located, keyed.select(ROUND_KEY).rows(), strict=True):
            if key[0] is None:
                self.stored_issues.append((None, issue))
            else:
                self.row_issues.setdefault(key, []).append(issue)

    def _collect(self, records: pl.DataFrame) -> None:
        seen = set()
        for key, part in records.group_by(ROUND_KEY, maintain_order=True):
            key = tuple(key)
            if key in self.finalised:
                raise _RoundReappeared(key)
            self.pending.setdefault(key, []).append(part)
            seen.add(key)
        if self.grouped:
            self._flush(all_rounds=False, keep=seen)

    def _flush(self, all_rounds: bool, keep: set | None = None) -> None:
        for key in list(self.pending):
            if all_rounds or key not in (keep or set()):
                self._finalise(key, pl.concat(self.pending.pop(key), how="vertical_relaxed"))
                self.finalised.add(key)

    def _finalise(self, key: tuple, frame: pl.DataFrame) -> None:
        operation_name, country, assessment_type, number = key
        dates = frame["reporting_date"].drop_nulls()
        reporting_date = dates.mode().sort()[-1] if dates.len() else None
        meta = rounds.RoundMeta(reporting_date, frame["period_start"].min(), frame["period_end"].max())
        op_id = rounds.operation_id(self.conn, operation_name, country)
        rid = rounds.round_id(self.conn, op_id, assessment_type, int(number))
        previous = rounds.current_version(self.conn, rid)
        self.ctx.previous_figures = self._previous_figures(op_id, assessment_type, int(number))
        round_issues = check_round(frame, self.ctx)
        observations = _settle_duplicates(frame.with_columns(pl.lit(self.file_id, dtype=pl.Int64)
                                                             .alias("source_file_id"))).select(OBSERVATION_COLUMNS)
        stored = None if previous is None else rounds.read_observations(self.conn, previous.id)
        if stored is not None:
            observations = _merge_levels(stored, observations)
        digest = rounds.content_hash(observations, meta)
        outcome = RoundOutcome(operation_name, assessment_type, int(number),
                               reporting_date.isoformat() if reporting_date else None, "unchanged", observations.height)
        self.result.issues.extend(round_issues)
        round_issues = self.row_issues.pop(key, []) + round_issues
        self.result.rounds.append(outcome)
        if previous is not None and _same_as(previous, stored, digest, observations, meta):
            outcome.version, outcome.version_id = previous.version, previous.id
            return
        figures = rollup(observations, hierarchy(self.conn, country))
        self.last_figures[(op_id, assessment_type)] = (int(number), figures)
        vid, version = rounds.write_version(self.conn, rid, self.file_id, observations, figures, meta, digest)
        if operation_name in self.totals:
            stored = self.totals[operation_name].filter(
                (pl.col("assessment_type") != assessment_type) | (pl.col("round_number") != int(number)))
            self.totals[operation_name] = pl.concat([stored, _round_totals(figures, assessment_type, int(number))])
        outcome.status, outcome.version, outcome.version_id = "imported", version, vid
        self.result.status = "imported"
        self.stored_issues.extend((vid, i) for i in round_issues)

    def _previous_figures(self, op_id: int, assessment_type: str, number: int) -> pl.DataFrame | None:
        last = self.last_figures.get((op_id, assessment_type))
        if last is not None and last[0] == number - 1:
            return last[1]  # rounds usually come in order: the one just stored is the previous one
        return self._stored_previous_figures(op_id, assessment_type, number)

    def _stored_previous_figures(self, op_id: int, assessment_type: str, number: int) -> pl.DataFrame | None:
        from mobtrack.store.schema import round_, round_version

        prev = self.conn.execute(
            select(round_version.c.id).join(round_, round_.c.current_version_id == round_version.c.id)
            .where(round_.c.operation_id == op_id, round_.c.assessment_type == assessment_type,
                   round_.c.number < number)
            .order_by(round_.c.number.desc()).limit(1)
        ).scalar()
        return None if prev is None else rounds.read_figures(self.conn, prev)

    def settle_status(self) -> None:
        from mobtrack.store.publishing import mark_validated

        for outcome in self.result.rounds:
            if outcome.status == "imported":
                outcome.round_status = mark_validated(self.conn, outcome.version_id)

    def store_issues(self) -> None:
        if not self.stored_issues or self.file_id is None:
            return
        rows = [{"source_file_id": self.file_id, "round_version_id": vid, "severity": str(i.severity),
                 "rule": i.rule, "sheet": i.sheet, "row": i.row, "column": i.column, "value": i.value,
                 "message": i.message} for vid, i in self.stored_issues]
        self.conn.execute(insert(issue_table), rows)


def import_file(path: Path, options: ImportOptions | None = None, db_url: str | None = None,
                settings: dict | None = None, dry_run: bool = False,
                progress: ProgressCallback | None = None) -> ImportResult:
    """Import one file in one transaction. Never raises on bad data: returns a `rejected` result.

    `dry_run` runs everything (matching, rules, hashing) and rolls back: what `mobtrack validate` does.
    `progress` is called with the number of source records after each batch.
    """
    options = options or ImportOptions()
    path = Path(path)
    if not path.is_file():
        return ImportResult(file=str(path), status="rejected", message=f"{path}: no such file")
    source = SourceFile.from_path(path)
    engine = ensure_schema(db_url)
    # Most files are grouped by round, so rounds are finalised as soon as the file moves on; a file
    # that is not is simply imported again holding every round until the end.
    for grouped in (True, False):
        conn = engine.connect()
        trans = conn.begin()
        importer = _Importer(conn, source, options, settings or {}, progress)
        try:
            result = importer.run(grouped)
            if result.status == "imported" and not dry_run:
                importer.store_issues()
                importer.settle_status()
                trans.commit()
            else:
                trans.rollback()
            return result
        except _RoundReappeared:
            trans.rollback()
            continue
        except ImportRejected as exc:
            trans.rollback()
            return ImportResult(file=source.name, status="rejected", message=str(exc),
                                issues=importer.result.issues + exc.issues, format=importer.result.format,
                                notes=importer.result.notes)
        except BaseException:
            trans.rollback()
            raise
        finally:
            conn.close()
    raise AssertionError("unreachable")

