"""Benchmark the recording list and timeline queries on a million-row database.

Fills a database made by the real migrations, then times each query shape through the
real `select_*` builders and async engine (an `AsyncSession` per call, like a request), and
the same SQL through the bare driver, so the SQLAlchemy/ORM overhead is visible.

    .venv/bin/python bench/db_recordings.py                 # SQLite, 1,000,000 rows
    .venv/bin/python bench/db_recordings.py --pg            # and PostgreSQL (scratch database)
    .venv/bin/python bench/db_recordings.py --reuse --gc-freeze   # same file, no GC pauses
    .venv/bin/python bench/db_recordings.py --rows 100000 --reps 50   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nvr_hub.services.recording_queries import (  # noqa: E402
    RecordingQuery,
    select_count,
    select_overlapping,
    select_page,
)
from nvr_hub.storage.db import make_engine, make_sessionmaker  # noqa: E402
from nvr_hub.storage.migrate import upgrade  # noqa: E402

STREAMS = 50
CONTINUOUS = 10  # the first streams record 60 s segments around the clock
DAYS = 55
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DateTime stores values
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "nvr_bench_recordings"
COLUMNS = (
    "stream_name",
    "path",
    "start_time",
    "end_time",
    "duration",
    "size_bytes",
    "width",
    "height",
    "codec",
    "capture_method",
    "has_detection",
    "protected",
    "retention_days",
    "is_complete",
)

Row = tuple[Any, ...]


def stream_name(index: int) -> str:
    """Stream names as a user would type them."""
    return f"Camera {index:02d}"


def generate(rows: int, seed: int = 7) -> Iterator[Row]:
    """Recordings in start-time order per stream: 10 continuous streams, 40 motion streams.

    Continuous streams write 1,440 segments a day; motion streams ~95 clips of 10-300 s a
    day, sized so the total is `rows`. A few % have detections, ~0.3% are protected, and the
    newest recording of each stream is still open (no end_time).
    """
    rnd = random.Random(seed)
    continuous_rows = CONTINUOUS * DAYS * 1440
    motion_days = (STREAMS - CONTINUOUS) * DAYS
    motion_per_day, extra = divmod(max(0, rows - continuous_rows), motion_days)
    made = 0
    for index in range(STREAMS):
        name = stream_name(index)
        starts: list[tuple[datetime, float]] = []
        if index < CONTINUOUS:
            starts = [(FIRST_DAY + timedelta(minutes=m), 60.0) for m in range(DAYS * 1440)]
        else:
            for day in range(DAYS):
                clips = motion_per_day + ((index - CONTINUOUS) * DAYS + day < extra)
                offsets = sorted(rnd.sample(range(0, 86_400 - 300, 300), clips))
                base = FIRST_DAY + timedelta(days=day)
                starts += [(base + timedelta(seconds=o), rnd.uniform(10, 300)) for o in offsets]
        for number, (start, duration) in enumerate(starts):
            if made >= rows:
                return
            made += 1
            last = number == len(starts) - 1
            motion = index >= CONTINUOUS
            yield (
                name,
                f"{name.replace(' ', '_')}/{start:%Y/%m/%d/%H%M%S}_{number}.mp4",
                start,
                None if last else start + timedelta(seconds=duration),
                duration,
                int(duration * 250_000),
                1920,
                1080,
                "h264",
                "motion" if motion else "continuous",
                rnd.random() < (0.15 if motion else 0.02),
                rnd.random() < 0.003,
                None,
                not last,
            )


def sqlite_row(row: Row) -> Row:
    """A generated row as SQLAlchemy stores it in SQLite (naive UTC text, 0/1 booleans)."""
    out = list(row)
    out[2] = row[2].strftime(SQLITE_TIME)
    out[3] = row[3].strftime(SQLITE_TIME) if row[3] is not None else None
    return tuple(out)


def fill_sqlite(path: Path, rows: int) -> None:
    """Create the schema with the real migrations and bulk-insert `rows` recordings."""
    upgrade(f"sqlite+aiosqlite:///{path}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    sql = f"INSERT INTO recordings ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    batch: list[Row] = []
    for row in generate(rows):
        batch.append(sqlite_row(row))
        if len(batch) == 100_000:
            with conn:
                conn.executemany(sql, batch)
            batch.clear()
    with conn:
        conn.executemany(sql, batch)
    conn.close()


async def fill_pg(url: str, rows: int) -> None:
    """Recreate the scratch database, migrate it and COPY `rows` recordings in."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, url)
    conn = await asyncpg.connect(pg_dsn())
    try:
        await conn.copy_records_to_table("recordings", records=generate(rows), columns=COLUMNS)
        await conn.execute("VACUUM ANALYZE recordings")  # what autovacuum does soon after
    finally:
        await conn.close()


