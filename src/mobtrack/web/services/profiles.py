"""Country profiles as a caller may see them: the global statistics as published, and the DTM side read
like every other DTM figure on the web (visible rounds only, protected unless raw figures are allowed).

`mobtrack profile` (the command line, for the people who run the database) reads DTM's newest round
whatever its status; a web caller must not get an unpublished or unprotected figure through a profile.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from mobtrack.analytics.flows import DTM_IDP_DEFINITION, FLOW_TYPES
from mobtrack.stats.profiles import profile as stats_profile
from mobtrack.web.errors import ApiError
from mobtrack.web.services import catalogue
from mobtrack.web.services import figures as figure_service
from mobtrack.web.services.principal import Principal


def dtm_idps(conn: Connection, principal: Principal, iso3: str, year: int | None) -> tuple[dict | None, list[str]]:
    """(the profile's DTM IDP figure, operations read raw). Per operation of the country the caller may
    see, the admin0 IDP figure of its latest visible round (not after `year`); the newest is the figure,
    the others are listed, as in `mobtrack profile`."""
    found, raw = [], []
    for op in catalogue.operations(conn, principal):
        if op["country_iso3"] != iso3:
            continue
        view = catalogue.view_of(principal, op["name"], op["country_iso3"])
        rounds = catalogue.rounds(conn, view).filter(~pl.col("assessment_type").is_in(list(FLOW_TYPES)))
        if year is not None:
            rounds = rounds.filter(pl.col("reporting_date").dt.year() <= year)
        if rounds.is_empty():
            continue
        latest = rounds.sort(["reporting_date", "round"]).row(-1, named=True)
        frame, _ = figure_service.figures(conn, view, 0, round_number=latest["round"],
                                          assessment_type=latest["assessment_type"])
        if frame.is_empty():
            continue
        row = frame.row(0, named=True)
        found.append({**latest, "value": row["value"], "suppressed": row["suppressed"]})
        if view.unprotected:
            raw.append(view.operation)
    if not found:
        return None, raw
    found.sort(key=lambda r: (r["reporting_date"], r["value"] or 0), reverse=True)
    best = found[0]
    figure = {"value": None if best["value"] is None else float(best["value"]), "suppressed": best["suppressed"],
              "year": best["reporting_date"].year,
              "source": f"DTM {best['operation']} ({best['assessment_type']}) round {best['round']}",
              "definition": DTM_IDP_DEFINITION,
              "ref": {"operation": best["operation"], "assessment_type": best["assessment_type"],
                      "round": best["round"], "reporting_date": best["reporting_date"].isoformat(), "admin_level": 0},
              "other_operations": [{"operation": r["operation"], "round": r["round"],
                                    "value": None if r["value"] is None else float(r["value"]),
                                    "reporting_date": r["reporting_date"].isoformat()} for r in found[1:]]}
    return figure, raw


def profile(conn: Connection, principal: Principal, country: str, year: int | None = None) -> tuple[dict, list[str]]:
    """(the profile, operations read raw); 404 for a code or name the crosswalk does not know."""
    try:
        out = stats_profile(conn.engine, country, year)
    except KeyError as exc:
        raise ApiError(404, str(exc.args[0])) from exc
    code = out["country"]["code"]
    figure, raw = dtm_idps(conn, principal, code, year)
    out["figures"]["idps"]["dtm"] = figure
    out["links"] = {"flows": f"/flows?source=undesa&country={code}",
                    "refugee_flows": f"/flows?source=unhcr&country={code}",
                    "dtm_flows": f"/flows?source=fm&country={code}",
                    "idp_origins": f"/flows?source=dtm&level=1&country={code}"}
    return out, raw
