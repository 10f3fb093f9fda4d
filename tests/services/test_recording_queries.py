"""Recording queries on real SQLite and PostgreSQL: filters, range edges, sorting, pages."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from nvr_hub.errors import BadRequest
from nvr_hub.services.recording_queries import (
    MAX_RECORDING_SPAN,
    SORT_KEYS,
    RecordingQuery,
    parse_list_query,
    parse_time,
    select_count,
    select_ids,
    select_overlapping,
    select_page,
)
from nvr_hub.storage.db import make_engine, make_sessionmaker
from nvr_hub.storage.migrate import upgrade
from nvr_hub.storage.models import Recording

T0 = datetime(2024, 3, 10, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
MICRO = timedelta(microseconds=1)
STREAMS = ("Front Door", "Back Yard", "Garage")


@dataclass(frozen=True)
class Row:
    """What the test knows about one inserted recording."""

    id: int
    stream_name: str
    start_time: datetime
    end_time: datetime | None
    size_bytes: int
    has_detection: bool
    protected: bool
    capture_method: str


def recordings() -> list[Recording]:
    """~300 recordings over three streams, inserted in shuffled order so ids differ from time.

    Front Door: 60 s segments from T0, the newest still open. Back Yard: 45 s motion clips
    every 90 s. Garage: 30 s clips every 120 s (sharing start times with Front Door), one
    open clip, and one recording exactly MAX_RECORDING_SPAN long ending at T0.
    """
    specs: list[tuple[str, datetime, datetime | None, str]] = []
    for i in range(100):
        start = T0 + i * MINUTE
        specs.append(("Front Door", start, None if i == 99 else start + MINUTE, "continuous"))
    for i in range(100):
        start = T0 + timedelta(seconds=30 + 90 * i)
        specs.append(("Back Yard", start, start + timedelta(seconds=45), "motion"))
    for i in range(99):
        start = T0 + 2 * i * MINUTE
        end = None if i == 50 else start + timedelta(seconds=30)
        specs.append(("Garage", start, end, "detection"))
    specs.append(("Garage", T0 - MAX_RECORDING_SPAN, T0, "continuous"))
    random.Random(3).shuffle(specs)
    return [
        Recording(
            stream_name=stream,
            path=f"{stream}/{n}.mp4",
            start_time=start,
            end_time=end,
            duration=((end - start).total_seconds() if end else 0.0),
            size_bytes=(n % 5) * 1000,  # many ties, so the id tie-breaker matters
            capture_method=method,
            has_detection=n % 7 == 0,
            protected=n % 11 == 0,
            is_complete=end is not None,
        )
        for n, (stream, start, end, method) in enumerate(specs)
    ]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database of the parametrised backend (fresh for each test)."""
    await asyncio.to_thread(upgrade, database_url)
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def rows(engine: AsyncEngine) -> list[Row]:
    """Insert the recordings; returns what was stored, with ids."""
    objs = recordings()
    async with make_sessionmaker(engine)() as session:
        session.add_all(objs)
        await session.commit()
    return [
        Row(
            o.id,
            o.stream_name,
            o.start_time,
            o.end_time,
            o.size_bytes,
            o.has_detection,
            o.protected,
            o.capture_method,
        )
        for o in objs
    ]


async def fetch_ids(engine: AsyncEngine, stmt: Select[Recording] | Select[int]) -> list[int]:
    """Run a select through an ORM session; the ids in result order."""
    async with make_sessionmaker(engine)() as session:
        return [r if isinstance(r, int) else r.id for r in (await session.scalars(stmt)).all()]


async def fetch_count(engine: AsyncEngine, stmt: Select[int]) -> int:
    """Run a count select."""
    async with make_sessionmaker(engine)() as session:
        return int(await session.scalar(stmt) or 0)


def matches(row: Row, q: RecordingQuery) -> bool:
    """The documented filter semantics, written out plainly."""
    if q.streams and row.stream_name not in q.streams:
        return False
    if q.end is not None and not row.start_time < q.end:
        return False
    if q.start is not None and not (row.end_time or row.start_time) >= q.start:
        return False
    if q.has_detection is not None and row.has_detection != q.has_detection:
        return False
    if q.protected is not None and row.protected != q.protected:
        return False
    return q.capture_method is None or row.capture_method == q.capture_method


