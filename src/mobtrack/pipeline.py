"""The import pipeline: source file -> adapter -> canonical records -> match places -> validate -> store.

One file is one transaction. Rounds are finalised in batches as the file moves past them (memory
is bounded by one batch plus the rounds it touches): duplicates settled, round rules run, content
hashed and compared with the stored version, figures rolled up, blocks written (finalise.py). If
nothing changed, the transaction is rolled back and the import reports `unchanged`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, insert, update

from mobtrack import finalise, gazetteer
from mobtrack.batches import read_ahead, runs
from mobtrack.ingest import ImportOptions, SourceFile, get_adapter
from mobtrack.ingest.base import file_digest
from mobtrack.model.vocab import Severity
from mobtrack.round_checks import Later, RoundChecks, flatten, stored_issues
from mobtrack.store import block_writer, rounds
from mobtrack.store.bulk import insert_rows
from mobtrack.store.db import ensure_schema
from mobtrack.store.schema import issue as issue_table
from mobtrack.store.schema import source_file
from mobtrack.validate import ImportRejected, Issue, RuleContext, all_rules, check_rows

ProgressCallback = Callable[[int], None]
ROUND_KEY = ["operation", "country_iso3", "assessment_type", "round_number"]
FINALISE_ROWS = 20_000  # rounds are finalised together up to about this many rows (finalise.py)


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


class _RoundReappeared(Exception):
    """A round came back after it was finalised: the file is not grouped by round (see import_file)."""


def _apply_options(records: pl.DataFrame, options: ImportOptions) -> pl.DataFrame:
    overrides = {"operation": options.operation, "country_iso3": options.country_iso3,
                 "assessment_type": options.assessment_type, "round_number": options.round_number,
                 "reporting_date": options.reporting_date}
    exprs = [pl.lit(v).cast(records.schema[k]).alias(k) for k, v in overrides.items() if v is not None]
    return records.with_columns(exprs) if exprs else records


class _Importer:
    def __init__(self, conn: Connection, source: SourceFile, digest: Future, options: ImportOptions, settings: dict,
                 progress: ProgressCallback | None):
        self.conn, self.source, self.options, self.progress = conn, source, options, progress
        self.digest = digest  # (sha256, size) of the source, being computed in a thread
        # One context for the whole file: the issue cap and the file-wide checks keep their counts in it.
        self.ctx = RuleContext(file=source.name, settings=settings, stored_round_totals=self._stored_totals)
        self.totals: dict[str, pl.DataFrame] = {}  # operation -> headline totals of its stored rounds
        self.batch_operations: list[str] = []  # the operations of the rounds being finalised
        self.totals_stored: dict[str, list[pl.DataFrame]] = {}  # headline totals stored since `totals` was read
        self.previous = finalise.PreviousFigures(conn)  # for the round-over-round rule
        self.op_ids: dict[str, int] = {}
        self.result = ImportResult(file=source.name, status="unchanged")
        self.pending: dict[tuple, list[pl.DataFrame]] = {}
        self.finalised: set[tuple] = set()
        self.file_id: int | None = None
        self.stored_issues: list[tuple[int | None, Issue]] = []  # (round version id or None for the file)
        self.row_issues: dict[tuple, list[Issue]] = {}  # row issues by round key, until the round is stored
        self.checks = RoundChecks()  # the round rules, in a worker thread (round_checks.py)

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
        # the rules are loaded (two dozen modules) while the adapter reads the first batch: a file that
        # is one batch (flow monitoring) leaves this thread waiting for all of its reading
        for batch in read_ahead(adapter.read(self.source, self.options), meanwhile=all_rules):
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
        self.finish_checks()
        if not self.result.rounds:
            raise ImportRejected(f"{self.source.name}: no rows with a usable round were found", self.result.issues)
        if self.file_id is not None:  # the row was written before the file's digest was known
            self.conn.execute(update(source_file).where(source_file.c.id == self.file_id)
                              .values(sha256=self.digest.result()[0]))
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
        self._read_totals([operation_name, *self.batch_operations])
        for mine in self.totals_stored.pop(operation_name, []):  # the rounds stored since, in order
            kept = self.totals[operation_name].join(mine.select("assessment_type", "round_number").unique(),
                                                    on=["assessment_type", "round_number"], how="anti")
            self.totals[operation_name] = pl.concat([kept, mine.filter(pl.col("value").is_not_null())
                                                     .select(kept.columns)])
        return self.totals[operation_name]

    def _read_totals(self, names: list[str]) -> None:
        """`_stored_totals` of the operations `names` not read yet, their rounds listed in one query."""
        wanted = sorted(set(names) - set(self.totals))
        if not wanted:
            return
        from mobtrack.analytics.rounds import RoundFilter, current_rounds

        frames: dict[str, list[pl.DataFrame]] = {name: [] for name in wanted}
        for r in current_rounds(self.conn, RoundFilter(operations=tuple(wanted))).iter_rows(named=True):
            frames[r["operation"]].append(
                _round_totals(rounds.read_figures(self.conn, r["version_id"]), r["assessment_type"], r["round"]))
        for name, found in frames.items():
            self.totals[name] = pl.concat(found) if found else _round_totals(None, "", 0)

    def _match(self, records: pl.DataFrame, file_id: int) -> tuple[pl.DataFrame, list[Issue]]:
        parts, issues = [], []
        gazetteer.load_missing(self.conn, records["country_iso3"].unique().to_list())
        for (country,), part in runs(records, ["country_iso3"]):
            latest = part["reporting_date"].max()
            groups = gazetteer.version_groups(self.conn, country, part["reporting_date"].drop_nulls().unique().to_list())
            if len(groups) <= 1:
                pieces = [(part, latest)]
            else:  # rounds on both sides of a boundary version's start: each is matched to its own
                part = part.with_row_index("_place_order")
                pieces = [(part.filter(pl.col("reporting_date").is_in(days) | (
                    pl.col("reporting_date").is_null() & pl.lit(latest in days))), max(days)) for days in groups]
            resolved = []
            for piece, day in pieces:
                resolution = gazetteer.resolve_places(self.conn, piece, country_iso3=country, reporting_date=day,
                                                      source_file_id=file_id, file_name=self.source.name)
                issues.extend(resolution.issues)
                resolved.append(resolution.records)
            if len(resolved) > 1:  # back in file order
                resolved = [pl.concat(resolved, how="vertical_relaxed").sort("_place_order").drop("_place_order")]
            parts.extend(resolved)
        return pl.concat(parts, how="vertical_relaxed"), issues

    def _route(self, issues: list[Issue], records: pl.DataFrame) -> None:
        """Attach each row's issues to the round the row belongs to (they block publishing that round)."""
        self.result.issues.extend(issues)
        located = [i for i in issues if i.row is not None]
        self.stored_issues.extend((None, i) for i in issues if i.row is None)
        if not located:
            return
        for issue, key in zip(located, finalise.route(located, records, ROUND_KEY), strict=True):
            if key is None or key[0] is None:  # no row, or a row without its round
                self.stored_issues.append((None, issue))
            else:
                self.row_issues.setdefault(key, []).append(issue)

    def _collect(self, records: pl.DataFrame) -> None:
        seen = set()
        for key, part in runs(records, ROUND_KEY):
            if key in self.finalised:
                raise _RoundReappeared(key)
            self.pending.setdefault(key, []).append(part)
            seen.add(key)
        if self.grouped:
            self._flush(all_rounds=False, keep=seen)

    def _flush(self, all_rounds: bool, keep: set | None = None) -> None:
        due = [key for key in self.pending if all_rounds or key not in (keep or set())]
        # Batching pays for small rounds (fixed per-round costs dominate them); a big round is its own
        # batch, as multi-round frames make each grouping a little dearer. The cap also bounds memory
        # when a file that is not grouped by round keeps every round pending until its end.
        limit = min(FINALISE_ROWS, self.options.batch_rows)
        batch, rows = [], 0
        for key in due:
            frame = pl.concat(self.pending.pop(key), how="vertical_relaxed")
            batch.append((key, frame))
            rows += frame.height
            if rows >= limit:
                self._finalise(batch)
                batch, rows = [], 0
        if batch:
            self._finalise(batch)

    def _finalise(self, batch: list[tuple[tuple, pl.DataFrame]]) -> None:
        """Finalise whole rounds, in order, as one batch (finalise.py says how)."""
        keys = [key for key, _ in batch]
        self.finalised.update(keys)
        records = finalise.tag_rounds([frame for _, frame in batch])
        del batch
        pending = finalise.identify(self.conn, keys, finalise.round_metas(records), self.op_ids)
        # the file's context (issue cap, file-wide state) with this batch's own cache and knowledge
        ctx = replace(self.ctx, cache={}, previous_figures=None, batch_round_totals=None)
        finalise.settle(self.conn, records, self.file_id, pending, ctx)
        figures = finalise.roll_up(self.conn, pending)
        changed = [(pos, r) for pos, r in enumerate(pending) if not r.unchanged]
        new_versions = [rounds.NewVersion(r.round_id, r.observations, r.figures, r.meta, r.digest,
                                          None if r.previous is None else r.previous.id) for _, r in changed]
        # their blocks are encoded in the background while the round rules run (they change no figure)
        blocks = rounds.prepare_blocks(self.conn, new_versions)
        totals = finalise.headline_totals(figures, pending)
        ctx.previous_figures = self.previous.for_batch(pending, figures, records.schema)
        ctx.batch_round_totals = totals.clone()
        # what the round rules may ask of the store is read here, as they would have read it now: the
        # stored totals of the batch's operations (the first read takes them all in one query)
        self.batch_operations = [key[0] for key in keys]
        stored = {name: self._stored_totals(name).clone() for name in dict.fromkeys(self.batch_operations)}
        ctx.stored_round_totals = stored.get
        del figures
        checking = self.checks.submit(records, ctx, lambda issues, frame: finalise.route(
            issues, frame, [finalise.POSITION]))
        written = rounds.write_versions(self.conn, self.file_id, new_versions, blocks)
        versions = {pos: w for (pos, _), w in zip(changed, written, strict=True)}
        stored_rounds = []  # (position, version id, row issues) of the rounds stored
        for pos, r in enumerate(pending):
            operation_name, _, assessment_type, number = r.key
            outcome = RoundOutcome(operation_name, assessment_type, int(number),
                                   r.meta.reporting_date.isoformat() if r.meta.reporting_date else None,
                                   "unchanged", r.observations.height)
            self.result.rounds.append(outcome)
            row_issues = self.row_issues.pop(r.key, [])
            if r.unchanged:
                outcome.version, outcome.version_id = r.previous.version, r.previous.id
                continue
            vid, version = versions[pos]
            self.previous.written(r, vid)
            outcome.status, outcome.version, outcome.version_id = "imported", version, vid
            self.result.status = "imported"
            stored_rounds.append((pos, vid, row_issues))
        self.result.issues.append(Later(lambda: checking.result()[0]))
        self.stored_issues.append(Later(lambda: stored_issues(checking, stored_rounds)))
        self._update_totals(totals)

    def finish_checks(self) -> None:
        """Wait for the round rules still running and put their issues in their places."""
        self.checks.close(cancel=False)
        self.result.issues = flatten(self.result.issues)
        self.stored_issues = flatten(self.stored_issues)

    def _update_totals(self, totals: pl.DataFrame) -> None:
        """Keep the stored totals read for this file up to date with the rounds just stored (`totals`:
        finalise.headline_totals of the batch): applied when next read (`_stored_totals`), as a file's
        last batch (a flow-monitoring file's only one, with ten operations) is never read again."""
        names = set(self.totals) & set(totals["operation"].unique().to_list())
        if not names:
            return
        mine = totals.filter(pl.col("operation").is_in(sorted(names)))
        for (operation_name,), part in mine.partition_by("operation", as_dict=True).items():
            self.totals_stored.setdefault(operation_name, []).append(part)

    def settle_status(self) -> None:
        from mobtrack.store.publishing import mark_validated_many

        imported = [o for o in self.result.rounds if o.status == "imported"]
        status = mark_validated_many(self.conn, [o.version_id for o in imported])
        for outcome in imported:
            outcome.round_status = status[outcome.version_id]

    def store_issues(self) -> None:
        if not self.stored_issues or self.file_id is None:
            return
        columns = ["source_file_id", "round_version_id", "severity", "rule", "sheet", "row", "column", "value",
                   "message"]
        insert_rows(self.conn, issue_table, columns, (
            (self.file_id, vid, str(i.severity), i.rule, i.sheet, i.row, i.column,
             i.value if i.value is None or isinstance(i.value, str) else str(i.value), i.message)
            for vid, i in self.stored_issues))


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
    # The file's sha256 is computed in a thread while the import reads the file (~1 s for 1 GB, on
    # the main thread's path otherwise); it goes into the source_file row before the import ends.
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mobtrack-sha256")
    digest = hashing.submit(file_digest, path)
    hashing.shutdown(wait=False)
    source = SourceFile(path=path, name=path.name, sha256="", size=path.stat().st_size)
    engine = ensure_schema(db_url)
    # Most files are grouped by round, so rounds are finalised as soon as the file moves on; a file
    # that is not is simply imported again holding every round until the end.
    for grouped in (True, False):
        conn = engine.connect()
        trans = conn.begin()
        importer = _Importer(conn, source, digest, options, settings or {}, progress)
        try:
            with block_writer.in_background(conn):
                result = importer.run(grouped)
                if result.status == "imported" and not dry_run:
                    # before the last blocks are inserted: the issues need no block, and meanwhile
                    # the blocks' encoding finishes in the background
                    importer.store_issues()
                    importer.settle_status()
            if result.status == "imported" and not dry_run:
                trans.commit()
            else:
                trans.rollback()
            return result
        except _RoundReappeared:
            trans.rollback()
            continue
        except ImportRejected as exc:
            trans.rollback()
            importer.finish_checks()  # the issues of the rounds finalised before
            return ImportResult(file=source.name, status="rejected", message=str(exc),
                                issues=importer.result.issues + exc.issues, format=importer.result.format,
                                notes=importer.result.notes)
        except BaseException:
            trans.rollback()
            raise
        finally:
            importer.checks.close()
            conn.close()
    raise AssertionError("unreachable")

