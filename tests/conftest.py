"""Shared fixtures: a real hub (`create_app`) over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from blockbuster import BlockBuster, blockbuster_ctx

from nvr_hub import keys
from nvr_hub.app import create_app
from nvr_hub.config import Config, parse_config

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
ADMIN_PASSWORD = "admin-password-1"


@dataclass
class Hub:
    """A running hub and a client for it, with an admin account ready."""

    app: web.Application
    client: TestClient[web.Request, web.Application]
    config: Config

    async def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
        """Log the client in (its cookie jar keeps the session)."""
        resp = await self.client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert resp.status == 200, await resp.text()

    async def add_user(self, username: str, role: str, password: str = "password-123") -> int:
        """Create a user directly through the service; returns its id."""
        user = await self.app[keys.AUTH].create_user(username, password, role=role)
        return user.id

    async def api_key(self, user_id: int) -> str:
        """A fresh API key for a user."""
        return await self.app[keys.AUTH].create_api_key(user_id)


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    """Fail any test in which our code (hub, integrations, tests) blocks the event loop.

    Only calls with one of our frames on the stack count, as aiohttp scans only itself:
    a library's own background task is the library's business.
    """
    with blockbuster_ctx(["nvr_hub", "integrations", "tests"]) as bb:
        # asyncpg looks for libpq's files (~/.pgpass, ~/.postgresql/*) as it parses the
        # connect arguments: small local files, with no async way round in asyncpg.
        for func in ("os.stat", "os.path.abspath"):
            bb.functions[func].can_block_in(
                "asyncpg/connect_utils.py", "_parse_connect_dsn_and_args"
            )
        # SQLAlchemy's SQLite dialect takes abspath of the file name when an engine is
        # made: string work only, as the config has already resolved it to an absolute path.
        bb.functions["os.path.abspath"].can_block_in(
            "sqlalchemy/dialects/sqlite/pysqlite.py", "create_connect_args"
        )
        # aiortc joins a receiver's decoder thread (just told to stop) when a receiving
        # peer closes: the tests' viewers, not the hub, which only sends.
        bb.functions["threading.Lock.acquire"].can_block_in(
            "aiortc/rtcrtpreceiver.py", "__stop_decoder"
        )
        yield bb


def basic(username: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every hub test runs on both databases."""
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on the chosen backend (a new PostgreSQL database per test)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        return
    name = f"nvr_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def make_config(tmp_path: Path, database_url: str, **overrides: Any) -> Config:
    """A test config: data under tmp_path, no seeded streams, no first-run admin."""
    raw: dict[str, Any] = {
        "storage": {"path": str(tmp_path / "data")},
        "database": {"url": database_url},
        "streams": [],
        "first_run_admin": False,
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            raw.setdefault(key, {}).update(value)
        else:
            raw[key] = value
    return parse_config(raw)


@pytest.fixture
def hub_config(tmp_path: Path, database_url: str) -> Config:
    """The config the `hub` fixture starts with."""
    return make_config(tmp_path, database_url)


@pytest.fixture
async def hub(hub_config: Config, aiohttp_client: Any) -> AsyncIterator[Hub]:
    """A started hub with an `admin` account (password ADMIN_PASSWORD).

    `hub_config` (and so the database) comes first, so it is torn down last: the app
    stops before its PostgreSQL database is dropped.
    """
    app = create_app(hub_config)
    client = await aiohttp_client(app)
    await app[keys.AUTH].create_user("admin", ADMIN_PASSWORD, role="admin")
    yield Hub(app=app, client=client, config=hub_config)


@pytest.fixture
def artifacts_dir() -> Iterator[Path]:
    """Where tests leave screenshots and logs worth keeping on failure."""
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    yield path
