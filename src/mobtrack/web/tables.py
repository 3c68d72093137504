"""Accounts, sessions and API tokens of the web server, on the store's shared `metadata`.

Secrets are never stored as given: passwords as argon2 hashes, session ids and API tokens as
SHA-256 digests (they are long random strings, so a fast hash is enough and lookups stay indexed).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mobtrack.store.schema import metadata

web_user = Table(
    "web_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200)),
    Column("email", String(320)),
    Column("organisation", String(200), nullable=False),
    Column("role", String(20), nullable=False),  # admin | manager | analyst | data-entry | viewer
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", String(64)),  # base32; required for roles that read unprotected figures
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True)),
)

# What a user may see: operations by name or countries by ISO3 ("*" = everything).
web_user_scope = Table(
    "web_user_scope",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # operation | country
    Column("value", String(300), nullable=False),
    UniqueConstraint("user_id", "kind", "value"),
)

web_session = Table(
    "web_session",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("client", String(100)),
)

web_api_token = Table(
    "web_api_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # shown in listings so a token can be recognised
    Column("user_id", Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Failed and successful logins, for rate limiting (the audit log keeps the permanent record).
web_login_attempt = Table(
    "web_login_attempt",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("client", String(100)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_web_login_attempt_username_at", "username", "at"),
)

# Server-wide settings that every worker must share, e.g. the key that signs CSRF tokens.
web_setting = Table(
    "web_setting",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# An uploaded file waiting between its validation report and the user's confirmation.
web_upload = Table(
    "web_upload",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False),
    Column("file_name", String(500), nullable=False),
    Column("path", Text, nullable=False),
    Column("options", Text, nullable=False),  # JSON of the import options
    Column("report", Text),  # JSON of the dry-run result
    Column("status", String(20), nullable=False),  # validated | rejected | imported | unchanged
    Column("created_at", DateTime(timezone=True), nullable=False),
)
