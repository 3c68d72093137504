"""Which loaded release answers a question, and how to point back at its source rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from mobtrack.stats.tables import stats_release
from mobtrack.store.schema import source_file

LABELS = {
    "undesa_stock": "UN DESA International Migrant Stock {edition}",
    "worldbank_bilateral": "World Bank Bilateral Migration Matrix {edition}",
    "unhcr_population": "UNHCR Refugee Data Finder: population figures (to {edition})",
    "unhcr_asylum_applications": "UNHCR Refugee Data Finder: asylum applications (to {edition})",
    "unhcr_asylum_decisions": "UNHCR Refugee Data Finder: asylum decisions (to {edition})",
    "unhcr_idmc": "UNHCR Refugee Data Finder: IDMC conflict IDPs as republished by UNHCR (to {edition})",
    "idmc_stock": "IDMC Global Internal Displacement Database: IDP stocks ({edition})",
    "idmc_flow": "IDMC Global Internal Displacement Database: internal displacements (to {edition})",
}


@dataclass(frozen=True)
class Release:
    id: int
    source: str
    dataset: str
    edition: str
    file: str
    sha256: str

    @property
    def label(self) -> str:
        return LABELS.get(self.dataset, self.dataset + " {edition}").format(edition=self.edition)

    def ref(self, rows: list[int]) -> dict:
        """The pointer a figure carries to the rows it was computed from."""
        return {"release": self.id, "dataset": self.dataset, "file": self.file, "sha256": self.sha256,
                "rows": row_ranges(rows), "row_count": len(set(rows))}


def _query():
    return select(stats_release.c.id, stats_release.c.source, stats_release.c.dataset, stats_release.c.edition,
                  source_file.c.name, source_file.c.sha256).join(source_file)


def current_release(conn: Connection, dataset: str, edition: str | None = None) -> Release | None:
    """The newest edition of a dataset that has not been superseded (or the named edition)."""
    query = _query().where(stats_release.c.dataset == dataset, stats_release.c.superseded_at.is_(None))
    if edition is not None:
        query = query.where(stats_release.c.edition == str(edition))
    rows = conn.execute(query).all()
    if not rows:
        return None
    best = max(rows, key=lambda r: (int(r.edition) if r.edition.isdigit() else -1, r.id))
    return Release(best.id, best.source, best.dataset, best.edition, best.name, best.sha256)


def releases(conn: Connection, dataset: str) -> list[Release]:
    rows = conn.execute(_query().where(stats_release.c.dataset == dataset, stats_release.c.superseded_at.is_(None))
                        .order_by(stats_release.c.edition)).all()
    return [Release(r.id, r.source, r.dataset, r.edition, r.name, r.sha256) for r in rows]


def row_ranges(rows: list[int]) -> str:
    """[2, 3, 4, 9, 11, 12] -> '2-4,9,11-12': a profile figure may sum hundreds of rows of a sorted file."""
    out: list[str] = []
    ordered = sorted(set(rows))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def parse_ranges(text: str) -> list[int]:
    rows: list[int] = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        rows.extend(range(int(lo), int(hi or lo) + 1))
    return rows


def release_rows(conn: Connection, release_id: int, rows: str) -> list[dict]:
    """The stored facts behind a figure's `ref`: what its source rows said, without the source file."""
    from mobtrack.stats.tables import stats_fact

    wanted = parse_ranges(rows)
    if len(wanted) > 100_000:
        raise ValueError("too many rows asked for at once (more than 100,000)")
    f = stats_fact.c
    out: list[dict] = []
    for start in range(0, len(wanted), 5000):  # bounded IN lists: SQLite caps bound parameters
        chunk = wanted[start:start + 5000]
        out += [dict(r) for r in conn.execute(
            select(f.row, f.year, f.origin, f.destination, f.measure, f.sex, f.age, f.cause, f.detail, f.value)
            .where(f.release_id == release_id, f.row.in_(chunk)).order_by(f.row, f.measure)).mappings()]
    return out
