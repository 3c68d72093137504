"""Choosing which stored rounds an analytic reads."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, select

from mobtrack.store.schema import operation, round_, round_version


@dataclass(frozen=True)
class RoundFilter:
    country_iso3: str | None = None
    operation: str | None = None
    assessment_type: str | None = None
    round_number: int | None = None
    latest: bool = False  # per operation, only its latest round (by reporting date, then number)
    published_only: bool = False
    operations: tuple[str, ...] | None = None  # any of these operations (with `operation`: that one too)


def current_rounds(conn: Connection, where: RoundFilter) -> pl.DataFrame:
    """One row per selected round with its current version: version_id, operation, assessment_type, ..."""
    query = (
        select(
            round_version.c.id.label("version_id"), round_.c.id.label("round_id"),
            operation.c.name.label("operation"), operation.c.country_iso3, round_.c.assessment_type,
            round_.c.number.label("round"), round_.c.status, round_version.c.version,
            round_version.c.reporting_date, round_version.c.content_hash,
        )
        .join(round_, round_.c.operation_id == operation.c.id)
        .join(round_version, round_version.c.id == round_.c.current_version_id)
    )
    if where.country_iso3:
        query = query.where(operation.c.country_iso3 == where.country_iso3.upper())
    if where.operation:
        query = query.where(operation.c.name == where.operation)
    if where.operations is not None:
        query = query.where(operation.c.name.in_(where.operations))
    if where.assessment_type:
        query = query.where(round_.c.assessment_type == where.assessment_type.upper())
    if where.round_number is not None:
        query = query.where(round_.c.number == where.round_number)
    if where.published_only:
        query = query.where(round_.c.status == "published")
    rows = conn.execute(query).all()
    frame = pl.DataFrame(
        [r._asdict() for r in rows],
        schema={"version_id": pl.Int64, "round_id": pl.Int64, "operation": pl.String, "country_iso3": pl.String,
                "assessment_type": pl.String, "round": pl.Int64, "status": pl.String, "version": pl.Int64,
                "reporting_date": pl.Date, "content_hash": pl.String},
    )
    if where.latest and frame.height:
        frame = (frame.sort(["operation", "reporting_date", "round"], nulls_last=False)
                 .group_by("operation", maintain_order=True).last())
    return frame.sort(["operation", "assessment_type", "round"])
