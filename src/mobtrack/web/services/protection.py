"""Disclosure control for every public figure: the one door between stored counts and anonymous eyes.

FlowKit style: services never hand a public caller a raw figure; they call `protect_table` or
`protect_v3`, which build the whole linked table (every admin level of every visible round of an
operation) and pass it through mobtrack.protect's public gate (`gate.public_table`: small-cell suppression), so a figure hidden at
admin2 cannot be recovered from admin1, from another round or from a disaggregation.

Results are cached per set of round versions: published versions never change, so a protected table
is computed once and served many times. An operation's table is kept sorted by admin level and round
(`cache.Sliced`), so a request for one round at one level takes a zero-copy slice of it instead of
filtering every row of every round.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import polars as pl

from mobtrack.protect.cube import SpecError, TableSpec
from mobtrack.protect.gate import NotPublic, public_table
from mobtrack.web.errors import ApiError
from mobtrack.web.services.cache import LRU, Sliced

GAP = "~"  # prefix of stand-in units for levels a branch skips (never shown)
CACHE_SIZE = 128
_CACHE: LRU[pl.DataFrame | Sliced] = LRU(CACHE_SIZE)


def threshold() -> int:
    return int(os.environ.get("MOBTRACK_SUPPRESSION_THRESHOLD", "10"))


def _cached(key: tuple, compute) -> pl.DataFrame:
    return _CACHE.get(key, compute)


def _ancestors(rows: pl.DataFrame, places: pl.DataFrame, levels: list[int]) -> pl.DataFrame:
    """One column per admin level (`l0`, `l1`...) holding the row's ancestor id at that level, or a
    stand-in unique to its nearest real ancestor where the branch has no unit at that level."""
    tree = places.select(pl.col("id").alias("_node"), pl.col("admin_level").alias("_lvl"), pl.col("parent_id"))
    walk = rows.with_columns(pl.col("location_id").alias("_node"))
    found = {lvl: pl.lit(None, pl.String) for lvl in levels}
    exprs = []
    for step in range(6):
        walk = walk.join(tree, on="_node", how="left")
        exprs.append((f"_s{step}_lvl", f"_s{step}_id"))
        walk = walk.rename({"_lvl": f"_s{step}_lvl"}).with_columns(pl.col("_node").cast(pl.String).alias(f"_s{step}_id"))
        walk = walk.with_columns(pl.col("parent_id").alias("_node")).drop("parent_id")
    for lvl in levels:
        expr = pl.lit(None, pl.String)
        for lv, ident in reversed(exprs):
            expr = pl.when(pl.col(lv) == lvl).then(pl.col(ident)).otherwise(expr)
        found[lvl] = expr
    out = walk.with_columns([found[lvl].alias(f"l{lvl}") for lvl in levels])
    # Fill gaps top-down: a missing level stands in as "~<nearest ancestor>@<level>".
    for i, lvl in enumerate(levels):
        if i == 0:
            out = out.with_columns(pl.col(f"l{lvl}").fill_null(pl.lit(f"{GAP}root@{lvl}")))
        else:
            prev = f"l{levels[i - 1]}"
            out = out.with_columns(pl.col(f"l{lvl}").fill_null(
                pl.concat_str([pl.lit(GAP), pl.col(prev).str.strip_prefix(GAP), pl.lit(f"@{lvl}")])))
    return out.select([*rows.columns, *[f"l{lvl}" for lvl in levels]])


def _run(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    try:
        return public_table(frame, spec, margins=True).table
    except NotPublic as exc:
        raise ApiError(403, str(exc)) from exc
    except (SpecError, RuntimeError) as exc:
        # Fail closed: a table that cannot be protected is not published.
        raise ApiError(503, f"these figures cannot be published safely: {exc}") from exc


def protect_table(key: tuple, load: Callable[[], tuple[pl.DataFrame, pl.DataFrame]],
                  dimensions: list[str] = ()) -> Sliced:
    """Protected counts of one operation, assessment type, group and unit over its visible rounds.

    `load()` returns (leaves, places): leaves are location_id, round, the `dimensions`, value, at the
    lowest level present on each branch; places is the hierarchy (id, admin_level, parent_id).
    Returns, as a `Sliced` table: location_id, pcode, name, admin_level, round, the dimensions (null =
    all), value (null where suppressed) and suppressed, for every admin level, each level and round's
    rows in the order of pcode then the dimensions. `load` is called only on a cache miss.

    (The places' p-codes and names are joined and the rows ordered here, once per table, rather than
    on every request for a slice of it: a request's own work is then a slice and its provenance.)
    """
    dimensions = list(dimensions)

    def compute() -> Sliced:
        return Sliced(_protected_table(load, dimensions), ["admin_level", "round"])
    return _cached(("table", *key, tuple(dimensions), threshold()), compute)


def _protected_table(load: Callable[[], tuple[pl.DataFrame, pl.DataFrame]], dimensions: list[str]) -> pl.DataFrame:
    leaves, places = load()
    leaves = leaves.filter(pl.col("value").is_not_null())
    if leaves.is_empty():
        return pl.DataFrame(schema={"location_id": pl.Int64, "pcode": pl.String, "name": pl.String,
                                    "admin_level": pl.Int8, "round": pl.Int64, **{d: pl.String for d in dimensions},
                                    "value": pl.Int64, "suppressed": pl.Boolean})
    levels = sorted(set(places.filter(pl.col("id").is_in(leaves["location_id"].unique().implode()))
                        ["admin_level"].cast(pl.Int64).to_list()) | {0})
    levels = list(range(0, max(levels) + 1)) if len(levels) > 1 else levels
    table = _ancestors(leaves.select("location_id", "round", *dimensions, "value"), places, levels)
    table = table.with_columns([pl.col(d).cast(pl.String).fill_null("~none") for d in dimensions])
    hierarchy = [f"l{lvl}" for lvl in levels]
    spec = TableSpec(hierarchy=hierarchy, disaggregations=dimensions, round="round", round_kind="stock",
                     threshold=threshold(), grand_total=False)
    out = _run(table.select(*hierarchy, *dimensions, "round", "value"), spec)
    unit = pl.coalesce([pl.col(h) for h in reversed(hierarchy)])
    admin = pl.lit(None, pl.Int8)
    for i, lvl in enumerate(levels, start=1):
        admin = pl.when(pl.col("level") == i).then(pl.lit(lvl, pl.Int8)).otherwise(admin)
    shown = out.with_columns(unit.alias("_unit"), admin.alias("admin_level"))
    shown = shown.filter(~pl.col("_unit").str.starts_with(GAP))
    table = shown.select(pl.col("_unit").cast(pl.Int64).alias("location_id"), "admin_level",
                         pl.col("round").cast(pl.Int64), *dimensions, pl.col("value").cast(pl.Int64),
                         "suppressed")
    names = places.select(pl.col("id").alias("location_id"), "pcode", "name")
    return (table.join(names, on="location_id", how="left")
            .select("location_id", "pcode", "name", "admin_level", "round", *dimensions, "value", "suppressed")
            .sort(["admin_level", "round", "pcode", *dimensions], maintain_order=True))


def protect_cells(key: tuple, load: Callable[[], tuple[pl.DataFrame, TableSpec]]) -> pl.DataFrame:
    """A linked table other than an operation's figures (e.g. flow corridors), through the same gate and
    cache. `key` must name every round version the table is built from; `load()` returns the leaf rows
    and their TableSpec. Returns the gate's table with margins (`level` 1 = the first hierarchy column)."""
    def compute() -> pl.DataFrame:
        frame, spec = load()
        return _run(frame, spec) if frame.height else pl.DataFrame()
    return _cached(("cells", *key, threshold()), compute)


V3_DIMENSIONS = ["reason", "origin", "sex"]


def protect_v3(key: tuple, rows: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    """Protected DTM v3 cells of one operation over its visible rounds, at every level of `codes`.

    `rows`: the admin code columns `codes` (coarsest first) at the deepest level stored, reason,
    origin, sex (male | female | unknown: the part of the figure without a sex breakdown, so the sexes
    add up to it), round, value. Returns `level` (1 = codes[:1] ... len(codes)), the keys (deeper codes
    and sex null = all) and value null where suppressed. Upper levels are margins of the same cube, so
    /admin1 and /admin2 can never be combined to undo a suppression.
    """
    def compute() -> pl.DataFrame:
        frame = rows.with_columns([pl.col(c).fill_null("~none") for c in [*codes, *V3_DIMENSIONS]])
        spec = TableSpec(hierarchy=codes, disaggregations=V3_DIMENSIONS, round="round", round_kind="stock",
                         threshold=threshold(), grand_total=False)
        out = _run(frame, spec)
        return (out.filter(pl.col("reason").is_not_null(), pl.col("origin").is_not_null(),
                           pl.col("sex").is_null() | pl.col("sex").is_in(["male", "female"]))
                .select("level", *codes, "reason", "origin", "sex", pl.col("round").cast(pl.Int64), "value",
                        "suppressed"))
    return _cached(("v3", *key, threshold()), compute)
