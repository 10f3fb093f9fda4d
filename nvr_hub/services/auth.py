"""Accounts: users, sessions, API keys, TOTP, and the login rate limit."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyotp
from sqlalchemy import delete, func, select

from nvr_hub.config import AuthConfig
from nvr_hub.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from nvr_hub.services.passwords import (
    hash_password,
    new_password,
    new_token,
    sha256,
    verify_password,
)
from nvr_hub.services.ratelimit import LoginLimiter
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import ApiKey, Session, User, utcnow

_LOGGER = logging.getLogger(__name__)

ROLES = ("admin", "user", "viewer", "api")
ROLE_NUMBERS = {0: "admin", 1: "user", 2: "viewer", 3: "api"}
PENDING_TOTP_SECONDS = 300
TOTP_ISSUER = "nvr-hub"
_SESSION_TOUCH_SECONDS = 60
_BASIC_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    """Who made a request and how (`method`: session, api_key or basic)."""

    user_id: int
    username: str
    role: str
    method: str
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LoginResult:
    """A finished login (session token) or a pending TOTP step (pending token)."""

    user: User
    session_token: str | None = None
    pending_token: str | None = None


def user_json(user: User) -> dict[str, Any]:
    """The documented user object; never the hash or the TOTP secret."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "is_active": user.is_active,
        "totp_enabled": user.totp_enabled,
        "password_change_locked": user.password_change_locked,
        "created_at": iso(user.created_at),
        "last_login": iso(user.last_login) if user.last_login else None,
    }


def iso(value: Any) -> str:
    """ISO-8601 UTC with a `Z`."""
    return str(value.isoformat().replace("+00:00", "Z"))