def pg_dsn() -> str:
    """The scratch database for asyncpg."""
    return f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


@dataclass(frozen=True)
class Shape:
    """A query shape: a builder of random instances, and whether it returns rows."""

    name: str
    build: Callable[[random.Random], Select[Any]]
    scalar: bool = False


def day(rnd: random.Random, last: int = DAYS - 1) -> datetime:
    """A random midnight inside the data."""
    return FIRST_DAY + timedelta(days=rnd.randrange(0, last))


def any_stream(rnd: random.Random) -> str:
    """A random stream, a continuous one half of the time (they have 15x the rows)."""
    if rnd.random() < 0.5:
        return stream_name(rnd.randrange(CONTINUOUS))
    return stream_name(rnd.randrange(CONTINUOUS, STREAMS))


def one_day(rnd: random.Random) -> RecordingQuery:
    """One stream, one day, first page."""
    start = day(rnd)
    return RecordingQuery(streams=(any_stream(rnd),), start=start, end=start + timedelta(1))


def detection_week(rnd: random.Random) -> RecordingQuery:
    """One stream's detections over a week."""
    start = day(rnd, DAYS - 7)
    return RecordingQuery(
        streams=(any_stream(rnd),), start=start, end=start + timedelta(7), has_detection=True
    )


def timeline(rnd: random.Random) -> Select[Any]:
    """One stream's timeline for one day."""
    start = day(rnd)
    return select_overlapping(any_stream(rnd), start, start + timedelta(1))


SHAPES = (
    Shape("stream day page", lambda rnd: select_page(one_day(rnd))),
    Shape("stream day count", lambda rnd: select_count(one_day(rnd)), scalar=True),
    Shape("all streams page", lambda rnd: select_page(RecordingQuery(page=rnd.randint(1, 25)))),
    Shape("all streams count", lambda rnd: select_count(RecordingQuery()), scalar=True),
    Shape("protected page", lambda rnd: select_page(RecordingQuery(protected=True))),
    Shape("detection week page", lambda rnd: select_page(detection_week(rnd))),
    Shape("detection week count", lambda rnd: select_count(detection_week(rnd)), scalar=True),
    Shape("timeline day", timeline),
)


def compiled(stmt: Select[Any], engine: AsyncEngine) -> tuple[str, list[Any]]:
    """The exact SQL the engine sends, with its parameters converted as its types would."""
    comp = stmt.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    params = comp.construct_params()
    names = comp.positiontup or []
    values: list[Any] = []
    for name in names:
        value = params[name]
        if engine.dialect.name == "sqlite" and isinstance(value, datetime):
            value = value.astimezone(UTC).strftime(SQLITE_TIME)
        values.append(value)
    return str(comp), values


def summary(samples: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):7.2f} {p95:7.2f} {ordered[-1]:7.2f}"


async def timed(call: Callable[..., Awaitable[Any]], *args: Any) -> float:
    """Milliseconds one awaited call takes."""
    began = time.perf_counter()
    await call(*args)
    return (time.perf_counter() - began) * 1000


