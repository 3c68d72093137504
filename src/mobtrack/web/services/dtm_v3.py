"""DTM API v3 rows rebuilt from stored observations: one row per place x reason x origin, as imported.

`numPresentIdpInd` is the stored part; `numberMales`/`numberFemales` are the sex breakdown rows of
the same cell (null when the source had none). For callers without the right to raw counts, the
rows come from protection.protect_v3: the whole operation's table at that level is protected once,
then filtered, so a filter can never reveal what suppression hid.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import polars as pl
import pycountry
from sqlalchemy import Connection, bindparam, select

from mobtrack.store.schema import location, operation
from mobtrack.web.services import catalogue, protection
from mobtrack.web.services.cache import Sliced
from mobtrack.web.services.data import observations_of, places_of
from mobtrack.web.services.principal import Principal

NOT_AVAILABLE = "Not available"  # how IOM writes an unknown origin
CODES = ["adm0", "adm1", "adm2"]
KEYS = ["adm1_pcode", "adm1_name", "adm2_pcode", "adm2_name", "reason", "origin_pcode", "origin_name"]


@cache
def _iso_name(iso3: str) -> str | None:
    found = pycountry.countries.get(alpha_3=iso3)  # a few hundred microseconds: kept, it never changes
    return None if found is None else found.name


_COUNTRY = select(location.c.name).where(location.c.country_iso3 == bindparam("iso3"), location.c.admin_level == 0
                                         ).limit(1)


def country_name(conn: Connection, iso3: str) -> str:
    """The name IOM uses (ISO 3166 short name, e.g. 'Bahamas (the)'), else the gazetteer's."""
    found = _iso_name(iso3)
    if found is not None:
        return found
    stored = conn.execute(_COUNTRY, {"iso3": iso3}).scalar()
    return stored or iso3


def _rolled_up(obs: pl.DataFrame, places: pl.DataFrame, level: int) -> pl.DataFrame:
    """A round stored only below `level` (e.g. admin3 assessments): its values summed to their
    level-`level` ancestors, with the official names, so /admin2 answers for it too."""
    deeper = obs.filter(pl.col("admin_level") > level, pl.col("location_id").is_not_null())
    if deeper.is_empty():
        return deeper
    mapped = protection._ancestors(deeper.select("location_id").unique(), places, list(range(0, 6)))
    mapped = mapped.filter(~pl.col(f"l{level}").str.starts_with(protection.GAP)).select(
        "location_id", pl.col(f"l{level}").cast(pl.Int64).alias("_at"),
        # the admin1 a row names: its ancestor for admin2 rows, itself for admin1 rows, none for admin0
        (pl.col("l1") if level >= 1 else pl.lit(None, pl.String)).alias("_l1"))
    names = places.select(pl.col("id").cast(pl.String).alias("_l1"), pl.col("pcode").alias("_p1"),
                          pl.col("name").alias("_n1"))
    own = places.select(pl.col("id").alias("_at"), pl.col("pcode").alias("_pc"), pl.col("name").alias("_nm"))
    grouped = (deeper.join(mapped, on="location_id").join(names, on="_l1", how="left").join(own, on="_at", how="left")
               .group_by("_p1", "_n1", "_pc", "_nm", "role", "sex", "age_band", "reason", "origin_pcode",
                         "origin_name", "population_group", "unit")
               .agg(pl.col("value").sum(), pl.col("source_row").min()))
    return grouped.with_columns(
        pl.col("_p1").alias("adm1_pcode"), pl.col("_n1").alias("adm1_name"),
        (pl.col("_pc") if level == 2 else pl.lit(None, pl.String)).alias("adm2_pcode"),
        (pl.col("_nm") if level == 2 else pl.lit(None, pl.String)).alias("adm2_name"),
    ).drop("_p1", "_n1", "_pc", "_nm")


def _cells(conn: Connection, rounds: pl.DataFrame, level: int, places: pl.DataFrame) -> pl.DataFrame:
    """Stored cells of every round at `level`: keys, round, value, males, females."""
    parts = []
    for r in rounds.iter_rows(named=True):
        stored = observations_of(conn, r["version_id"]).filter(pl.col("population_group") == "idps",
                                                               pl.col("unit") == "individuals")
        obs = stored.filter(pl.col("admin_level") == level)
        if obs.is_empty():
            obs = _rolled_up(stored, places, level)
            if obs.is_empty():
                continue
        headline = obs.filter(pl.col("role") != "breakdown").select(*KEYS, "value", "source_row")
        sexes = (obs.filter(pl.col("role") == "breakdown", pl.col("sex").is_in(["male", "female"]),
                            pl.col("age_band").is_null())
                 .group_by(*KEYS, "sex").agg(pl.col("value").sum())
                 .pivot(on="sex", index=KEYS, values="value"))
        for sex in ("male", "female"):
            if sex not in sexes.columns:
                sexes = sexes.with_columns(pl.lit(None, pl.Int64).alias(sex))
        cells = headline.join(sexes.select(*KEYS, "male", "female"), on=KEYS, how="left", nulls_equal=True)
        parts.append(cells.with_columns(pl.lit(r["round"], pl.Int64).alias("round"),
                                        pl.lit(r["reporting_date"], pl.Date).alias("reporting_date"),
                                        pl.lit(r["assessment_type"]).alias("assessment_type")))
    if not parts:
        return pl.DataFrame(schema={**{k: pl.String for k in KEYS}, "value": pl.Int64, "source_row": pl.Int64,
                                    "male": pl.Int64, "female": pl.Int64, "round": pl.Int64,
                                    "reporting_date": pl.Date, "assessment_type": pl.String})
    return pl.concat(parts, how="vertical_relaxed")