def sort_key(sort: str) -> Callable[[Row], tuple[Any, ...]]:
    """The documented order for a sort key, ascending; `id` breaks ties."""
    if sort == "end_time":  # open recordings count as the newest
        return lambda r: (r.end_time is None, r.end_time or T0, r.id)
    if sort == "stream_name":
        return lambda r: (r.stream_name, r.start_time, r.id)
    return lambda r: (getattr(r, sort), r.id)


def expected(rows: list[Row], q: RecordingQuery) -> list[int]:
    """Every matching id, in the query's order."""
    hits = sorted((r for r in rows if matches(r, q)), key=sort_key(q.sort))
    if q.order == "desc":
        hits.reverse()
    return [r.id for r in hits]


EDGES: list[datetime | None] = [
    None,
    T0 - MAX_RECORDING_SPAN - MICRO,
    T0 - MAX_RECORDING_SPAN,
    T0 - MICRO,
    T0,
    T0 + MICRO,
    T0 + timedelta(seconds=30),
    T0 + MINUTE - MICRO,
    T0 + MINUTE,
    T0 + 50 * MINUTE,
    T0 + 98 * MINUTE,
    T0 + 99 * MINUTE,
    T0 + 99 * MINUTE + MICRO,
    T0 + 200 * MINUTE,
    T0 + timedelta(days=3),
]


def ranges() -> list[tuple[datetime | None, datetime | None]]:
    """Every ordered pair of edge times (either side may be open)."""
    out = []
    for start, end in itertools.product(EDGES, EDGES):
        if start is None or end is None or start <= end:
            out.append((start, end))
    return out


async def test_overlap_at_range_edges(engine: AsyncEngine, rows: list[Row]) -> None:
    for start, end in ranges():
        for streams in ((), ("Front Door",), ("Garage", "Back Yard")):
            q = RecordingQuery(streams=streams, start=start, end=end, limit=1000)
            want = expected(rows, q)
            assert await fetch_ids(engine, select_page(q)) == want, (streams, start, end)
            assert await fetch_count(engine, select_count(q)) == len(want)


async def test_edge_cases_by_hand(engine: AsyncEngine, rows: list[Row]) -> None:
    def ids_of(stream: str, start: datetime) -> set[int]:
        return {r.id for r in rows if r.stream_name == stream and r.start_time == start}

    async def hits(stream: str, start: datetime, end: datetime) -> set[int]:
        q = RecordingQuery(streams=(stream,), start=start, end=end, limit=1000)
        return set(await fetch_ids(engine, select_page(q)))

    first, second = ids_of("Front Door", T0), ids_of("Front Door", T0 + MINUTE)
    # A recording ending exactly at the range start overlaps it; one starting at its end not.
    assert await hits("Front Door", T0 + MINUTE, T0 + 2 * MINUTE) == first | second
    assert await hits("Front Door", T0 + MINUTE + MICRO, T0 + 2 * MINUTE) == second
    assert await hits("Front Door", T0 - MINUTE, T0) == set()
    # The open recording (no end_time) matches only from its own start on.
    open_one = ids_of("Front Door", T0 + 99 * MINUTE)
    assert await hits("Front Door", T0 + 99 * MINUTE + MICRO, T0 + 200 * MINUTE) == set()
    before = ids_of("Front Door", T0 + 98 * MINUTE)  # ends as the open one starts
    assert await hits("Front Door", T0 + 99 * MINUTE, T0 + 200 * MINUTE) == before | open_one
    # A recording as long as the span the index range allows for is still found at its end.
    longest = ids_of("Garage", T0 - MAX_RECORDING_SPAN)
    assert longest <= await hits("Garage", T0, T0 + MINUTE)
    assert not longest & await hits("Garage", T0 + MICRO, T0 + MINUTE)


