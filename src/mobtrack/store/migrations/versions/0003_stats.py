"""global statistics: releases, facts, corridors

Revision ID: 0003_stats
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_stats"
down_revision = "0001_core"
branch_labels = ("stats",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stats_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("dataset", sa.String(length=40), nullable=False),
        sa.Column("edition", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("facts", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_file_id"], ["source_file.id"],
                                name=op.f("fk_stats_release_source_file_id_source_file")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_release")),
    )
    op.create_index("ix_stats_release_dataset", "stats_release", ["dataset", "edition"])
    op.create_table(
        "stats_fact",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("origin", sa.String(length=3), nullable=False),
        sa.Column("destination", sa.String(length=3), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age", sa.String(length=20), nullable=True),
        sa.Column("cause", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["stats_release.id"],
                                name=op.f("fk_stats_fact_release_id_stats_release")),
        sa.PrimaryKeyConstraint("release_id", "seq", name="pk_stats_fact"),
    )
    op.create_index("ix_stats_fact_destination", "stats_fact", ["release_id", "measure", "destination", "year"])
    op.create_index("ix_stats_fact_origin", "stats_fact", ["release_id", "measure", "origin", "year"])
    op.create_table(
        "stats_corridor",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("origin", sa.String(length=3), nullable=False),
        sa.Column("destination", sa.String(length=3), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("facts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["stats_release.id"],
                                name=op.f("fk_stats_corridor_release_id_stats_release")),
        sa.PrimaryKeyConstraint("release_id", "measure", "year", "origin", "destination", name="pk_stats_corridor"),
    )
    op.create_index("ix_stats_corridor_top", "stats_corridor", ["release_id", "measure", "year", "value"])
    op.create_index("ix_stats_corridor_destination", "stats_corridor", ["release_id", "measure", "destination", "year"])
    op.create_index("ix_stats_corridor_origin", "stats_corridor", ["release_id", "measure", "origin", "year"])


def downgrade() -> None:
    op.drop_table("stats_corridor")
    op.drop_table("stats_fact")
    op.drop_table("stats_release")