def _keyed(cells: pl.DataFrame, country: str) -> pl.DataFrame:
    return cells.with_columns(
        pl.lit(country).alias("adm0"),
        pl.coalesce("adm1_pcode", "adm1_name").alias("adm1"), pl.coalesce("adm2_pcode", "adm2_name").alias("adm2"),
        pl.coalesce("origin_pcode", "origin_name").alias("origin"),
    )


def _protected(cells: pl.DataFrame, deepest: pl.DataFrame, key: tuple, level: int, depth: int,
               country: str) -> pl.DataFrame:
    """`cells` at `level` with the values of the cube built from the `deepest` stored level (`depth`).

    A public upper-level row is the sum of the deepest level's rows below it (protected in one cube
    with them); a row with no counterpart there is shown as suppressed rather than unprotected.
    """
    codes, deep_codes = CODES[:level + 1], CODES[:depth + 1]
    keyed, deep = _keyed(cells, country), _keyed(deepest, country)
    unknown = (pl.col("value") - pl.col("male").fill_null(0) - pl.col("female").fill_null(0)).clip(0)
    long = pl.concat([
        deep.select(*deep_codes, "reason", "origin", "round", pl.lit("male").alias("sex"),
                    pl.col("male").fill_null(0).alias("value")),
        deep.select(*deep_codes, "reason", "origin", "round", pl.lit("female").alias("sex"),
                    pl.col("female").fill_null(0).alias("value")),
        deep.select(*deep_codes, "reason", "origin", "round", pl.lit("unknown").alias("sex"), unknown.alias("value")),
    ]).filter(pl.col("value").is_not_null())
    out = protection.protect_v3(key, long, deep_codes).filter(pl.col("level") == level + 1)
    shown = out.with_columns([pl.when(pl.col(c) == "~none").then(None).otherwise(pl.col(c)).alias(c)
                              for c in ["reason", "origin"]])
    wide = (shown.with_columns(pl.col("sex").fill_null("all"))
            .pivot(on="sex", index=[*codes, "reason", "origin", "round"], values="value"))
    for sex in ("all", "male", "female"):
        if sex not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Int64).alias(sex))
    protected = keyed.with_columns(pl.col("male").is_not_null().alias("_m"), pl.col("female").is_not_null().alias(
        "_f")).drop("value", "male", "female").join(wide.select(*codes, "reason", "origin", "round", "all", "male",
                                                                "female"),
                                                    on=[*codes, "reason", "origin", "round"], how="left",
                                                    nulls_equal=True)
    return protected.with_columns(
        pl.col("all").alias("value"),
        pl.when(pl.col("_m")).then(pl.col("male")).alias("male"),
        pl.when(pl.col("_f")).then(pl.col("female")).alias("female"),
    ).select(cells.columns)


_OPERATIONS = select(operation.c.name, operation.c.country_iso3)
_OPERATION = _OPERATIONS.where(operation.c.name == bindparam("name"))  # built once: see catalogue._FOUND