class AuthService:
    """Everything about who may do what, backed by the database."""

    def __init__(self, sessionmaker: SessionMaker, cfg: AuthConfig) -> None:
        self._sm = sessionmaker
        self._cfg = cfg
        self.limiter = LoginLimiter(cfg.login_max_failures, cfg.login_window_seconds)
        self._pending: dict[str, tuple[int, float]] = {}
        self._basic_cache: dict[str, tuple[int, float]] = {}

    # -- first run -----------------------------------------------------------------------

    async def ensure_first_admin(self) -> str | None:
        """Create `admin` with a random password when there are no users; return it once."""
        async with self._sm() as s:
            count = await s.scalar(select(func.count()).select_from(User))
        if count:
            return None
        password = new_password()
        await self.create_user("admin", password, role="admin")
        return password

    # -- login ---------------------------------------------------------------------------

    async def login(self, username: str, password: str, address: str) -> LoginResult:
        """Check a password under the rate limit; start a session or a TOTP step."""
        user = await self.check_password(username, password, address, allow_totp=True)
        if user.totp_enabled:
            token = new_token()
            self._prune_pending()
            self._pending[sha256(token)] = (user.id, time.monotonic() + PENDING_TOTP_SECONDS)
            return LoginResult(user=user, pending_token=token)
        return LoginResult(user=user, session_token=await self._start_session(user, address))

    async def login_totp(self, pending: str, code: str, address: str) -> LoginResult:
        """Finish a two-step login; the pending token works once, for five minutes."""
        keys = (f"addr:{address}",)
        self.limiter.check(*keys)
        entry = self._pending.pop(sha256(pending), None)
        if entry is None or entry[1] < time.monotonic():
            self.limiter.fail(*keys)
            raise Unauthorized("the login token is invalid or expired; log in again")
        user = await self._get(entry[0])
        self.limiter.check(f"user:{user.username.lower()}")
        if not user.is_active or not await self._accept_totp(user.id, code):
            self.limiter.fail(*keys, f"user:{user.username.lower()}")
            raise Unauthorized("invalid TOTP code")
        return LoginResult(user=user, session_token=await self._start_session(user, address))

    def _prune_pending(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._pending.items() if exp < now]:
            del self._pending[key]

    async def _start_session(self, user: User, address: str) -> str:
        token = new_token()
        now = utcnow()
        async with self._sm() as s, s.begin():
            s.add(
                Session(
                    token_hash=sha256(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen=now,
                    expires_at=now + timedelta(hours=self._cfg.session_absolute_hours),
                    address=address[:64],
                )
            )
            db_user = await s.get(User, user.id)
            if db_user is not None:
                db_user.last_login = now
        return token

    async def logout(self, token: str) -> None:
        """End one session."""
        async with self._sm() as s, s.begin():
            await s.execute(delete(Session).where(Session.token_hash == sha256(token)))

    # -- request authentication ----------------------------------------------------------

    async def session_principal(self, token: str) -> Principal | None:
        """The user behind a session cookie, honouring idle and absolute expiry."""
        now = utcnow()
        async with self._sm() as s, s.begin():
            row = await s.scalar(select(Session).where(Session.token_hash == sha256(token)))
            if row is None:
                return None
            idle = timedelta(minutes=self._cfg.session_idle_minutes)
            if row.expires_at <= now or row.last_seen + idle <= now:
                await s.delete(row)
                return None
            user = await s.get(User, row.user_id)
            if user is None or not user.is_active:
                return None
            if (now - row.last_seen).total_seconds() > _SESSION_TOUCH_SECONDS:
                row.last_seen = now
            return Principal(user.id, user.username, user.role, "session", token)

    async def api_key_principal(self, key: str) -> Principal | None:
        """The user behind an API key."""
        async with self._sm() as s, s.begin():
            row = await s.scalar(select(ApiKey).where(ApiKey.key_hash == sha256(key)))
            if row is None:
                return None
            user = await s.get(User, row.user_id)
            if user is None or not user.is_active:
                return None
            now = utcnow()
            if row.last_used is None or (now - row.last_used).total_seconds() > 60:
                row.last_used = now
            return Principal(user.id, user.username, user.role, "api_key")

    async def basic_principal(self, username: str, password: str, address: str) -> Principal:
        """HTTP Basic: a password check per request, cached briefly since argon2 is slow."""
        cache_key = sha256(f"{username}\x00{password}")
        cached = self._basic_cache.get(cache_key)
        if cached and cached[1] > time.monotonic():
            user = await self._get(cached[0])
            if user.is_active and user.username == username and not user.totp_enabled:
                return Principal(user.id, user.username, user.role, "basic")
        result = await self.check_password(username, password, address, allow_totp=False)
        if len(self._basic_cache) > 10_000:
            self._basic_cache.clear()
        self._basic_cache[cache_key] = (result.id, time.monotonic() + _BASIC_CACHE_SECONDS)
        return Principal(result.id, result.username, result.role, "basic")

    async def check_password(
        self, username: str, password: str, address: str, *, allow_totp: bool
    ) -> User:
        """Verify a password under the rate limit; TOTP users pass only with `allow_totp`."""
        keys = (f"user:{username.lower()}", f"addr:{address}")
        self.limiter.check(*keys)
        async with self._sm() as s:
            user = await s.scalar(select(User).where(User.username == username))
        ok = await verify_password(user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active or (user.totp_enabled and not allow_totp):
            self.limiter.fail(*keys)
            _LOGGER.warning("Failed login for %r from %s", username[:64], address)
            raise Unauthorized("invalid username or password")
        self.limiter.reset(*keys)
        return user

    # -- users ---------------------------------------------------------------------------

    async def _get(self, user_id: int) -> User:
        async with self._sm() as s:
            user = await s.get(User, user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    async def get_user(self, user_id: int) -> User:
        """One user or NotFound."""
        return await self._get(user_id)

    async def list_users(self) -> list[User]:
        """All users by id."""
        async with self._sm() as s:
            return list((await s.scalars(select(User).order_by(User.id))).all())

    async def create_user(
        self, username: str, password: str, *, email: str = "", role: str = "user"
    ) -> User:
        """A new active user; duplicate names conflict."""
        password_hash = await hash_password(password)
        async with self._sm() as s, s.begin():
            if await s.scalar(select(User.id).where(User.username == username)):
                raise Conflict(f"user '{username}' already exists")
            user = User(username=username, email=email, role=role, password_hash=password_hash)
            s.add(user)
        return user

    async def _admin_count(self, s: Any) -> int:
        count = await s.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.is_active)
        )
        return int(count or 0)

    async def update_user(self, user_id: int, changes: dict[str, Any]) -> User:
        """Change username, email, role or is_active; the last admin stays an admin."""
        async with self._sm() as s, s.begin():
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user not found")
            losing_admin = (
                user.role == "admin"
                and user.is_active
                and (changes.get("role", "admin") != "admin" or changes.get("is_active") is False)
            )
            if losing_admin and await self._admin_count(s) <= 1:
                raise Conflict("cannot demote or deactivate the last admin")
            new_name = changes.get("username")
            if new_name and new_name != user.username:
                if await s.scalar(select(User.id).where(User.username == new_name)):
                    raise Conflict(f"user '{new_name}' already exists")
            for key in ("username", "email", "role", "is_active"):
                if key in changes:
                    setattr(user, key, changes[key])
            if changes.get("is_active") is False or "role" in changes:
                # A deactivated or re-roled user logs in again.
                await s.execute(delete(Session).where(Session.user_id == user.id))
        self._basic_cache.clear()
        return user

    async def delete_user(self, user_id: int) -> None:
        """Delete a user and their sessions and keys; never the last admin."""
        async with self._sm() as s, s.begin():
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user not found")
            if user.role == "admin" and user.is_active and await self._admin_count(s) <= 1:
                raise Conflict("cannot delete the last admin")
            await s.execute(delete(Session).where(Session.user_id == user.id))
            await s.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
            await s.delete(user)
        self._basic_cache.clear()

    async def change_password(
        self, actor: Principal, user_id: int, old: str | None, new: str, keep_token: str | None
    ) -> None:
        """Set a new password; non-admins give the old one and obey the password lock."""
        user = await self._get(user_id)
        if actor.role != "admin":
            if user.password_change_locked:
                raise Forbidden("this user's password is locked; ask an admin")
            if not old or not await verify_password(user.password_hash, old):
                raise BadRequest("invalid field 'old_password': does not match")
        password_hash = await hash_password(new)
        async with self._sm() as s, s.begin():
            db_user = await s.get(User, user_id)
            if db_user is None:
                raise NotFound("user not found")
            db_user.password_hash = password_hash
            # Every other session of this user ends; the caller's own stays.
            stmt = delete(Session).where(Session.user_id == user_id)
            if keep_token:
                stmt = stmt.where(Session.token_hash != sha256(keep_token))
            await s.execute(stmt)
        self._basic_cache.clear()

    async def set_password_lock(self, user_id: int, locked: bool) -> User:
        """Lock or unlock a user's own password changes."""
        async with self._sm() as s, s.begin():
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user not found")
            user.password_change_locked = locked
        return user

    async def create_api_key(self, user_id: int) -> str:
        """A new API key for the user, replacing any previous one; shown once."""
        key = new_token("nvr_")
        async with self._sm() as s, s.begin():
            if await s.get(User, user_id) is None:
                raise NotFound("user not found")
            await s.execute(delete(ApiKey).where(ApiKey.user_id == user_id))
            s.add(ApiKey(user_id=user_id, key_hash=sha256(key), prefix=key[:8]))
        return key

    # -- TOTP ----------------------------------------------------------------------------

    async def totp_setup(self, user_id: int) -> tuple[str, str]:
        """A new secret (not yet enabled) and its otpauth:// URI."""
        secret = pyotp.random_base32()
        async with self._sm() as s, s.begin():
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user not found")
            user.totp_secret = secret
            user.totp_enabled = False
            username = user.username
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)
        return secret, str(uri)

    async def totp_verify(self, user_id: int, code: str) -> None:
        """Enable TOTP once the user proves the authenticator works."""
        user = await self._get(user_id)
        if not user.totp_secret:
            raise BadRequest("TOTP is not set up; call setup first")
        if not await self._accept_totp(user_id, code):
            raise BadRequest("invalid field 'code': the TOTP code is wrong or already used")
        async with self._sm() as s, s.begin():
            db_user = await s.get(User, user_id)
            if db_user is not None:
                db_user.totp_enabled = True

    async def totp_disable(self, user_id: int) -> None:
        """Turn TOTP off and forget the secret."""
        async with self._sm() as s, s.begin():
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("user not found")
            user.totp_enabled = False
            user.totp_secret = None
            user.totp_last_step = 0
        self._basic_cache.clear()

    async def _accept_totp(self, user_id: int, code: str) -> bool:
        """Check a code against ±1 step and refuse any step already used (no replay)."""
        code = code.strip()
        if not (code.isdigit() and len(code) == 6):
            return False
        async with self._sm() as s, s.begin():
            user = await s.get(User, user_id)
            if user is None or not user.totp_secret:
                return False
            totp = pyotp.TOTP(user.totp_secret)
            now = time.time()
            for offset in (0, -1, 1):
                at = now + offset * totp.interval
                if totp.verify(code, for_time=at, valid_window=0):
                    step = int(at // totp.interval)
                    if step <= user.totp_last_step:
                        return False
                    user.totp_last_step = step
                    return True
        return False