async def test_filters_and_counts(engine: AsyncEngine, rows: list[Row]) -> None:
    mid = T0 + 50 * MINUTE
    queries = [
        RecordingQuery(),
        RecordingQuery(has_detection=True),
        RecordingQuery(has_detection=False, streams=("Back Yard",)),
        RecordingQuery(protected=True),
        RecordingQuery(protected=False, start=mid),
        RecordingQuery(protected=True, has_detection=True),
        RecordingQuery(capture_method="motion"),
        RecordingQuery(capture_method="continuous", end=T0),
        RecordingQuery(capture_method="timelapse"),
        RecordingQuery(streams=("Nowhere",)),
        RecordingQuery(streams=("Garage", "Front Door"), has_detection=True, end=mid),
    ]
    for q in queries:
        want = expected(rows, RecordingQuery(**{**q.__dict__, "limit": 1000}))
        assert want or q.capture_method == "timelapse" or q.streams == ("Nowhere",)
        assert await fetch_count(engine, select_count(q)) == len(want), q
        assert await fetch_ids(engine, select_page(q)) == want[:20], q
        assert await fetch_ids(engine, select_ids(q)) == want, q  # every page


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_every_sort_pages_stably(engine: AsyncEngine, rows: list[Row], order: str) -> None:
    for sort, start in itertools.product(SORT_KEYS, (None, T0 + 30 * MINUTE)):
        base = RecordingQuery(start=start, sort=sort, order=order, limit=7)  # type: ignore[arg-type]
        want = expected(rows, base)
        total = await fetch_count(engine, select_count(base))
        assert total == len(want)
        pages = math.ceil(total / base.limit)
        got: list[int] = []
        for page in range(1, pages + 2):  # one past the last page is empty
            q = RecordingQuery(**{**base.__dict__, "page": page})
            got += await fetch_ids(engine, select_page(q))
        assert got == want, (sort, order, start)
        assert await fetch_ids(engine, select_ids(base)) == want


async def test_open_recordings_sort_as_newest_by_end_time(
    engine: AsyncEngine, rows: list[Row]
) -> None:
    open_ids = {r.id for r in rows if r.end_time is None}
    newest = await fetch_ids(engine, select_page(RecordingQuery(sort="end_time", limit=2)))
    oldest = RecordingQuery(sort="end_time", order="asc", page=150, limit=2)
    assert set(newest) == open_ids
    assert set(await fetch_ids(engine, select_page(oldest))) == open_ids


async def test_timeline_overlap_is_oldest_first(engine: AsyncEngine, rows: list[Row]) -> None:
    for stream in STREAMS:
        for start, end in ranges():
            if start is None or end is None:
                continue
            q = RecordingQuery(streams=(stream,), start=start, end=end, sort="start_time")
            want = list(reversed(expected(rows, q)))  # desc by (start, id) → asc
            assert await fetch_ids(engine, select_overlapping(stream, start, end)) == want