def rows(conn: Connection, principal: Principal, level: int, params: dict) -> list[dict]:
    """v3 records for every visible operation matching Operation / CountryName / Admin0Pcode."""
    if params.get("Operation"):
        ops = conn.execute(_OPERATION, {"name": params["Operation"]}).all()
    else:
        ops = conn.execute(_OPERATIONS).all()
    wanted_country = (params.get("Admin0Pcode") or "").upper() or None
    by_name = (params.get("CountryName") or "").strip().lower() or None
    out: list[dict] = []
    for op_name, iso3 in sorted(ops):
        if params.get("Operation") and op_name != params["Operation"]:
            continue
        if wanted_country and iso3 != wanted_country:
            continue
        name = country_name(conn, iso3)
        if by_name and name.lower() != by_name:
            continue
        view = catalogue.view_of(principal, op_name, iso3)
        rounds_stamp, places_stamp = catalogue.stamps(conn, iso3)  # one statement, as `rounds` alone would be
        visible = catalogue.rounds(conn, view, None, rounds_stamp)
        kinds = sorted(set(visible["assessment_type"].to_list()))
        for kind in kinds:
            family = visible.filter(pl.col("assessment_type") == kind) if len(kinds) > 1 else visible
            versions = tuple(family["version_id"].to_list())

            def build(family=family, kind=kind, versions=versions, view=view, op_name=op_name, iso3=iso3,
                      places_stamp=places_stamp):
                places = places_of(conn, iso3, places_stamp)
                cells = _cells(conn, family, level, places)
                if cells.is_empty() or view.unprotected:
                    return cells
                depth, deepest = level, cells
                for deeper in range(2, level, -1):  # one cube from the deepest level stored
                    found = _cells(conn, family, deeper, places)
                    if not found.is_empty():
                        depth, deepest = deeper, found
                        break
                key = (str(conn.engine.url), op_name, kind, depth, versions)
                return _protected(cells, deepest, key, level, depth, iso3)
            def sliced(build=build) -> Sliced:
                # kept by round, each round's rows in the source's order: a request takes its rounds' slices
                return Sliced(build().sort("source_row", nulls_last=True, maintain_order=True), ["round"])
            # Round versions never change, so an operation's rows at a level are built once per set of versions.
            # keyed by the places' stamp too: cells are placed in the hierarchy, which a gazetteer load can change
            cells = protection._cached(("v3-cells", str(conn.engine.url), op_name, kind, level, versions,
                                        tuple(places_stamp), view.unprotected, protection.threshold()), sliced)
            if cells.height == 0:
                continue
            out.extend(_records(cells, family, op_name, iso3, name, level, params))
    return out


def _wanted_rounds(family: pl.DataFrame, params: dict) -> list[tuple[int]]:
    """The rounds the parameters ask for, in the answer's order: by reporting date (none last), then number."""
    start, end = params.get("FromRoundNumber"), params.get("ToRoundNumber")
    since = date.fromisoformat(params["FromReportingDate"]) if params.get("FromReportingDate") else None
    until = date.fromisoformat(params["ToReportingDate"]) if params.get("ToReportingDate") else None
    wanted = []
    for number, when in zip(family["round"].to_list(), family["reporting_date"].to_list(), strict=True):
        if (start is not None and number < start) or (end is not None and number > end):
            continue
        # a round without a date fails any date bound, as a null fails a comparison in a filter
        if (since or until) and (when is None or (since and when < since) or (until and when > until)):
            continue
        wanted.append((when is None, when or date.min, number))
    return [(number,) for _, _, number in sorted(wanted)]


def _records(cells: Sliced, family: pl.DataFrame, op_name: str, iso3: str, name: str, level: int,
             params: dict) -> list[dict]:
    frame = cells.rows(*_wanted_rounds(family, params))
    for param, column in (("Admin1Pcode", "adm1_pcode"), ("Admin1Name", "adm1_name"), ("Admin2Pcode", "adm2_pcode"),
                          ("Admin2Name", "adm2_name")):
        if params.get(param):
            frame = frame.filter(pl.col(column) == params[param])
    records = []
    for r in frame.iter_rows(named=True):
        when = r["reporting_date"]
        # IOM's record ids are theirs; ours number the rows of the answer (admin0 rows have none in v3)
        record = {"id": len(records) + 1} if level >= 1 else {}
        record |= {"operation": op_name, "admin0Name": name, "admin0Pcode": iso3}
        if level >= 1:
            record |= {"admin1Name": r["adm1_name"], "admin1Pcode": r["adm1_pcode"]}
        if level >= 2:
            record |= {"admin2Name": r["adm2_name"], "admin2Pcode": r["adm2_pcode"]}
        record |= {
            "numPresentIdpInd": r["value"],
            "reportingDate": f"{when.isoformat()}T00:00:00" if when else None,
            "yearReportingDate": when.year if when else None, "monthReportingDate": when.month if when else None,
            "roundNumber": r["round"], "displacementReason": r["reason"],
            "numberMales": r["male"], "numberFemales": r["female"],
            "idpOriginAdmin1Name": r["origin_name"] or NOT_AVAILABLE,
            "idpOriginAdmin1Pcode": r["origin_pcode"] or NOT_AVAILABLE,
            "assessmentType": r["assessment_type"],
        }
        records.append(record)
    return records


def countries(conn: Connection, principal: Principal) -> list[dict]:
    seen = {o["country_iso3"] for o in catalogue.operations(conn, principal)}
    return [{"admin0Name": country_name(conn, c), "admin0Pcode": c}
            for c in sorted(seen, key=lambda c: country_name(conn, c))]


def operations(conn: Connection, principal: Principal) -> list[dict]:
    return [{"operation": o["name"], "operationStatus": "Active" if o["status"] == "active" else "Inactive",
             "admin0Name": country_name(conn, o["country_iso3"]), "admin0Pcode": o["country_iso3"]}
            for o in catalogue.operations(conn, principal)]
