"""Recordings: rows and their files kept together (delete, protect, retention override, files)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update

from nvr_hub.errors import BadRequest, Conflict, NotFound
from nvr_hub.services.auth import iso
from nvr_hub.services.recording_queries import (
    RecordingQuery,
    select_count,
    select_ids,
    select_page,
)
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Recording

_LOGGER = logging.getLogger(__name__)


def recording_json(rec: Recording) -> dict[str, Any]:
    """The documented recording object; never an absolute path."""
    end = rec.end_time or rec.start_time
    return {
        "id": rec.id,
        "stream": rec.stream_name,
        "start_time": iso(rec.start_time),
        "end_time": iso(end),
        "start_time_unix": int(rec.start_time.timestamp()),
        "end_time_unix": int(end.timestamp()),
        "duration": round(rec.duration, 3),
        "size_bytes": rec.size_bytes,
        "width": rec.width,
        "height": rec.height,
        "codec": rec.codec,
        "capture_method": rec.capture_method,
        "has_detection": rec.has_detection,
        "protected": rec.protected,
        "retention_days": rec.retention_days,
        "is_complete": rec.is_complete,
    }


class RecordingService:
    """Queries and changes recordings; every deletion removes the file, then the row."""

    def __init__(self, sessionmaker: SessionMaker, root: Path) -> None:
        self._sm = sessionmaker
        self.root = root
        # Files the recorder is writing now; never deleted from under it.
        self.open_paths: set[str] = set()

    def absolute(self, rec: Recording) -> Path:
        """The file of a recording (rows hold paths relative to the recordings root)."""
        return self.root / rec.path

    def confine(self, relative: str) -> Path:
        """Resolve a client-given relative path, refusing anything outside the root."""
        if not relative or "\x00" in relative or len(relative) > 1024:
            raise BadRequest(
                "invalid field 'path': expected a path relative to the recordings root"
            )
        root = self.root.resolve()
        target = (root / relative).resolve()
        if target == root or root not in target.parents:
            raise BadRequest("invalid field 'path': outside the recordings root")
        return target

    async def page(self, query: RecordingQuery) -> tuple[list[Recording], int]:
        """One page of recordings and the total that match."""
        async with self._sm() as s:
            rows = list((await s.scalars(select_page(query))).all())
            total = int(await s.scalar(select_count(query)) or 0)
        return rows, total

    async def get(self, rec_id: int) -> Recording:
        """One recording or NotFound."""
        async with self._sm() as s:
            rec = await s.get(Recording, rec_id)
        if rec is None:
            raise NotFound(f"recording {rec_id} not found")
        return rec

    async def by_path(self, relative: str) -> Recording | None:
        """The row for a file, if any."""
        async with self._sm() as s:
            return await s.scalar(select(Recording).where(Recording.path == relative))

    async def delete(self, rec_id: int, *, force: bool = False) -> None:
        """Delete file and row; protected recordings need `force`."""
        rec = await self.get(rec_id)
        if rec.protected and not force:
            raise Conflict(f"recording {rec_id} is protected; unprotect it or use force=true")
        if rec.path in self.open_paths:
            raise Conflict(f"recording {rec_id} is being written")
        await self.remove([rec])

    async def remove(self, recs: Iterable[Recording]) -> int:
        """Delete files first, then rows: a crash in between leaves rows that sync removes."""
        recs = [r for r in recs if r.path not in self.open_paths]
        if not recs:
            return 0
        removed = await asyncio.to_thread(_unlink_all, [self.absolute(r) for r in recs])
        ids = [r.id for r, ok in zip(recs, removed, strict=True) if ok]
        async with self._sm() as s, s.begin():
            for chunk in range(0, len(ids), 500):
                await s.execute(delete(Recording).where(Recording.id.in_(ids[chunk : chunk + 500])))
        return len(ids)

    async def matching_ids(self, query: RecordingQuery) -> list[int]:
        """Ids of every recording a list query matches (all pages)."""
        async with self._sm() as s:
            return list((await s.scalars(select_ids(query))).all())

    async def delete_ids(self, ids: list[int], *, force: bool = False) -> int:
        """Delete many; protected ones are skipped unless `force`. Returns how many went."""
        async with self._sm() as s:
            recs = list((await s.scalars(select(Recording).where(Recording.id.in_(ids)))).all())
        if not force:
            recs = [r for r in recs if not r.protected]
        return await self.remove(recs)

    async def unlink_orphan(self, relative: str) -> None:
        """Delete a file under the root that has no row."""
        if relative in self.open_paths:
            raise Conflict("that file is being written")
        removed = await asyncio.to_thread(_unlink_all, [self.root / relative])
        if not removed[0]:
            raise Conflict("the file could not be deleted; see the logs")

    async def remove_where(self, *conditions: ColumnElement[bool], batch: int = 200) -> int:
        """Delete matching recordings oldest first, in batches; stops at one that won't go."""
        deleted = 0
        while True:
            async with self._sm() as s:
                rows = list(
                    (
                        await s.scalars(
                            select(Recording)
                            .where(*conditions)
                            .order_by(Recording.start_time)
                            .limit(batch)
                        )
                    ).all()
                )
            if not rows:
                return deleted
            removed = await self.remove(rows)
            deleted += removed
            if removed < len(rows):
                return deleted  # being written or a disk error: leave the rest for later

    async def set_protected(self, ids: list[int], protected: bool) -> int:
        """Protect or unprotect; returns how many rows existed."""
        async with self._sm() as s, s.begin():
            result = await s.execute(
                update(Recording).where(Recording.id.in_(ids)).values(protected=protected)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def set_retention(self, rec_id: int, days: int | None) -> Recording:
        """A per-recording retention override (None clears it)."""
        async with self._sm() as s, s.begin():
            rec = await s.get(Recording, rec_id)
            if rec is None:
                raise NotFound(f"recording {rec_id} not found")
            rec.retention_days = days
        return rec

    async def protected(self) -> list[Recording]:
        """Every protected recording, newest first."""
        async with self._sm() as s:
            rows = await s.scalars(
                select(Recording)
                .where(Recording.protected.is_(True))
                .order_by(Recording.start_time.desc())
            )
            return list(rows.all())

    async def stats(self) -> tuple[int, int]:
        """Count and total bytes of every recording."""
        async with self._sm() as s:
            row = (
                await s.execute(
                    select(func.count(), func.coalesce(func.sum(Recording.size_bytes), 0))
                )
            ).one()
        return int(row[0]), int(row[1])


def _unlink_all(paths: list[Path]) -> list[bool]:
    """Unlink each file; False where it could not be removed (its row then stays)."""
    done = []
    for path in paths:
        try:
            path.unlink(missing_ok=True)
            done.append(True)
        except OSError as err:
            _LOGGER.warning("Could not delete %s: %s", path, err.strerror)
            done.append(False)
    return done
