"""Motion and detection rows: configs, detections linked to recordings, events, clips."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from nvr_hub.media import fs_safe_name
from nvr_hub.motion.detector import DetectedObject
from nvr_hub.services.recordings import RecordingService
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Detection, MotionConfig, MotionEvent, Recording, utcnow

_LOGGER = logging.getLogger(__name__)

# Capture methods of clips recorded around events (continuous segments are "continuous").
EVENT_METHODS = ("motion", "detection")
_BATCH = 200


def is_event_clip() -> ColumnElement[bool]:
    """Recordings made by event-driven recording."""
    return Recording.capture_method.in_(EVENT_METHODS)


class MotionStore:
    """Database work of the motion service; every method is one short transaction or two."""

    def __init__(self, sessionmaker: SessionMaker, recordings: RecordingService, storage: Path):
        self._sm = sessionmaker
        self._recordings = recordings
        self.storage = storage  # event snapshots live under <storage>/events/

    # -- configs -------------------------------------------------------------------------

    async def configs(self) -> dict[int, MotionConfig]:
        """Every stored motion config by stream id."""
        async with self._sm() as s:
            return {c.stream_id: c for c in (await s.scalars(select(MotionConfig))).all()}

    async def config(self, stream_id: int) -> MotionConfig | None:
        """One stream's motion config, if it has one."""
        async with self._sm() as s:
            return await s.get(MotionConfig, stream_id)

    async def save_config(self, stream_id: int, values: dict[str, Any]) -> MotionConfig:
        """Create or update a stream's motion config."""
        async with self._sm() as s, s.begin():
            row = await s.get(MotionConfig, stream_id)
            if row is None:
                row = MotionConfig(stream_id=stream_id)
                s.add(row)
            for key, value in values.items():
                setattr(row, key, value)
        return row

    async def delete_config(self, stream_id: int) -> bool:
        """Remove a stream's motion config; False if it had none."""
        async with self._sm() as s, s.begin():
            result = await s.execute(
                delete(MotionConfig).where(MotionConfig.stream_id == stream_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- detections and events -----------------------------------------------------------

    async def add_detections(
        self, stream: str, when: datetime, objects: Sequence[DetectedObject]
    ) -> None:
        """Store detections, linked to the recording that holds `when` (marked has_detection)."""
        async with self._sm() as s, s.begin():
            rec = await s.scalar(
                select(Recording)
                .where(
                    Recording.stream_name == stream,
                    Recording.start_time <= when,
                    or_(Recording.end_time.is_(None), Recording.end_time >= when),
                )
                .order_by(Recording.start_time.desc())
                .limit(1)
            )
            if rec is not None and not rec.has_detection:
                rec.has_detection = True
            for obj in objects:
                x, y, w, h = obj.box
                s.add(
                    Detection(
                        stream_name=stream,
                        time=when,
                        label=obj.label,
                        confidence=round(obj.confidence, 4),
                        x=x,
                        y=y,
                        width=w,
                        height=h,
                        zone_id=obj.zone,
                        recording_id=rec.id if rec else None,
                    )
                )

    async def link_recording(self, rec_id: int, stream: str, start: datetime, end: datetime) -> int:
        """Attach unlinked detections and events inside a finished recording to it."""
        async with self._sm() as s, s.begin():
            linked = await s.execute(
                update(Detection)
                .where(
                    Detection.stream_name == stream,
                    Detection.time >= start,
                    Detection.time <= end,
                    Detection.recording_id.is_(None),
                )
                .values(recording_id=rec_id)
            )
            count = int(linked.rowcount or 0)  # type: ignore[attr-defined]
            if count:
                await s.execute(
                    update(Recording).where(Recording.id == rec_id).values(has_detection=True)
                )
            await s.execute(
                update(MotionEvent)
                .where(
                    MotionEvent.stream_name == stream,
                    MotionEvent.start_time >= start,
                    MotionEvent.start_time <= end,
                    MotionEvent.recording_id.is_(None),
                )
                .values(recording_id=rec_id)
            )
        return count

    async def open_event(
        self, stream: str, start: datetime, source: str, jpeg: bytes | None
    ) -> int:
        """Insert an event row (and write its snapshot); returns its id."""
        snapshot = ""
        if jpeg:
            rel = Path("events") / fs_safe_name(stream) / start.strftime("%Y/%m/%d/%H%M%S_%f.jpg")
            try:
                await asyncio.to_thread(_write_file, self.storage / rel, jpeg)
                snapshot = rel.as_posix()
            except OSError as err:
                _LOGGER.warning("Could not keep the snapshot of a %s event: %s", stream, err)
        async with self._sm() as s, s.begin():
            row = MotionEvent(
                stream_name=stream, start_time=start, source=source, labels=[], snapshot=snapshot
            )
            s.add(row)
        return row.id

    async def close_event(
        self, event_id: int, end: datetime, labels: Iterable[str], confidence: float
    ) -> None:
        """Finish an event row."""
        async with self._sm() as s, s.begin():
            row = await s.get(MotionEvent, event_id)
            if row is not None:
                row.end_time = end
                row.labels = sorted(set(labels))
                row.max_confidence = round(confidence, 4)

    async def results(
        self, stream: str, start: datetime, end: datetime, limit: int
    ) -> list[Detection]:
        """Detections of a stream in [start, end], newest first."""
        async with self._sm() as s:
            rows = await s.scalars(
                select(Detection)
                .where(
                    Detection.stream_name == stream, Detection.time >= start, Detection.time <= end
                )
                .order_by(Detection.time.desc(), Detection.id.desc())
                .limit(limit)
            )
            return list(rows.all())

    async def events(self, stream: str, limit: int) -> list[MotionEvent]:
        """A stream's newest events."""
        async with self._sm() as s:
            rows = await s.scalars(
                select(MotionEvent)
                .where(MotionEvent.stream_name == stream)
                .order_by(MotionEvent.start_time.desc())
                .limit(limit)
            )
            return list(rows.all())

    async def event(self, event_id: int) -> MotionEvent | None:
        """One event by id."""
        async with self._sm() as s:
            return await s.get(MotionEvent, event_id)

    async def event_count(self, stream: str) -> tuple[int, MotionEvent | None]:
        """How many events a stream has, and its newest."""
        async with self._sm() as s:
            count = int(
                await s.scalar(
                    select(func.count())
                    .select_from(MotionEvent)
                    .where(MotionEvent.stream_name == stream)
                )
                or 0
            )
        newest = await self.events(stream, 1)
        return count, newest[0] if newest else None

    # -- event clips ---------------------------------------------------------------------

    async def clips(self, stream: str | None, limit: int = 1000) -> list[Recording]:
        """Event clips, newest first."""
        stmt = select(Recording).where(is_event_clip())
        if stream is not None:
            stmt = stmt.where(Recording.stream_name == stream)
        async with self._sm() as s:
            rows = await s.scalars(stmt.order_by(Recording.start_time.desc()).limit(limit))
            return list(rows.all())

    async def clip_totals(self, stream: str | None) -> dict[str, Any]:
        """Count, bytes, oldest and newest start of event clips (one stream or all)."""
        stmt = select(
            func.count(),
            func.coalesce(func.sum(Recording.size_bytes), 0),
            func.min(Recording.start_time),
            func.max(Recording.start_time),
        ).where(is_event_clip())
        if stream is not None:
            stmt = stmt.where(Recording.stream_name == stream)
        async with self._sm() as s:
            count, size, oldest, newest = (await s.execute(stmt)).one()
        return {"count": int(count), "bytes": int(size), "oldest": oldest, "newest": newest}

    async def clips_by_stream(self) -> dict[str, tuple[int, int]]:
        """(count, bytes) of event clips per stream."""
        stmt = (
            select(
                Recording.stream_name,
                func.count(),
                func.coalesce(func.sum(Recording.size_bytes), 0),
            )
            .where(is_event_clip())
            .group_by(Recording.stream_name)
        )
        async with self._sm() as s:
            return {name: (int(n), int(b)) for name, n, b in (await s.execute(stmt)).all()}

    async def expire_clips(self, stream: str | None, days: int) -> int:
        """Delete finished, unprotected event clips older than `days`; returns how many."""
        cutoff = utcnow() - timedelta(days=days)
        conditions = [
            is_event_clip(),
            Recording.protected.is_(False),
            Recording.is_complete.is_(True),
            Recording.start_time < cutoff,
        ]
        if stream is not None:
            conditions.append(Recording.stream_name == stream)
        return await self._delete_batches(conditions)

    async def shrink_clips(self, stream: str, limit_bytes: int) -> int:
        """Delete a stream's oldest event clips until they use at most `limit_bytes`."""
        used = (await self.clip_totals(stream))["bytes"]
        deleted = 0
        while used > limit_bytes:
            async with self._sm() as s:
                batch = list(
                    (
                        await s.scalars(
                            select(Recording)
                            .where(
                                is_event_clip(),
                                Recording.stream_name == stream,
                                Recording.protected.is_(False),
                                Recording.is_complete.is_(True),
                            )
                            .order_by(Recording.start_time)
                            .limit(_BATCH)
                        )
                    ).all()
                )
            chosen = []
            for rec in batch:
                if used <= limit_bytes:
                    break
                chosen.append(rec)
                used -= rec.size_bytes
            if not chosen:
                break
            removed = await self._recordings.remove(chosen)
            deleted += removed
            if removed < len(chosen):
                break
        return deleted

    async def expire_events(self, stream: str, days: int) -> int:
        """Delete a stream's detections and events (and snapshots) older than `days`."""
        cutoff = utcnow() - timedelta(days=days)
        async with self._sm() as s:
            snapshots = list(
                (
                    await s.scalars(
                        select(MotionEvent.snapshot).where(
                            MotionEvent.stream_name == stream,
                            MotionEvent.start_time < cutoff,
                            MotionEvent.snapshot != "",
                        )
                    )
                ).all()
            )
        await asyncio.to_thread(_unlink_all, [self.storage / p for p in snapshots])
        async with self._sm() as s, s.begin():
            gone = await s.execute(
                delete(MotionEvent).where(
                    MotionEvent.stream_name == stream, MotionEvent.start_time < cutoff
                )
            )
            await s.execute(
                delete(Detection).where(Detection.stream_name == stream, Detection.time < cutoff)
            )
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    async def _delete_batches(self, conditions: list[ColumnElement[bool]]) -> int:
        return await self._recordings.remove_where(*conditions, batch=_BATCH)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            _LOGGER.warning("Could not delete %s: %s", path, err.strerror)
