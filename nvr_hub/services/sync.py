"""Reconcile recording rows with files: crash repair at start-up and `POST /recordings/sync`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from nvr_hub.media import SegmentProbe, fs_safe_name, probe_segment
from nvr_hub.media.probe import trim_torn_tail
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Recording

_LOGGER = logging.getLogger(__name__)
_PATH_RE = re.compile(
    r"^(?P<stream>[^/]+)/(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/(?P<t>\d{6})(?:_\d+)?\.mp4$"
)


async def repair_open_rows(sessionmaker: SessionMaker, root: Path) -> int:
    """Finish rows a crash left open, from what their files really hold."""
    async with sessionmaker() as s:
        rows = list(
            (await s.scalars(select(Recording).where(Recording.is_complete.is_(False)))).all()
        )
    repaired = 0
    for rec in rows:
        probe = await asyncio.to_thread(_repair_file, root / rec.path)
        async with sessionmaker() as s, s.begin():
            row = await s.get(Recording, rec.id)
            if row is None:
                continue
            if probe is None:
                # Nothing playable survived: drop the row and whatever bytes there were.
                await asyncio.to_thread((root / rec.path).unlink, True)
                await s.delete(row)
                _LOGGER.warning("Dropped unplayable segment %s left by a crash", rec.path)
            else:
                row.duration = probe.duration
                row.size_bytes = probe.size_bytes
                row.end_time = row.start_time + timedelta(seconds=probe.duration)
                row.codec, row.width, row.height = probe.codec, probe.width, probe.height
                row.is_complete = True
        repaired += 1
    return repaired


def _repair_file(path: Path) -> SegmentProbe | None:
    """Cut a crashed segment back to its whole fragments, then measure it; blocking."""
    try:
        removed = trim_torn_tail(path)
    except OSError:
        return None  # gone or unreadable: probing says the same
    if removed:
        _LOGGER.info("Cut %d torn bytes off %s", removed, path.name)
    return probe_segment(path)


def _walk(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.mp4") if p.is_file())


def _start_from_path(relative: str, path: Path, duration: float) -> datetime:
    match = _PATH_RE.match(relative)
    if match:
        try:
            return datetime.strptime(
                f"{match['y']}{match['m']}{match['d']}{match['t']}", "%Y%m%d%H%M%S"
            ).replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC) - timedelta(seconds=duration)


async def sync_files(
    sessionmaker: SessionMaker, root: Path, stream_names: list[str], open_paths: Collection[str]
) -> dict[str, int]:
    """Add rows for files without one; delete rows whose file is gone. Never touches open files."""
    files = set(await asyncio.to_thread(_walk, root))
    async with sessionmaker() as s:
        rows = dict((await s.execute(select(Recording.path, Recording.id))).tuples().all())
    by_dir = {fs_safe_name(name): name for name in stream_names}
    vanished = [rows[p] for p in rows if p not in files and p not in open_paths]
    added = 0
    for relative in sorted(files - set(rows) - set(open_paths)):
        path = root / relative
        probe = await asyncio.to_thread(probe_segment, path)
        if probe is None:
            _LOGGER.warning("Sync: %s holds no playable video; left alone", relative)
            continue
        start = await asyncio.to_thread(_start_from_path, relative, path, probe.duration)
        folder = relative.split("/", 1)[0]
        async with sessionmaker() as s, s.begin():
            s.add(
                Recording(
                    stream_name=by_dir.get(folder, folder),
                    path=relative,
                    start_time=start,
                    end_time=start + timedelta(seconds=probe.duration),
                    duration=probe.duration,
                    size_bytes=probe.size_bytes,
                    width=probe.width,
                    height=probe.height,
                    codec=probe.codec,
                    is_complete=True,
                )
            )
        added += 1
    if vanished:
        async with sessionmaker() as s, s.begin():
            for i in range(0, len(vanished), 500):
                await s.execute(delete(Recording).where(Recording.id.in_(vanished[i : i + 500])))
    if added or vanished:
        _LOGGER.info(
            "Sync added %d recordings and removed %d rows without files", added, len(vanished)
        )
    return {"added": added, "removed": len(vanished)}
