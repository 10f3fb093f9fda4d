"""Alembic owns the schema: upgrade, downgrade, upgrade again, and no drift from the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from nvr_hub.storage import migrate
from nvr_hub.storage.db import make_engine
from nvr_hub.storage.models import Base


async def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    engine = make_engine(url)

    def read(conn: Connection) -> tuple[set[str], list[object]]:
        tables = set(inspect(conn).get_table_names())
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        return tables, list(diff)

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_without_drift(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    head = await asyncio.to_thread(migrate.head_revision, database_url)
    assert await asyncio.to_thread(migrate.current_revision, database_url) == head
    tables, diff = await _tables_and_diff(database_url)
    assert {
        "streams",
        "recordings",
        "users",
        "sessions",
        "api_keys",
        "settings",
        "detections",
        "detection_zones",
        "motion_configs",
    } <= tables
    assert diff == [], f"models and migrations disagree: {diff}"

    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    assert await asyncio.to_thread(migrate.current_revision, database_url) is None
    tables, _ = await _tables_and_diff(database_url)
    assert tables <= {"alembic_version"}

    await asyncio.to_thread(migrate.upgrade, database_url)
    tables, diff = await _tables_and_diff(database_url)
    assert "recordings" in tables and diff == []


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    from pathlib import Path

    url = f"sqlite+aiosqlite:///{Path(str(tmp_path)) / 'x.db'}"
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()
