"""After a review decision: put the stored rounds that still had doubtful places back through matching.

A decision (accept a p-code, or "no such place") is remembered as an alias by the gazetteer; here the
current version of every affected round is re-resolved with it and stored as a new version, with its
figures rolled up again. Issues of the old version carry over, except the place issues the decision
settled. The old version stays readable, as after any correction.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, insert, select

from mobtrack import gazetteer
from mobtrack.analytics.rollup import rollup
from mobtrack.gazetteer.aliases import decide
from mobtrack.store import rounds
from mobtrack.store.blocks import OBSERVATION_COLUMNS
from mobtrack.store.places import hierarchy
from mobtrack.store.publishing import mark_validated
from mobtrack.store.schema import issue, match_review, operation, round_, round_version, source_file
from mobtrack.validate import MATCH_COLUMNS

PLACE_RULES = {"unknown-pcode", "place-needs-review", "unknown-place", "pcode-name-mismatch", "pcode-other-version",
               "child-outside-parent", "pcode-normalised", "swapped-name-code"}


def decide_and_apply(conn: Connection, review_id: int, pcode: str | None, decided_by: str | None = None) -> dict:
    """Settle a review item and re-resolve the rounds it held back. Returns what changed."""
    country = conn.execute(select(match_review.c.country_iso3).where(match_review.c.id == review_id)).scalar()
    outcome = decide(conn, review_id, pcode, decided_by)
    outcome["rounds"] = reresolve(conn, country)
    return outcome


def reresolve(conn: Connection, country_iso3: str) -> list[dict]:
    current = conn.execute(
        select(round_version, round_.c.id.label("rid"), operation.c.name.label("operation"), source_file.c.name.label(
            "file"))
        .join(round_, round_.c.current_version_id == round_version.c.id)
        .join(operation, operation.c.id == round_.c.operation_id)
        .join(source_file, source_file.c.id == round_version.c.source_file_id)
        .where(operation.c.country_iso3 == country_iso3)
    ).mappings().all()
    changed = []
    for version in current:
        stored = rounds.read_observations(conn, version["id"])
        if stored.filter(pl.col("match_status") != "matched").is_empty():
            continue
        redo = stored.drop([*MATCH_COLUMNS, "location_id"])
        resolution = gazetteer.resolve_places(conn, redo, country_iso3=country_iso3,
                                              reporting_date=version["reporting_date"],
                                              source_file_id=version["source_file_id"], file_name=version["file"])
        observations = resolution.records.select(OBSERVATION_COLUMNS)
        meta = rounds.RoundMeta(version["reporting_date"], version["period_start"], version["period_end"])
        digest = rounds.content_hash(observations, meta)
        if digest == version["content_hash"]:
            continue
        figures = rollup(observations, hierarchy(conn, country_iso3))
        vid, _ = rounds.write_version(conn, version["rid"], version["source_file_id"], observations, figures, meta, digest)
        _carry_issues(conn, version["id"], vid, resolution.issues, version["source_file_id"])
        status = mark_validated(conn, vid)
        changed.append({"operation": version["operation"], "round_version": vid, "status": status,
                        "unresolved": observations.filter(pl.col("match_status") != "matched").height})
    return changed


def _carry_issues(conn: Connection, old: int, new: int, place_issues, file_id: int) -> None:
    kept = conn.execute(select(issue).where(issue.c.round_version_id == old, issue.c.rule.not_in(PLACE_RULES))
                        ).mappings().all()
    rows = [{**{k: v for k, v in r.items() if k != "id"}, "round_version_id": new} for r in kept]
    rows += [{"source_file_id": file_id, "round_version_id": new, "severity": str(i.severity), "rule": i.rule,
              "sheet": i.sheet, "row": i.row, "column": i.column, "value": i.value, "message": i.message}
             for i in place_issues]
    if rows:
        conn.execute(insert(issue), rows)
