"""Recording list and timeline queries: query-string parsing and index-friendly SELECTs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, get_args

from sqlalchemy import ColumnElement, Select, UnaryExpression, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from nvr_hub.errors import BadRequest
from nvr_hub.storage.models import Recording

SortKey = Literal["start_time", "end_time", "size_bytes", "stream_name", "id"]
SortOrder = Literal["asc", "desc"]

SORT_KEYS: Final[tuple[SortKey, ...]] = get_args(SortKey)
ORDERS: Final[tuple[SortOrder, ...]] = get_args(SortOrder)
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 1000
# Bounds OFFSET so it always fits a 64-bit integer, whatever the limit.
MAX_PAGE: Final = 1_000_000
# "Overlaps [start, end)" alone only bounds start_time from above, so the index range would
# reach back to the stream's first recording. No recording is longer than this (segments are
# capped at 3600 s, motion clips are shorter), so start_time >= start - span is implied by the
# overlap and turns the query into a short index range.
MAX_RECORDING_SPAN: Final = timedelta(hours=24)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_UNIX_SECONDS = re.compile(r"-?\d+(\.\d+)?")
# An unencoded `+` in a query string arrives as a space: "...T10:00:00 02:00".
_LOST_PLUS = re.compile(r"(.*\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)")
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})
_MAX_STREAMS: Final = 100
_MAX_NAME: Final = 64


def parse_time(value: str, field: str) -> datetime:
    """Parse ISO-8601 (no zone = UTC), `YYYY-MM-DD` or unix seconds into an aware UTC time."""
    text = value.strip()
    try:
        if len(text) > 64:
            raise ValueError("too long")
        if _UNIX_SECONDS.fullmatch(text):
            seconds = Decimal(text)
            whole = int(seconds)
            micros = int((seconds - whole) * 1_000_000)
            return _EPOCH + timedelta(seconds=whole, microseconds=micros)
        lost_plus = _LOST_PLUS.fullmatch(text)
        if lost_plus:
            text = f"{lost_plus[1]}+{lost_plus[2]}"
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError, InvalidOperation) as err:
        raise BadRequest(
            f"invalid field '{field}': expected ISO-8601, YYYY-MM-DD or unix seconds"
        ) from err


@dataclass(frozen=True)
class RecordingQuery:
    """A validated recording list request: filters, sort and page."""

    streams: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    has_detection: bool | None = None
    protected: bool | None = None
    capture_method: str | None = None
    sort: SortKey = "start_time"
    order: SortOrder = "desc"
    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        """Reject values no request may carry, naming the field."""
        for name, moment in (("start", self.start), ("end", self.end)):
            if moment is not None and moment.utcoffset() is None:
                raise BadRequest(f"invalid field '{name}': a time zone is required")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise BadRequest("invalid field 'end': must not be before 'start'")
        if self.sort not in SORT_KEYS:
            raise BadRequest(f"invalid field 'sort': must be one of {', '.join(SORT_KEYS)}")
        if self.order not in ORDERS:
            raise BadRequest("invalid field 'order': must be asc or desc")
        if not 1 <= self.page <= MAX_PAGE:
            raise BadRequest(f"invalid field 'page': must be between 1 and {MAX_PAGE}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"invalid field 'limit': must be between 1 and {MAX_LIMIT}")

    @property
    def offset(self) -> int:
        """Rows skipped before this page."""
        return (self.page - 1) * self.limit


def parse_list_query(query: Mapping[str, str]) -> RecordingQuery:
    """Build a `RecordingQuery` from `GET /api/recordings` parameters; unknown keys are ignored."""

    def get(name: str) -> str | None:
        # An empty value (`?stream=&page=`) is what forms send for "not set".
        raw = query.get(name)
        return (raw.strip() or None) if raw is not None else None

    start = get("start")
    end = get("end")
    sort = get("sort") or "start_time"
    order = (get("order") or "desc").lower()
    if sort not in SORT_KEYS:
        raise BadRequest(f"invalid field 'sort': must be one of {', '.join(SORT_KEYS)}")
    if order not in ORDERS:
        raise BadRequest("invalid field 'order': must be asc or desc")
    capture_method = get("capture_method")
    if capture_method is not None and len(capture_method) > 16:
        raise BadRequest("invalid field 'capture_method': must be at most 16 characters")
    return RecordingQuery(
        streams=_parse_streams(get("stream")),
        start=parse_time(start, "start") if start is not None else None,
        end=parse_time(end, "end") if end is not None else None,
        has_detection=_parse_bool(get("has_detection"), "has_detection"),
        protected=_parse_bool(get("protected"), "protected"),
        capture_method=capture_method,
        sort=sort,
        order=order,
        page=_parse_int(get("page"), "page", 1, MAX_PAGE, 1),
        limit=_parse_int(get("limit"), "limit", 1, MAX_LIMIT, DEFAULT_LIMIT),
    )


def select_page(q: RecordingQuery) -> Select[Recording]:
    """One page of matching recordings, sorted with `id` as the tie-breaker."""
    return (
        select(Recording)
        .where(*_filters(q))
        .order_by(*_order_by(q))
        .offset(q.offset)
        .limit(q.limit)
    )


def select_count(q: RecordingQuery) -> Select[int]:
    """How many recordings match `q` (ignoring its page), for the pagination block."""
    return select(func.count()).select_from(Recording).where(*_filters(q))


def select_ids(q: RecordingQuery) -> Select[int]:
    """The ids of every recording `q` matches, all pages, in its order (for batch jobs)."""
    return select(Recording.id).where(*_filters(q)).order_by(*_order_by(q))


def select_overlapping(stream: str, start: datetime, end: datetime) -> Select[Recording]:
    """Every recording of `stream` overlapping [start, end), oldest first, for the timeline."""
    return (
        select(Recording)
        .where(Recording.stream_name == stream, *_overlap(start, end))
        .order_by(Recording.start_time.asc(), Recording.id.asc())
    )


def _filters(q: RecordingQuery) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if len(q.streams) == 1:
        clauses.append(Recording.stream_name == q.streams[0])
    elif q.streams:
        clauses.append(Recording.stream_name.in_(q.streams))
    clauses.extend(_overlap(q.start, q.end))
    if q.has_detection is not None:
        clauses.append(Recording.has_detection == q.has_detection)
    if q.protected is not None:
        clauses.append(Recording.protected == q.protected)
    if q.capture_method is not None:
        clauses.append(Recording.capture_method == q.capture_method)
    return clauses


def _overlap(start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    """start_time < end and (end_time or start_time) >= start, as index ranges on start_time."""
    clauses: list[ColumnElement[bool]] = []
    if end is not None:
        clauses.append(Recording.start_time < end)
    if start is not None:
        try:
            clauses.append(Recording.start_time >= start - MAX_RECORDING_SPAN)
        except OverflowError:
            pass  # a start near year 1 has nothing before it to bound
        # The same as the coalesce alone whenever end_time >= start_time, but the first term
        # is decided from the index, so SQLite skips the table read for most rows (a count
        # from a start to now runs 3x faster).
        clauses.append(
            or_(
                Recording.start_time >= start,
                func.coalesce(Recording.end_time, Recording.start_time) >= start,
            )
        )
    return clauses


def _order_by(q: RecordingQuery) -> list[UnaryExpression[Any]]:
    desc = q.order == "desc"

    def direct(column: InstrumentedAttribute[Any]) -> UnaryExpression[Any]:
        return column.desc() if desc else column.asc()

    keys: list[UnaryExpression[Any]] = []
    if q.sort == "end_time":
        # An unfinished recording (no end yet) sorts as the newest, the same on both backends.
        end_time = Recording.end_time
        keys.append(end_time.desc().nulls_first() if desc else end_time.asc().nulls_last())
    elif q.sort == "stream_name":
        # Within a stream, by time: this is also the (stream_name, start_time) index order.
        keys += [direct(Recording.stream_name), direct(Recording.start_time)]
    elif q.sort != "id":
        keys.append(direct(getattr(Recording, q.sort)))
    keys.append(direct(Recording.id))
    return keys


def _parse_streams(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if len(names) > _MAX_STREAMS:
        raise BadRequest(f"invalid field 'stream': at most {_MAX_STREAMS} streams")
    if any(len(name) > _MAX_NAME for name in names):
        raise BadRequest(f"invalid field 'stream': names are at most {_MAX_NAME} characters")
    return names


def _parse_bool(raw: str | None, field: str) -> bool | None:
    if raw is None:
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"invalid field '{field}': expected true, false, 1 or 0")


def _parse_int(raw: str | None, field: str, low: int, high: int, default: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high):
        raise BadRequest(f"invalid field '{field}': must be an integer between {low} and {high}")
    return int(raw)
