"""Password and token hashing: argon2id for passwords, SHA-256 for random tokens and keys."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# A real hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    """argon2id hash of a password, computed off the event loop."""
    return await asyncio.to_thread(_HASHER.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        matched = bool(_HASHER.verify(password_hash or _DUMMY_HASH, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; `None` hash burns the same time and fails."""
    return await asyncio.to_thread(_verify, password_hash, password)


def sha256(token: str) -> str:
    """Hex SHA-256 of a token; what the database stores for sessions and API keys."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str = "") -> str:
    """A fresh random token (256 bits)."""
    return prefix + secrets.token_urlsafe(32)


def new_password() -> str:
    """A random first-run password a person can type."""
    return secrets.token_urlsafe(12)
