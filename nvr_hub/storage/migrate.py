"""Run Alembic programmatically against the shipped `migrations/` package."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import migrations
from nvr_hub.storage.db import make_engine

T = TypeVar("T")


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic config pointing at the shipped revisions and the given database."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision`; blocking, so call it from a thread."""
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database to `revision`; blocking."""
    command.downgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    """The newest revision shipped with this version."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: empty database); blocking."""

    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    # The engine no longer makes SQLite's folder (engines are made on the event loop).
    _ensure_sqlite_dir(url)
    return asyncio.run(run_with(url, read))


async def run_with(url: str, work: Callable[[Connection], T]) -> T:
    """Run synchronous `work` in one transaction on a short-lived engine for `url`."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
