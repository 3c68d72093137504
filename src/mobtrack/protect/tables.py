"""Tables of the protection stage, on the shared metadata (migration 0002_protect).

Datasets are named by a free string key chosen by the caller (e.g. ``"op:12/idps/individuals"``)
so that protection does not depend on how the store lays out rounds.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mobtrack.store.schema import metadata

# Sensitivity class of a dataset, round or field, by key: "op:12", "op:12/round:3", "op:12/field:hh_size".
classification = Table(
    "protect_classification",
    metadata,
    Column("target", String(300), primary_key=True),
    Column("sensitivity", String(20), nullable=False),  # public | restricted | sensitive
    Column("set_by", String(100)),
    Column("set_at", String(32), nullable=False),
)

# Privacy budget per dataset: releases that would spend beyond it are refused.
dp_budget = Table(
    "protect_dp_budget",
    metadata,
    Column("dataset", String(200), primary_key=True),
    Column("epsilon", Float, nullable=False),
    Column("set_by", String(100)),
    Column("set_at", String(32), nullable=False),
)

# One row per differentially private release: the epsilon ledger, and the noisy figures themselves,
# stored so that asking the same question again returns the same numbers and spends nothing.
dp_release = Table(
    "protect_dp_release",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset", String(200), nullable=False),
    Column("query_hash", String(64), nullable=False),  # spec + round + data fingerprint
    Column("round_label", String(100)),
    Column("epsilon", Float, nullable=False),
    Column("delta", Float, nullable=False),
    Column("privacy_unit", String(100), nullable=False),
    Column("details", JSON),  # mechanism, scale, contributions, spec
    Column("payload", LargeBinary, nullable=False),  # Parquet of the released table
    Column("created_by", String(100)),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("dataset", "query_hash"),
    Index("ix_protect_dp_release_dataset", "dataset"),
)

agreement = Table(
    "protect_agreement",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("partner_org", String(200), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("datasets", JSON, nullable=False),  # list of dataset keys (a trailing * matches a prefix)
    Column("max_sensitivity", String(20), nullable=False),  # restricted | sensitive
    Column("starts_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("created_by", String(100)),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Index("ix_protect_agreement_org", "partner_org"),
)

retention = Table(
    "protect_retention",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset", String(200), nullable=False),
    Column("kind", String(50), nullable=False),  # which registered purger deletes it
    Column("delete_after", Date, nullable=False),
    Column("reason", Text),
    Column("purged_at", String(32)),
    Column("purged_rows", Integer),
)

# Append-only and hash-chained: each entry's hash covers the previous one, and `prev_hash` is
# unique so two writers racing on the same tail cannot fork the chain (one insert fails, retries).
# Triggers from the migration refuse UPDATE and DELETE.
audit_log = Table(
    "protect_audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(32), nullable=False),  # ISO 8601 UTC, kept as text so the hash input is exact
    Column("actor", String(100), nullable=False),
    Column("organisation", String(200)),
    Column("action", String(60), nullable=False),
    Column("target", String(300), nullable=False),
    Column("purpose", Text),
    Column("origin", String(100)),
    Column("details", Text),  # canonical JSON; never personal values
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)
