"""The retention worker: age limits, storage quotas and a free-space floor, oldest first."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psutil
from sqlalchemy import ColumnElement, func, select

from nvr_hub.services.recordings import RecordingService
from nvr_hub.services.settings import SettingsService
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Recording, Stream, utcnow
from nvr_hub.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)
_BATCH = 200
MB = 1024 * 1024


@dataclass
class RetentionReport:
    """What one pass deleted, by reason."""

    expired: int = 0
    stream_quota: int = 0
    global_quota: int = 0
    free_space: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every deletion of the pass."""
        return self.expired + self.stream_quota + self.global_quota + self.free_space


def _deletable() -> list[ColumnElement[bool]]:
    # Protected recordings are exempt; the segment being written is never complete.
    return [Recording.protected.is_(False), Recording.is_complete.is_(True)]


class RetentionWorker:
    """Deletes what the rules say, file and row together; runs every `interval` seconds."""

    def __init__(
        self,
        sessionmaker: SessionMaker,
        settings: SettingsService,
        recordings: RecordingService,
        storage: Path,
        interval: float = 60.0,
    ) -> None:
        self._sm = sessionmaker
        self._settings = settings
        self._recordings = recordings
        self._storage = storage
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def run_once(self) -> RetentionReport:
        """One full pass: age, per-stream quota, global quota, free-space floor."""
        report = RetentionReport()
        report.expired = await self._expire()
        report.stream_quota = await self._stream_quotas()
        global_mb = int(self._settings.get("max_storage_mb"))
        if global_mb > 0:
            report.global_quota = await self._shrink_to(None, global_mb * MB)
        report.free_space = await self._free_space_floor()
        if report.total:
            _LOGGER.info(
                "Retention deleted %d recordings "
                "(age %d, stream quota %d, quota %d, free space %d)",
                report.total,
                report.expired,
                report.stream_quota,
                report.global_quota,
                report.free_space,
            )
        return report

    async def _expire(self) -> int:
        now = utcnow()
        global_days = int(self._settings.get("retention_days"))
        async with self._sm() as s:
            streams = {st.name: st for st in (await s.scalars(select(Stream))).all()}
        deleted = 0
        # Per-recording overrides first, then stream rules, then the global rule.
        async with self._sm() as s:
            overridden = (
                await s.scalars(
                    select(Recording).where(
                        *_deletable(),
                        Recording.retention_days.is_not(None),
                        Recording.retention_days > 0,
                    )
                )
            ).all()
        expired = [
            r for r in overridden if r.start_time < now - timedelta(days=int(r.retention_days or 0))
        ]
        deleted += await self._recordings.remove(expired)
        names = set(streams)
        async with self._sm() as s:
            names |= set((await s.scalars(select(Recording.stream_name).distinct())).all())
        for name in names:
            stream = streams.get(name)
            days = stream.retention_days if stream and stream.retention_days > 0 else global_days
            det_days = stream.detection_retention_days if stream else 0
            det_days = det_days if det_days > 0 else days
            for has_det, limit in ((False, days), (True, det_days)):
                if limit <= 0:
                    continue
                cutoff = now - timedelta(days=limit)
                deleted += await self._delete_where(
                    Recording.stream_name == name,
                    Recording.has_detection.is_(has_det),
                    Recording.retention_days.is_(None),
                    Recording.start_time < cutoff,
                )
        return deleted

    async def _delete_where(self, *conditions: ColumnElement[bool]) -> int:
        return await self._recordings.remove_where(*_deletable(), *conditions, batch=_BATCH)

    async def _stream_quotas(self) -> int:
        async with self._sm() as s:
            limited = (await s.scalars(select(Stream).where(Stream.max_storage_mb > 0))).all()
        deleted = 0
        for stream in limited:
            deleted += await self._shrink_to(stream.name, stream.max_storage_mb * MB)
        return deleted

    async def _used(self, stream: str | None) -> int:
        stmt = select(func.coalesce(func.sum(Recording.size_bytes), 0))
        if stream is not None:
            stmt = stmt.where(Recording.stream_name == stream)
        async with self._sm() as s:
            return int(await s.scalar(stmt) or 0)

    async def _shrink_to(self, stream: str | None, limit: int) -> int:
        """Delete oldest deletable recordings until usage is at or below `limit` bytes."""
        deleted = 0
        used = await self._used(stream)
        while used > limit:
            stmt = select(Recording).where(*_deletable())
            if stream is not None:
                stmt = stmt.where(Recording.stream_name == stream)
            async with self._sm() as s:
                batch = list(
                    (await s.scalars(stmt.order_by(Recording.start_time).limit(_BATCH))).all()
                )
            chosen, freed = [], 0
            for rec in batch:
                if used - freed <= limit:
                    break
                chosen.append(rec)
                freed += rec.size_bytes
            if not chosen:
                break
            removed = await self._recordings.remove(chosen)
            deleted += removed
            if removed == 0:
                break
            used = await self._used(stream)
        return deleted

    async def _free_space_floor(self) -> int:
        floor = int(self._settings.get("min_free_mb")) * MB
        if floor <= 0:
            return 0
        deleted = 0
        while True:
            free = (await asyncio.to_thread(psutil.disk_usage, str(self._storage))).free
            if free >= floor:
                return deleted
            async with self._sm() as s:
                batch = list(
                    (
                        await s.scalars(
                            select(Recording)
                            .where(*_deletable())
                            .order_by(Recording.start_time)
                            .limit(20)
                        )
                    ).all()
                )
            if not batch:
                _LOGGER.warning("Storage below the free-space floor and nothing left to delete")
                return deleted
            removed = await self._recordings.remove(batch)
            deleted += removed
            if removed == 0:
                return deleted

    def wake(self) -> None:
        """Run a pass now (after a settings change, or a full disk)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                _LOGGER.exception("Retention pass failed; retrying next interval")
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass
            self._wake.clear()

    def start(self) -> None:
        """Start the periodic loop."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop and wait for it."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
