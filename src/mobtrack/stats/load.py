"""Loading a statistics file: detect its source, parse it, store it in one transaction.

Guarantees (the same as every mobtrack import):
- atomic: the release, its facts, its corridors and its issues are written in one transaction, or nothing;
- idempotent: the same file (same bytes, or the same facts in other bytes) changes nothing;
- nothing silent: every rejected row is returned and stored as an issue (file, row, column, reason).
A corrected file of the same dataset and edition supersedes the earlier release, which stays queryable.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, select, text, update

from mobtrack.ingest.base import SourceFile
from mobtrack.model.vocab import Severity
from mobtrack.stats import idmc, undesa, unhcr, worldbank
from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import LoadError, Parsed, reject_duplicates, sum_preferring_totals
from mobtrack.stats.tables import stats_corridor, stats_fact, stats_release
from mobtrack.store.bulk import insert_frame
from mobtrack.store.schema import issue, source_file
from mobtrack.validate.issue import Issue

LOADERS = {"undesa": undesa, "unhcr": unhcr, "idmc": idmc, "worldbank": worldbank}


@dataclass
class LoadResult:
    file: str
    status: str  # loaded | unchanged | rejected
    source: str | None = None
    dataset: str | None = None
    edition: str | None = None
    release_id: int | None = None
    rows_read: int = 0
    facts: int = 0
    rejected_rows: int = 0
    superseded: list[int] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "issues"}
        d["issues"] = [i.as_dict() for i in self.issues]
        return d


def first_line(path: Path) -> bytes:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return fh.readline()
    except OSError as exc:
        raise LoadError(f"{path.name}: cannot read ({exc})") from exc


def _header(path: Path) -> list[str]:
    separator = "\t" if b"\t" in first_line(path) else ","
    try:
        return pl.read_csv(path, separator=separator, n_rows=0).columns
    except pl.exceptions.PolarsError as exc:
        raise LoadError(f"{path.name}: cannot read as a CSV/TSV table ({exc})") from exc


def detect(path: Path, source: str | None = None) -> str:
    """The source whose loader recognises the file's header; `source` restricts the choice."""
    if source is not None and source not in LOADERS:
        raise LoadError(f"unknown source {source!r}; use one of {', '.join(LOADERS)}")
    columns = _header(path)
    candidates = [source] if source else list(LOADERS)
    for name in candidates:
        if LOADERS[name].sniff(columns, path.name):
            return name
    shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
    if source:
        raise LoadError(f"{path.name}: does not look like a {source} table (columns: {shown})")
    raise LoadError(f"{path.name}: cannot tell which source this is (columns: {shown}); "
                    "pass --source undesa|unhcr|idmc|worldbank")


def content_hash(facts: pl.DataFrame) -> str:
    return hashlib.sha256(facts.write_csv().encode()).hexdigest()


def build_corridors(facts: pl.DataFrame) -> pl.DataFrame:
    """Facts summed per measure, year, origin and destination (totals preferred over their sexes)."""
    return sum_preferring_totals(facts, ["measure", "year", "origin", "destination"])


def _current(conn, dataset: str, edition: str | None = None):
    query = select(stats_release, source_file.c.sha256).join(source_file).where(
        stats_release.c.dataset == dataset, stats_release.c.superseded_at.is_(None))
    if edition is not None:
        query = query.where(stats_release.c.edition == edition)
    return conn.execute(query).mappings().all()


def _already_loaded(engine: Engine, sha256: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(stats_release).join(source_file)
            .where(source_file.c.sha256 == sha256, stats_release.c.superseded_at.is_(None))
        ).mappings().first()
    return dict(row) if row else None


def load_file(engine: Engine, path: Path, source: str | None = None, year: int | None = None,
              strict: bool = False, crosswalk: Crosswalk | None = None, user: str | None = None) -> LoadResult:
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    src = SourceFile.from_path(path)
    previous = _already_loaded(engine, src.sha256)
    if previous is not None:
        return LoadResult(src.name, "unchanged", previous["source"], previous["dataset"], previous["edition"],
                          previous["id"], previous["rows_read"], previous["facts"],
                          message=f"already loaded as release {previous['id']}")
    name = detect(path, source)
    parsed: Parsed = LOADERS[name].read(path, crosswalk or Crosswalk.default(), year=year)
    parsed.facts, repeats = reject_duplicates(parsed.facts, src.name)
    parsed.issues += repeats
    errors = [i for i in parsed.issues if i.severity == Severity.ERROR]
    result = LoadResult(src.name, "loaded", parsed.source, parsed.dataset, parsed.edition, None, parsed.rows_read,
                        len(parsed.facts), len({i.row for i in errors}), issues=parsed.issues)
    if strict and errors:
        result.status, result.facts = "rejected", 0
        result.message = f"{len(errors)} rejected row(s) and --strict: nothing written"
        return result
    digest = content_hash(parsed.facts)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two loads of the same dataset at once would both find no current release and both
            # insert; the lock makes the second wait and then see the first one's release.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(parsed.dataset.encode())})
        current = _current(conn, parsed.dataset, parsed.edition)
        same = [r for r in current if r["content_hash"] == digest]
        if same:
            result.status, result.release_id = "unchanged", same[0]["id"]
            result.message = f"same facts as release {same[0]['id']} ({same[0]['sha256'][:12]}...)"
            return result
        file_id = conn.execute(source_file.insert().values(
            name=src.name, sha256=src.sha256, size=src.size, format=parsed.dataset, imported_at=now,
            imported_by=user)).inserted_primary_key[0]
        release_id = conn.execute(stats_release.insert().values(
            source_file_id=file_id, source=parsed.source, dataset=parsed.dataset, edition=parsed.edition,
            content_hash=digest, rows_read=parsed.rows_read, facts=len(parsed.facts), rejected=result.rejected_rows,
            loaded_at=now)).inserted_primary_key[0]
        if current:
            conn.execute(update(stats_release).where(stats_release.c.id.in_([r["id"] for r in current]))
                         .values(superseded_at=now))
            result.superseded = [r["id"] for r in current]
        facts = parsed.facts.with_row_index("seq").with_columns(
            pl.col("seq").cast(pl.Int32), pl.lit(release_id).alias("release_id"))
        insert_frame(conn, stats_fact, facts)
        if parsed.bilateral:
            insert_frame(conn, stats_corridor, build_corridors(parsed.facts).with_columns(pl.lit(release_id).alias("release_id")))
        if parsed.issues:
            insert_frame(conn, issue, pl.DataFrame(
                [{"source_file_id": file_id, "severity": str(i.severity), "rule": i.rule, "row": i.row,
                  "column": i.column, "value": i.value, "message": i.message} for i in parsed.issues]))
        stored = conn.execute(select(func.count()).select_from(stats_fact)
                              .where(stats_fact.c.release_id == release_id)).scalar_one()
        if stored != len(parsed.facts):  # a partial COPY must never commit
            raise LoadError(f"{src.name}: stored {stored} facts of {len(parsed.facts)}; rolled back")
    result.release_id = release_id
    return result
