"""Secrets: password hashing and policy, random tokens, CSRF signatures, TOTP codes.

Library code with no web framework in it, so the CLI (`mobtrack user add`) and the server share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 15  # issue 4: at least 15 characters, 64 and more accepted
MAX_PASSWORD = 1024  # only to bound the hashing work an attacker can ask for
MIN_STRENGTH = 3  # zxcvbn score 0..4

_hasher = PasswordHasher()


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why."""


def check_password_policy(password: str, user_inputs: list[str] | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordRejected(f"a password needs at least {MIN_PASSWORD} characters (a few words make a good one)")
    if len(password) > MAX_PASSWORD:
        raise PasswordRejected(f"a password may have at most {MAX_PASSWORD} characters")
    from zxcvbn import zxcvbn

    # zxcvbn refuses more than 72 characters; a long password is judged on its head, which still
    # catches "passwordpassword..." repeats.
    verdict = zxcvbn(password[:72], user_inputs=[u for u in (user_inputs or []) if u])
    if verdict["score"] < MIN_STRENGTH:
        hint = verdict["feedback"].get("warning") or "it is too easy to guess"
        raise PasswordRejected(f"password too weak: {hint}".rstrip(".") + "; add more unrelated words")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


# A hash of nothing in particular, verified against when the username is unknown so that the time a
# failed login takes does not reveal whether the account exists.
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_token(prefix: str = "mt") -> str:
    """A random bearer secret: `mt_` + 43 URL-safe characters (256 bits)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


# --- TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), as authenticator apps expect ------------

def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def totp_code(secret: str, at: float | None = None, step: int = 30) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def verify_totp(secret: str, code: str | None, at: float | None = None) -> bool:
    """Accept the current code and its neighbours (clocks drift by a few seconds)."""
    if not code:
        return False
    code = code.strip().replace(" ", "")
    now = time.time() if at is None else at
    return any(same(totp_code(secret, now + drift), code) for drift in (-30, 0, 30))


def totp_uri(secret: str, username: str, issuer: str = "mobtrack") -> str:
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
