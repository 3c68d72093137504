"""protection: privacy budgets, DP releases, data-sharing agreements, retention, audit log

Revision ID: 0002_protect
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_protect"
down_revision = "0001_core"
branch_labels = ("protect",)
depends_on = None

APPEND_ONLY_PG = """
CREATE OR REPLACE FUNCTION protect_audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'protect_audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER protect_audit_log_no_update BEFORE UPDATE OR DELETE ON protect_audit_log
  FOR EACH ROW EXECUTE FUNCTION protect_audit_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "protect_classification",
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("sensitivity", sa.String(20), nullable=False),
        sa.Column("set_by", sa.String(100)),
        sa.Column("set_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_protect_classification")),
    )
    op.create_table(
        "protect_dp_budget",
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(100)),
        sa.Column("set_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("dataset", name=op.f("pk_protect_dp_budget")),
    )
    op.create_table(
        "protect_dp_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("query_hash", sa.String(64), nullable=False),
        sa.Column("round_label", sa.String(100)),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("privacy_unit", sa.String(100), nullable=False),
        sa.Column("details", sa.JSON()),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(100)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protect_dp_release")),
        sa.UniqueConstraint("dataset", "query_hash", name=op.f("uq_protect_dp_release_dataset")),
    )
    op.create_index("ix_protect_dp_release_dataset", "protect_dp_release", ["dataset"])
    op.create_table(
        "protect_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_org", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("max_sensitivity", sa.String(20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(100)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protect_agreement")),
    )
    op.create_index("ix_protect_agreement_org", "protect_agreement", ["partner_org"])
    op.create_table(
        "protect_retention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("delete_after", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("purged_at", sa.String(32)),
        sa.Column("purged_rows", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protect_retention")),
    )
    op.create_table(
        "protect_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("organisation", sa.String(200)),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("purpose", sa.Text()),
        sa.Column("origin", sa.String(100)),
        sa.Column("details", sa.Text()),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protect_audit_log")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_protect_audit_log_prev_hash")),
        sa.UniqueConstraint("hash", name=op.f("uq_protect_audit_log_hash")),
    )
    # Append-only at the database level too, so a bug (or a hurried admin) cannot edit history.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_PG)
    elif op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER protect_audit_log_no_{event.lower()} BEFORE {event} ON protect_audit_log "
                "BEGIN SELECT RAISE(ABORT, 'protect_audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS protect_audit_log_no_update ON protect_audit_log")
        op.execute("DROP FUNCTION IF EXISTS protect_audit_log_append_only()")
    for name in ("protect_audit_log", "protect_retention", "protect_agreement", "protect_dp_release", "protect_dp_budget",
                 "protect_classification"):
        op.drop_table(name)
