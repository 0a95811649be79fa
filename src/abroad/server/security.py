"""Secrets: argon2 password hashes, random session ids and API tokens (stored as hashes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone: equalises the time of unknown-user logins")

TOKEN_PREFIX = "abt_"
LOOKUP_CHARS = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; spends the same time when there is no such user."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_token() -> tuple[str, str, str]:
    """A fresh API token: (the token shown once, its public lookup part, the secret's hash).

    Tokens carry 256 random bits, so a fast hash (SHA-256) is enough at rest; passwords,
    which people choose, get argon2.
    """
    lookup = secrets.token_hex(LOOKUP_CHARS // 2)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}{lookup}_{secret}", lookup, sha256_hex(secret)


def split_token(token: str) -> tuple[str, str] | None:
    """(lookup, secret) of a well-formed token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    lookup, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(lookup) != LOOKUP_CHARS or not secret:
        return None
    return lookup, secret


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
