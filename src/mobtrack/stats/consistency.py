"""Where sources disagree: the same quantity, country and year from two sources, and the gap.

Each check is a function `(conn) -> CheckResult | None` (None: one of its sources is not loaded),
registered with `register_check`. The DTM-vs-IDMC check plugs in the same way from the DTM side.
A gap is `a - b`; `gap_pct` is relative to b. Countries present in only one source are counted, not
listed as gaps: a missing figure is not a disagreement about its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, Engine, func, select

from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import sum_preferring_totals
from mobtrack.stats.releases import Release, current_release, releases
from mobtrack.stats.tables import stats_corridor, stats_fact

AGREE_PCT = 1.0  # within 1% counts as agreement: rounding in republished tables is that large


@dataclass
class CheckResult:
    check: str
    a_source: str
    b_source: str
    explanation: str
    pairs: pl.DataFrame  # country, year, a_value, b_value (+ gap, gap_pct once finished)
    only_a: int = 0
    only_b: int = 0

    def summary(self) -> dict:
        p = self.pairs
        agree = int((p["gap_pct"].abs() <= AGREE_PCT).sum()) if len(p) else 0
        return {"check": self.check, "a_source": self.a_source, "b_source": self.b_source,
                "explanation": self.explanation, "compared": len(p), "agree": agree, "disagree": len(p) - agree,
                "only_in_a": self.only_a, "only_in_b": self.only_b,
                "largest_gap": (p.sort(pl.col("gap").abs(), descending=True).row(0, named=True) if len(p) else None)}


Check = Callable[[Connection], CheckResult | None]
CHECKS: dict[str, tuple[Check, str]] = {}


def register_check(name: str, fn: Check, description: str) -> None:
    CHECKS[name] = (fn, description)


def _by_country(conn: Connection, release: Release, measure: str, side: str = "destination",
                cause: str | None = None, table=stats_fact) -> pl.DataFrame:
    """Per country and year. Migrant stocks come from stats_corridor (summed at load); facts are summed
    here with the same rule, a 'total' row replacing the sex rows of its own category."""
    t = table.c
    col = t.destination if side == "destination" else t.origin
    where = (t.release_id == release.id) & (t.measure == measure)
    if cause is not None:
        where = where & (t.cause == cause)
    schema = {"country": pl.String, "year": pl.Int32, "value": pl.Float64}
    if table is stats_corridor:
        rows = conn.execute(select(col, t.year, func.sum(t.value)).where(where).group_by(col, t.year)).all()
        return pl.DataFrame(rows, schema=schema, orient="row")
    rows = conn.execute(select(col, t.year, t.sex, t.age, t.cause, t.detail, t.origin, t.destination, t.value)
                        .where(where)).all()
    facts = pl.DataFrame(rows, orient="row", schema={
        "country": pl.String, "year": pl.Int32, "sex": pl.String, "age": pl.String, "cause": pl.String,
        "detail": pl.String, "origin": pl.String, "destination": pl.String, "value": pl.Float64})
    return sum_preferring_totals(facts, ["country", "year"]).select(list(schema))


def compare(check: str, a: pl.DataFrame, b: pl.DataFrame, a_label: str, b_label: str, why: str) -> CheckResult:
    """Pair two {country, year, value} frames; what a check (built in or plugged in) returns."""
    a, b = (f.select(pl.col("country").cast(pl.String), pl.col("year").cast(pl.Int32), pl.col("value").cast(pl.Float64))
            for f in (a, b))
    joined = a.rename({"value": "a_value"}).join(b.rename({"value": "b_value"}), on=["country", "year"], how="full",
                                                  coalesce=True)
    both = joined.filter(pl.col("a_value").is_not_null() & pl.col("b_value").is_not_null())
    # "Only in one source" is counted over the years both cover: IDMC's single year against UNHCR's 35
    # would otherwise report 34 years of "missing" figures that nobody expected.
    common = joined.filter(pl.col("year").is_in(a["year"].unique().implode()) & pl.col("year").is_in(b["year"].unique().implode()))
    return CheckResult(check, a_label, b_label, why, both,
                       only_a=int(common["b_value"].is_null().sum()), only_b=int(common["a_value"].is_null().sum()))


def unhcr_idmc_vs_idmc(conn: Connection) -> CheckResult | None:
    a, b = current_release(conn, "unhcr_idmc"), current_release(conn, "idmc_stock")
    if a is None or b is None:
        return None
    return compare("unhcr_idmc_vs_idmc", _by_country(conn, a, "idps"), _by_country(conn, b, "idps", cause="conflict"),
                 a.label, b.label + " (conflict)",
                 "UNHCR republishes IDMC's conflict IDP stock; a gap means one side was revised after the other "
                 "was published, or UNHCR rounded it.")


def unhcr_idps_vs_idmc(conn: Connection) -> CheckResult | None:
    a, b = current_release(conn, "unhcr_population"), current_release(conn, "idmc_stock")
    if a is None or b is None:
        return None
    return compare("unhcr_idps_vs_idmc", _by_country(conn, a, "idps"), _by_country(conn, b, "idps", cause="conflict"),
                 a.label + " (IDPs of concern)", b.label + " (conflict)",
                 "UNHCR counts IDPs it protects or assists (its own operations' figures); IDMC estimates all "
                 "conflict IDPs. UNHCR's figure is usually smaller and is not meant to be a national total.")


def undesa_revisions(conn: Connection) -> CheckResult | None:
    editions = releases(conn, "undesa_stock")
    if len(editions) < 2:
        return None
    new, old = editions[-1], editions[-2]
    a = _by_country(conn, new, "migrant_stock", table=stats_corridor)
    b = _by_country(conn, old, "migrant_stock", table=stats_corridor)
    return compare("undesa_revisions", a, b, new.label, old.label,
                 "UN DESA re-estimates past years in each revision (new censuses, refugee counts); the gap is "
                 "the revision of the immigrant stock for the same country and year.")


def worldbank_vs_undesa(conn: Connection) -> CheckResult | None:
    a, b = current_release(conn, "worldbank_bilateral"), current_release(conn, "undesa_stock")
    if a is None or b is None:
        return None
    wb = _by_country(conn, a, "migrant_stock", table=stats_corridor)
    desa = _by_country(conn, b, "migrant_stock", table=stats_corridor).sort("country", "year")
    # UN DESA publishes every five years: bring it to the World Bank's year by straight-line
    # interpolation between the two surrounding estimates, and say so.
    out = []
    for year in wb["year"].unique().to_list():
        lo = desa.filter(pl.col("year") <= year).group_by("country").agg(pl.all().sort_by("year").last())
        hi = desa.filter(pl.col("year") >= year).group_by("country").agg(pl.all().sort_by("year").first())
        both = lo.join(hi, on="country", suffix="_hi")
        span = (pl.col("year_hi") - pl.col("year")).cast(pl.Float64)
        frac = pl.when(span == 0).then(0.0).otherwise((year - pl.col("year")) / span)
        out.append(both.select("country", pl.lit(year, dtype=pl.Int32).alias("year"),
                               (pl.col("value") + frac * (pl.col("value_hi") - pl.col("value"))).alias("value")))
    interpolated = pl.concat(out) if out else desa.head(0)
    return compare("worldbank_vs_undesa", wb, interpolated, a.label, b.label + " (interpolated to the same year)",
                 "The World Bank matrix was built from an earlier UN DESA revision plus national sources; UN DESA "
                 "is interpolated between its five-yearly estimates.")


register_check("unhcr_idmc_vs_idmc", unhcr_idmc_vs_idmc, "UNHCR's republished IDMC IDPs vs IDMC's own stock")
register_check("unhcr_idps_vs_idmc", unhcr_idps_vs_idmc, "UNHCR IDPs of concern vs IDMC conflict IDPs")
register_check("undesa_revisions", undesa_revisions, "UN DESA immigrant stock: newest vs previous revision")
register_check("worldbank_vs_undesa", worldbank_vs_undesa, "World Bank immigrant stock vs UN DESA")


def consistency(engine: Engine, checks: list[str] | None = None, crosswalk: Crosswalk | None = None) -> dict:
    crosswalk = crosswalk or Crosswalk.default()
    unknown = set(checks or []) - set(CHECKS)
    if unknown:
        raise KeyError(f"unknown check(s) {sorted(unknown)}; available: {', '.join(CHECKS)}")
    summaries, rows, skipped = [], [], {}
    with engine.connect() as conn:
        for name, (fn, description) in CHECKS.items():
            if checks and name not in checks:
                continue
            result = fn(conn)
            if result is None:
                skipped[name] = f"{description}: a source it needs is not loaded"
                continue
            result.pairs = result.pairs.with_columns(
                (pl.col("a_value") - pl.col("b_value")).alias("gap"),
                pl.when(pl.col("b_value") != 0).then((pl.col("a_value") - pl.col("b_value")) / pl.col("b_value") * 100)
                .otherwise(None).round(2).alias("gap_pct"),
            ).sort(pl.col("gap").abs(), descending=True)
            summaries.append(result.summary())
            rows += [{"check": name, "name": crosswalk.name(r["country"]), **r, "a_source": result.a_source,
                      "b_source": result.b_source} for r in result.pairs.iter_rows(named=True)]
    rows.sort(key=lambda r: -abs(r["gap"]))
    return {"checks": summaries, "skipped": skipped, "rows": rows}
