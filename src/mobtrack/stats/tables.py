"""Tables for global statistics, on the shared `metadata` (migration 0003_stats creates them).

Layout, chosen for the queries the profiles and OD matrices make:
- `stats_release`: one loaded file of one dataset and edition (UN DESA 2024 revision, UNHCR population...).
  A corrected file of the same dataset and edition supersedes the previous release, which stays.
- `stats_fact`: every value the file held, long format, with the source row number it came from, so a
  profile figure can always say which rows it sums. Indexed by (release, measure, destination|origin, year),
  the two ways profiles read it.
- `stats_corridor`: the bilateral facts summed over sex/age/detail per origin-destination-year, built in
  the same transaction as the facts. OD and corridor queries read only this: ~10k rows a year for UN DESA,
  with an index on value so "top N corridors of year Y" is an index walk, not a sort.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)

from mobtrack.store.schema import metadata

stats_release = Table(
    "stats_release",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), nullable=False),
    Column("source", String(20), nullable=False),  # undesa | unhcr | idmc | worldbank
    Column("dataset", String(40), nullable=False),  # e.g. undesa_stock, unhcr_population, idmc_flow
    Column("edition", String(20), nullable=False),  # latest year the file covers, e.g. "2024"
    Column("content_hash", String(64), nullable=False),  # sha256 of the canonical facts
    Column("rows_read", BigInteger, nullable=False),
    Column("facts", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("superseded_at", DateTime(timezone=True)),
    Index("ix_stats_release_dataset", "dataset", "edition"),
)

stats_fact = Table(
    "stats_fact",
    metadata,
    Column("release_id", Integer, ForeignKey("stats_release.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("row", BigInteger, nullable=False),  # 1-based line in the source file, header = 1
    Column("year", SmallInteger, nullable=False),
    Column("origin", String(3), nullable=False),
    Column("destination", String(3), nullable=False),
    Column("measure", String(40), nullable=False),
    Column("sex", String(10), nullable=False),  # total | female | male | unknown
    Column("age", String(20)),
    Column("cause", String(40)),
    Column("detail", String(200)),  # source categories that are not dimensions here, e.g. "procedure_type=G"
    Column("value", Float, nullable=False),
    PrimaryKeyConstraint("release_id", "seq", name="pk_stats_fact"),
    Index("ix_stats_fact_destination", "release_id", "measure", "destination", "year"),
    Index("ix_stats_fact_origin", "release_id", "measure", "origin", "year"),
)

stats_corridor = Table(
    "stats_corridor",
    metadata,
    Column("release_id", Integer, ForeignKey("stats_release.id"), nullable=False),
    Column("measure", String(40), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("origin", String(3), nullable=False),
    Column("destination", String(3), nullable=False),
    Column("value", Float, nullable=False),
    Column("facts", Integer, nullable=False),  # how many stats_fact rows were summed
    PrimaryKeyConstraint("release_id", "measure", "year", "origin", "destination", name="pk_stats_corridor"),
    Index("ix_stats_corridor_top", "release_id", "measure", "year", "value"),
    Index("ix_stats_corridor_destination", "release_id", "measure", "destination", "year"),
    Index("ix_stats_corridor_origin", "release_id", "measure", "origin", "year"),
)

STATS_TABLES = (stats_release, stats_fact, stats_corridor)
