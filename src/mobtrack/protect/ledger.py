"""The epsilon ledger: differentially private releases, stored once, counted against a budget.

Noise is drawn once per question and stored. Asking the same question again (same dataset,
table declaration, round, epsilon and data) returns the stored figures and spends nothing --
otherwise averaging repeated answers would wash the noise out. A new question spends its
epsilon from the dataset's budget (basic composition: epsilons add up), and is refused when the
budget would be exceeded.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass

import polars as pl
from sqlalchemy import Engine, delete, func, insert, select

from mobtrack.protect import auditlog
from mobtrack.protect.agreements import register_purger
from mobtrack.protect.cube import TableSpec
from mobtrack.protect.dp import dp_release
from mobtrack.protect.tables import dp_budget
from mobtrack.protect.tables import dp_release as release_table


class BudgetExceeded(RuntimeError):
    """The release would spend more privacy budget than the dataset has left."""


@dataclass(frozen=True)
class StoredRelease:
    id: int
    dataset: str
    table: pl.DataFrame
    epsilon: float
    delta: float
    privacy_unit: str
    details: dict
    reused: bool  # True when the stored answer was returned and nothing was spent

    def metadata(self) -> dict:
        return {"release": self.id, "dataset": self.dataset, "epsilon": self.epsilon, "delta": self.delta,
                "privacy_unit": self.privacy_unit, **self.details}


def set_budget(engine: Engine, dataset: str, epsilon: float, by: str) -> None:
    if not epsilon > 0:
        raise ValueError(f"a privacy budget must be positive, got {epsilon}")
    with engine.begin() as conn:
        used = _spent(conn, dataset)
        if epsilon < used:
            raise BudgetExceeded(f"{dataset} has already spent epsilon {used:g}; the budget cannot go below it")
        conn.execute(delete(dp_budget).where(dp_budget.c.dataset == dataset))
        conn.execute(insert(dp_budget).values(dataset=dataset, epsilon=epsilon, set_by=by, set_at=auditlog.now_iso()))
    auditlog.record(engine, actor=by, action="dp.budget", target=dataset, details={"epsilon": epsilon})


def _spent(conn, dataset: str) -> float:
    return float(conn.execute(select(func.coalesce(func.sum(release_table.c.epsilon), 0.0))
                              .where(release_table.c.dataset == dataset)).scalar())


def budget_status(engine: Engine, dataset: str) -> dict:
    with engine.connect() as conn:
        budget = conn.execute(select(dp_budget.c.epsilon).where(dp_budget.c.dataset == dataset)).scalar()
        used = _spent(conn, dataset)
        n = conn.execute(select(func.count()).where(release_table.c.dataset == dataset)).scalar()
    return {"dataset": dataset, "budget": budget, "spent": used,
            "remaining": None if budget is None else budget - used, "releases": int(n)}


def _fingerprint(frame: pl.DataFrame, spec: TableSpec, places: pl.DataFrame, epsilon: float, contributions: int) -> str:
    cols = [*spec.keys, *([spec.round] if spec.round else []), spec.value]
    data = frame.select(cols).with_columns(pl.all().cast(pl.String)).sort(cols)
    where = places.select(list(spec.hierarchy)).with_columns(pl.all().cast(pl.String)).unique().sort(list(spec.hierarchy))
    h = hashlib.sha256()
    declaration = {**asdict(spec), "categories": {k: list(v) for k, v in spec.categories.items()}}
    h.update(json.dumps([declaration, epsilon, contributions], sort_keys=True, default=str).encode())
    for part in (data, where):
        h.update(part.hash_rows(seed=0).to_numpy().tobytes())
    return h.hexdigest()


def release(engine: Engine, *, dataset: str, frame: pl.DataFrame, spec: TableSpec, places: pl.DataFrame,
            epsilon: float, contributions: int = 1, by: str, purpose: str | None = None) -> StoredRelease:
    """Release one round with epsilon-DP, or return the stored release of the same question."""
    qhash = _fingerprint(frame, spec, places, epsilon, contributions)
    with engine.begin() as conn:
        found = conn.execute(select(release_table).where(release_table.c.dataset == dataset,
                                                         release_table.c.query_hash == qhash)).mappings().first()
        if found:
            return _stored(found, reused=True)
        # lock the budget row so two releases cannot both pass the check (PostgreSQL; SQLite serialises writers)
        budget = conn.execute(select(dp_budget.c.epsilon).where(dp_budget.c.dataset == dataset)
                              .with_for_update()).scalar()
        if budget is None:
            raise BudgetExceeded(f"{dataset} has no privacy budget; set one first (mobtrack protect budget)")
        used = _spent(conn, dataset)
        if used + epsilon > budget + 1e-12:
            raise BudgetExceeded(f"{dataset}: releasing epsilon {epsilon:g} would spend {used + epsilon:g} "
                                 f"of a budget of {budget:g}")
        result = dp_release(frame, spec, places, epsilon, contributions)
        buf = io.BytesIO()
        result.table.write_parquet(buf)
        meta = result.metadata()
        round_label = str(frame[spec.round][0]) if spec.round and frame.height else None
        new_id = conn.execute(insert(release_table).values(
            dataset=dataset, query_hash=qhash, round_label=round_label, epsilon=result.epsilon,
            delta=result.delta, privacy_unit=result.privacy_unit, details=meta, payload=buf.getvalue(),
            created_by=by, created_at=auditlog.now_iso())).inserted_primary_key[0]
    auditlog.record(engine, actor=by, action="dp.release", target=dataset, purpose=purpose,
                    details={"release": int(new_id), "epsilon": epsilon, "round": round_label})
    return StoredRelease(int(new_id), dataset, result.table, result.epsilon, result.delta, result.privacy_unit,
                         meta, reused=False)


def _stored(row, reused: bool) -> StoredRelease:
    if not row["payload"]:
        raise LookupError(f"release {row['id']} of {row['dataset']} was purged under its retention rule")
    table = pl.read_parquet(io.BytesIO(row["payload"]))
    return StoredRelease(row["id"], row["dataset"], table, row["epsilon"], row["delta"], row["privacy_unit"],
                         row["details"] or {}, reused)


def releases(engine: Engine, dataset: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(release_table.c.id, release_table.c.round_label, release_table.c.epsilon,
                                   release_table.c.delta, release_table.c.privacy_unit, release_table.c.created_at)
                            .where(release_table.c.dataset == dataset).order_by(release_table.c.id)).mappings()
        return [dict(r) for r in rows]


def _purge_releases(engine: Engine, dataset: str) -> int:
    # The ledger must keep counting what was spent, so only the stored figures go, not the row.
    with engine.begin() as conn:
        return conn.execute(release_table.update().where(release_table.c.dataset == dataset)
                            .values(payload=b"")).rowcount


register_purger("dp_release", _purge_releases)
