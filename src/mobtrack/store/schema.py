"""The database schema, defined once. Alembic migrations are written against it.

Layout choice (see docs/architecture.md): descriptive entities (operations, rounds, places,
files, issues) are ordinary rows; observations are stored per round version as compressed
columnar blocks (Arrow IPC, zstd), sorted by location, because one SQL row per value cannot be loaded or
scanned fast enough on a laptop, and every analytic reads whole rounds anyway.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- places -----------------------------------------------------------------------------------

boundary_version = Table(
    "boundary_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country_iso3", String(3), nullable=False),
    Column("name", String(200), nullable=False),  # e.g. "COD-AB 2023-03-08" or "OCHA global p-codes"
    Column("source", Text),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("country_iso3", "name"),
)

location = Table(
    "location",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pcode", String(64), nullable=False),
    Column("country_iso3", String(3), nullable=False),
    Column("admin_level", SmallInteger, nullable=False),  # 0-4 admin units, 5 sites/villages
    Column("name", String(300), nullable=False),
    Column("names", JSON),  # {"en": ..., "fr": ..., "ar": ...}
    Column("parent_pcode", String(64)),
    Column("boundary_version_id", Integer, ForeignKey("boundary_version.id"), nullable=False),
    Column("kind", String(20), nullable=False, default="admin"),  # admin | site | village
    Column("site_type", String(100)),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("geometry", LargeBinary),  # WKB, simplified on read
    Column("valid_from", Date),
    Column("valid_to", Date),
    UniqueConstraint("boundary_version_id", "pcode"),
    Index("ix_location_country_level", "country_iso3", "admin_level"),
    Index("ix_location_pcode", "pcode"),
)

# Decisions on names that the matcher could not settle alone; reused by later imports.
place_alias = Table(
    "place_alias",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country_iso3", String(3), nullable=False),
    Column("admin_level", SmallInteger, nullable=False),
    Column("parent_pcode", String(64)),
    Column("name_key", String(300), nullable=False),
    Column("pcode", String(64)),  # null: decided "no such place"
    Column("decided_by", String(100)),
    Column("decided_at", DateTime(timezone=True)),
    UniqueConstraint("country_iso3", "admin_level", "parent_pcode", "name_key"),
)

# --- operations and rounds --------------------------------------------------------------------

operation = Table(
    "operation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(300), nullable=False, unique=True),
    Column("country_iso3", String(3), nullable=False),
    Column("status", String(30), nullable=False, default="active"),
)

source_file = Table(
    "source_file",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("format", String(50), nullable=False),
    Column("sheet", String(200)),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", String(100)),
    Index("ix_source_file_sha256", "sha256"),
)

round_ = Table(
    "round",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("operation_id", Integer, ForeignKey("operation.id"), nullable=False),
    Column("assessment_type", String(10), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="draft"),
    Column("current_version_id", Integer),  # round_version.id; no FK to avoid a cycle
    Column("published_at", DateTime(timezone=True)),
    UniqueConstraint("operation_id", "assessment_type", "number"),
)

# Each import of a round creates a version; a corrected file supersedes the previous version,
# which stays retrievable.
round_version = Table(
    "round_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("round_id", Integer, ForeignKey("round.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source_file_id", Integer, ForeignKey("source_file.id"), nullable=False),
    Column("content_hash", String(64), nullable=False),  # hash of the canonical observations
    Column("reporting_date", Date),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("observations", BigInteger, nullable=False),
    Column("levels", JSON),  # admin levels present, e.g. [0, 1, 2]
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("superseded_at", DateTime(timezone=True)),
    UniqueConstraint("round_id", "version"),
    Index("ix_round_version_round", "round_id"),
)

# Observations and their rolled-up figures, per round version, as compressed blocks (store/blocks.py).
#   kind "observations": canonical values with location ids and provenance, sorted by location;
#   kind "figures": headline totals per location, group and unit at every admin level, upper levels
#   rolled up from the lowest level present, with the source's own figure where it gave one.
block = Table(
    "block",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("round_version_id", Integer, ForeignKey("round_version.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    UniqueConstraint("round_version_id", "kind", "seq"),
)

# --- quality ----------------------------------------------------------------------------------

issue = Table(
    "issue",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id")),
    Column("round_version_id", Integer, ForeignKey("round_version.id")),
    Column("severity", String(10), nullable=False),
    Column("rule", String(60), nullable=False),
    Column("sheet", String(200)),
    Column("row", BigInteger),
    Column("column", String(200)),
    Column("value", Text),
    Column("message", Text, nullable=False),
    Index("ix_issue_rv", "round_version_id"),
)

match_review = Table(
    "match_review",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_file_id", Integer, ForeignKey("source_file.id")),
    Column("country_iso3", String(3), nullable=False),
    Column("admin_level", SmallInteger, nullable=False),
    Column("input_name", String(300)),
    Column("input_code", String(64)),
    Column("parent_pcode", String(64)),
    Column("candidates", JSON),  # [{"pcode", "name", "score"}]
    Column("reason", Text),
    Column("status", String(20), nullable=False, default="open"),  # open | accepted | rejected
    Column("chosen_pcode", String(64)),
    Column("decided_by", String(100)),
    Column("decided_at", DateTime(timezone=True)),
)



# Stages that own tables define them in `mobtrack/<stage>/tables.py` on this same `metadata`.
TABLE_MODULES = ["mobtrack.protect.tables", "mobtrack.stats.tables", "mobtrack.web.tables"]


def load_all_tables() -> MetaData:
    """Import every stage's table module so `metadata` knows the whole schema."""
    import importlib

    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a stage that has no tables (yet)
            if not (exc.name and name.startswith(exc.name)):
                raise
    return metadata