async def run_shapes(
    engine: AsyncEngine,
    raw: Callable[[str, list[Any], bool], Awaitable[Any]],
    explain: Callable[[str, list[Any]], Awaitable[str]],
    reps: int,
) -> None:
    """Time every shape through the ORM and through the bare driver; print the table."""
    sessions = make_sessionmaker(engine)
    print(
        f"{'shape':22} {'ORM p50':>7} {'p95':>7} {'max':>7} | {'raw p50':>7} {'p95':>7} "
        f"{'max':>7} | rows   plan"
    )
    for shape in SHAPES:
        rnd = random.Random(shape.name)
        stmts = [shape.build(rnd) for _ in range(reps + 5)]

        async def orm(stmt: Select[Any], scalar: bool) -> Any:
            async with sessions() as session:
                if scalar:
                    return await session.scalar(stmt)
                return (await session.scalars(stmt)).all()

        for stmt in stmts[:5]:  # warm the page cache and the statement caches
            await orm(stmt, shape.scalar)
        orm_ms = [await timed(orm, stmt, shape.scalar) for stmt in stmts[5:]]
        sqls = [compiled(stmt, engine) for stmt in stmts]
        for sql, params in sqls[:5]:
            await raw(sql, params, shape.scalar)
        raw_ms = [await timed(raw, sql, params, shape.scalar) for sql, params in sqls[5:]]
        result = await orm(stmts[5], shape.scalar)
        size = result if shape.scalar else len(result)
        plan = await explain(*sqls[5])
        print(f"{shape.name:22} {summary(orm_ms)} | {summary(raw_ms)} | {size!s:6} {plan}")


async def bench_sqlite(path: Path, reps: int) -> None:
    """Time the shapes on the SQLite file."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    conn = sqlite3.connect(path)  # same defaults as the engine's: WAL, 2 MiB page cache
    conn.execute("PRAGMA journal_mode=WAL")

    async def raw(sql: str, params: list[Any], scalar: bool) -> Any:
        cursor = conn.execute(sql, params)
        return cursor.fetchone()[0] if scalar else cursor.fetchall()

    async def explain(sql: str, params: list[Any]) -> str:
        steps = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return " / ".join(step[3] for step in steps)

    try:
        await run_shapes(engine, raw, explain, reps)
    finally:
        conn.close()
        await engine.dispose()


async def bench_pg(url: str, reps: int) -> None:
    """Time the shapes on the PostgreSQL scratch database."""
    engine = make_engine(url)
    conn = await asyncpg.connect(pg_dsn())

    async def raw(sql: str, params: list[Any], scalar: bool) -> Any:
        if scalar:
            return await conn.fetchval(sql, *params)
        return await conn.fetch(sql, *params)

    async def explain(sql: str, params: list[Any]) -> str:
        steps = await conn.fetch(f"EXPLAIN {sql}", *params)
        lines = [str(step[0]).strip().removeprefix("->").strip() for step in steps]
        return " / ".join(line.split("  (cost")[0] for line in lines if "(cost" in line)

    try:
        await run_shapes(engine, raw, explain, reps)
    finally:
        await conn.close()
        await engine.dispose()


def main() -> None:
    """Parse the command line, fill the databases if needed, and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200, help="runs per shape (default 200)")
    parser.add_argument("--db", type=Path, default=Path("/tmp/nvr-bench/recordings.db"))
    parser.add_argument("--reuse", action="store_true", help="keep an existing --db file")
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() first, as a server could at startup"
    )
    args = parser.parse_args()
    if args.gc_freeze:
        # Full collections otherwise walk every long-lived object; they dominate the ORM p95
        # of the large (1,440-row) results.
        gc.collect()
        gc.freeze()

    if not (args.reuse and args.db.exists()):
        args.db.unlink(missing_ok=True)
        began = time.perf_counter()
        fill_sqlite(args.db, args.rows)
        print(f"SQLite: filled {args.rows:,} rows in {time.perf_counter() - began:.1f} s")
    print(f"SQLite {sqlite3.sqlite_version}, {args.db} ({args.db.stat().st_size >> 20} MiB)")
    asyncio.run(bench_sqlite(args.db, args.reps))

    if args.pg:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
        began = time.perf_counter()
        asyncio.run(fill_pg(url, args.rows))
        print(f"\nPostgreSQL: filled {args.rows:,} rows in {time.perf_counter() - began:.1f} s")
        asyncio.run(bench_pg(url, args.reps))


if __name__ == "__main__":
    main()