@pytest.mark.parametrize("backend", ["sqlite"])  # the plan text is SQLite's
async def test_sqlite_plans_use_the_indexes(engine: AsyncEngine, rows: list[Row]) -> None:
    assert engine.dialect.name == "sqlite"
    day = (T0, T0 + timedelta(days=1))
    one_day = RecordingQuery(streams=("Garage",), start=day[0], end=day[1])
    cases: list[tuple[Select[Any], str]] = [
        (select_page(one_day), "stream_start"),
        (select_count(one_day), "stream_start"),
        (select_ids(one_day), "stream_start"),
        (select_page(RecordingQuery(streams=("Garage",), order="asc")), "stream_start"),
        (select_page(RecordingQuery(sort="stream_name")), "stream_start"),
        (select_page(RecordingQuery()), "start"),
        (select_page(RecordingQuery(start=day[0], end=day[1])), "start"),
        (select_page(RecordingQuery(protected=True)), "protected"),
        (select_page(RecordingQuery(has_detection=True, order="asc")), "detection"),
        (select_overlapping("Garage", *day), "stream_start"),
    ]
    async with engine.connect() as conn:
        for stmt, index in cases:
            compiled = stmt.compile(
                dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
            )
            params = compiled.construct_params()
            names = compiled.positiontup or []
            sql = f"EXPLAIN QUERY PLAN {compiled}"
            plan = await conn.exec_driver_sql(
                sql, tuple(_sqlite_value(params[name]) for name in names)
            )
            detail = " / ".join(str(step._mapping["detail"]) for step in plan)
            assert re.search(rf"INDEX ix_recordings_{index}\b", detail), (str(stmt), detail)
            assert "TEMP B-TREE" not in detail, (str(stmt), detail)
        tables = await conn.execute(text("SELECT count(*) FROM recordings"))
        assert tables.scalar() == len(rows)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2024-03-10T12:30:00Z", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("2024-03-10T12:30:00.250Z", datetime(2024, 3, 10, 12, 30, 0, 250_000, tzinfo=UTC)),
        ("2024-03-10T14:30:00+02:00", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("2024-03-10T14:30:00 02:00", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),  # lost '+'
        ("2024-03-10T07:30-0500", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("2024-03-10T12:30:00", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("2024-03-10 12:30:00", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("2024-03-10T12:30", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("2024-03-10", datetime(2024, 3, 10, tzinfo=UTC)),
        (" 2024-03-10 ", datetime(2024, 3, 10, tzinfo=UTC)),
        ("1710073800", datetime(2024, 3, 10, 12, 30, tzinfo=UTC)),
        ("1710073800.5", datetime(2024, 3, 10, 12, 30, 0, 500_000, tzinfo=UTC)),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_time_accepts(raw: str, want: datetime) -> None:
    got = parse_time(raw, "start")
    assert got == want
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "yesterday",
        "2024-13-01",
        "2024-02-30",
        "10/03/2024",
        "1e9",
        "nan",
        "99999999999999999999",
        "0001-01-01T00:00:00+01:00",
        "2024-03-10T12:30:00 banana",
        "2024-03-10" + "0" * 100,
    ],
)
def test_parse_time_rejects_naming_the_field(raw: str) -> None:
    with pytest.raises(BadRequest, match="'end'"):
        parse_time(raw, "end")


def test_parse_list_query_defaults() -> None:
    q = parse_list_query({})
    assert q == RecordingQuery()
    assert (q.sort, q.order, q.page, q.limit, q.offset) == ("start_time", "desc", 1, 20, 0)


def test_parse_list_query_every_parameter() -> None:
    q = parse_list_query(
        {
            "stream": "Front Door, Garage,,Front Door",
            "start": "2024-03-10",
            "end": "1710115200",
            "page": "3",
            "limit": "50",
            "sort": "size_bytes",
            "order": "ASC",
            "has_detection": "1",
            "protected": "false",
            "capture_method": "motion",
            "unknown_parameter": "ignored",
            "_": "1710115200123",  # jQuery's cache buster
        }
    )
    assert q == RecordingQuery(
        streams=("Front Door", "Garage"),
        start=T0,
        end=T0 + timedelta(days=1),
        has_detection=True,
        protected=False,
        capture_method="motion",
        sort="size_bytes",
        order="asc",
        page=3,
        limit=50,
    )
    assert q.offset == 100


def test_parse_list_query_empty_values_mean_unset() -> None:
    empty = {k: "" for k in ("stream", "start", "end", "page", "limit", "sort", "order")}
    assert parse_list_query({**empty, "has_detection": " ", "protected": ""}) == RecordingQuery()


@pytest.mark.parametrize("raw", ["true", "TRUE", "1", "false", "False", "0"])
def test_parse_list_query_booleans(raw: str) -> None:
    want = raw.lower() in ("true", "1")
    assert parse_list_query({"protected": raw}).protected is want
    assert parse_list_query({"has_detection": raw}).has_detection is want


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"has_detection": "yes"}, "has_detection"),
        ({"protected": "2"}, "protected"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"page": "1" * 30}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"limit": "٣"}, "limit"),  # a non-ASCII digit
        ({"sort": "duration"}, "sort"),
        ({"order": "up"}, "order"),
        ({"start": "soon"}, "start"),
        ({"end": "later"}, "end"),
        ({"start": "2024-03-11", "end": "2024-03-10"}, "end"),
        ({"capture_method": "x" * 17}, "capture_method"),
        ({"stream": "x" * 65}, "stream"),
        ({"stream": ",".join(f"s{i}" for i in range(101))}, "stream"),
    ],
)
def test_parse_list_query_rejects_naming_the_parameter(query: dict[str, str], field: str) -> None:
    with pytest.raises(BadRequest, match=f"'{field}'"):
        parse_list_query(query)


def test_recording_query_checks_its_own_values() -> None:
    with pytest.raises(BadRequest, match="'start'"):
        RecordingQuery(start=datetime(2024, 3, 10))  # naive
    with pytest.raises(BadRequest, match="'limit'"):
        RecordingQuery(limit=1001)
    with pytest.raises(BadRequest, match="'sort'"):
        RecordingQuery(sort="path")  # type: ignore[arg-type]
    assert RecordingQuery(start=T0, end=T0).start == T0  # an instant is a valid range
