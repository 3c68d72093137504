"""Who is asking, and what each role may do.

Roles (issue 3, item 6), from most to least powerful; all but admin are limited to the operations
or countries of their scopes:

admin       everything, including accounts
manager     import, review places, publish, read unprotected figures and quality reports
analyst     read unprotected figures (also unpublished rounds) and quality reports
data-entry  upload files, read their validation reports, settle the review queue
viewer      read protected figures of unpublished rounds too (e.g. a government partner)
anonymous   protected figures of published rounds only
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("admin", "manager", "analyst", "data-entry", "viewer")

READ_UNPUBLISHED = "read-unpublished"
READ_UNPROTECTED = "read-unprotected"  # figures without small-cell suppression: a sensitive read
READ_QUALITY = "read-quality"
UPLOAD = "upload"
REVIEW = "review"
PUBLISH = "publish"
MANAGE_USERS = "manage-users"

PERMISSIONS = {
    "admin": {READ_UNPUBLISHED, READ_UNPROTECTED, READ_QUALITY, UPLOAD, REVIEW, PUBLISH, MANAGE_USERS},
    "manager": {READ_UNPUBLISHED, READ_UNPROTECTED, READ_QUALITY, UPLOAD, REVIEW, PUBLISH},
    "analyst": {READ_UNPUBLISHED, READ_UNPROTECTED, READ_QUALITY},
    "data-entry": {READ_UNPUBLISHED, READ_QUALITY, UPLOAD, REVIEW},
    "viewer": {READ_UNPUBLISHED},
}

# Roles that can read unprotected figures must log in with a second factor (issue 4, item 7).
TOTP_ROLES = frozenset(r for r, p in PERMISSIONS.items() if READ_UNPROTECTED in p)


@dataclass(frozen=True)
class Principal:
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    organisation: str | None = None
    operations: frozenset[str] = field(default_factory=frozenset)
    countries: frozenset[str] = field(default_factory=frozenset)
    via: str = "anonymous"  # anonymous | session | token
    session_id: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def everywhere(self) -> bool:
        return self.role == "admin" or "*" in self.operations or "*" in self.countries

    def has(self, permission: str) -> bool:
        return self.role is not None and permission in PERMISSIONS.get(self.role, set())

    def covers(self, operation: str, country_iso3: str | None) -> bool:
        """Whether the operation is inside this user's scopes (anonymous users have none)."""
        if self.anonymous:
            return False
        return self.everywhere or operation in self.operations or (country_iso3 or "").upper() in self.countries

    def can(self, permission: str, operation: str, country_iso3: str | None) -> bool:
        return self.has(permission) and self.covers(operation, country_iso3)

    def label(self) -> str:
        return self.username or "anonymous"


ANONYMOUS = Principal()
