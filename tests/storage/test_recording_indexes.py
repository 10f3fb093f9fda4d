"""The index behind one stream's detections: the list request's plan, and its migration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, insert, inspect, select
from sqlalchemy.engine import Connection

from nvr_hub.services.recording_queries import parse_list_query, select_count, select_page
from nvr_hub.storage import migrate
from nvr_hub.storage.models import Recording

INDEX = "ix_recordings_stream_detection"
BEFORE_INDEX = "0002_motion_events"
# GET /api/recordings?stream=...&has_detection=true&start=...&end=... : a camera's week of
# detections, as the list handler parses it.
DETECTION_WEEK = {
    "stream": "Front door",
    "has_detection": "true",
    "start": "2026-11-01",
    "end": "2026-11-08",
}
# Stream and detection are equalities and start_time bounds the week: all four narrow the
# range read, instead of one stream's every recording or every stream's detections.
NARROWS_ALL = (
    f"USING INDEX {INDEX} (stream_name=? AND has_detection=? AND start_time>? AND start_time<?)"
)


def _plan(stmt: Select[Any]) -> Callable[[Connection], str]:
    """SQLite's plan for `stmt`, bound to the values the engine itself would send."""

    def read(conn: Connection) -> str:
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        values = []
        for name in compiled.positiontup or ():
            bind_type = compiled.binds[name].type.dialect_impl(conn.dialect)
            processor = bind_type.bind_processor(conn.dialect)
            values.append(processor(params[name]) if processor else params[name])
        steps = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(values)).all()
        return " / ".join(str(step[3]) for step in steps)

    return read


def _recording_indexes(conn: Connection) -> dict[str, list[str | None]]:
    return {str(ix["name"]): ix["column_names"] for ix in inspect(conn).get_indexes("recordings")}


def _recording_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(Recording)).scalar_one())


def _add_recording(conn: Connection) -> None:
    conn.execute(
        insert(Recording).values(
            stream_name="Front door",
            path="Front_door/2026/11/02/080000.mp4",
            start_time=datetime(2026, 11, 2, 8, tzinfo=UTC),
            has_detection=True,
        )
    )


async def test_a_streams_detection_week_reads_only_its_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    query = parse_list_query(DETECTION_WEEK)

    page = await migrate.run_with(url, _plan(select_page(query)))
    assert NARROWS_ALL in page, page
    # Newest first comes straight from the index (rowid = id breaks ties): no sort of the week.
    assert "TEMP B-TREE" not in page, page
    count = await migrate.run_with(url, _plan(select_count(query)))
    assert NARROWS_ALL in count, count


async def test_downgrade_drops_the_index_and_upgrade_restores_it(database_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, database_url)
    await migrate.run_with(database_url, _add_recording)
    indexes = await migrate.run_with(database_url, _recording_indexes)
    assert indexes[INDEX] == ["stream_name", "has_detection", "start_time"]

    await asyncio.to_thread(migrate.downgrade, database_url, BEFORE_INDEX)
    assert await asyncio.to_thread(migrate.current_revision, database_url) == BEFORE_INDEX
    indexes = await migrate.run_with(database_url, _recording_indexes)
    assert INDEX not in indexes
    assert {
        "ix_recordings_stream_start",
        "ix_recordings_start",
        "ix_recordings_protected",
        "ix_recordings_detection",
    } <= set(indexes)
    assert await migrate.run_with(database_url, _recording_count) == 1

    await asyncio.to_thread(migrate.upgrade, database_url)
    indexes = await migrate.run_with(database_url, _recording_indexes)
    assert indexes[INDEX] == ["stream_name", "has_detection", "start_time"]
    assert await migrate.run_with(database_url, _recording_count) == 1
