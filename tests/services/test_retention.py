"""The retention worker on real rows and files: days, quotas, free-space floor, protection."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from nvr_hub import keys
from nvr_hub.storage.models import Recording, Stream, utcnow
from nvr_hub.stream_fields import with_defaults
from tests.clips import recording_row
from tests.conftest import Hub


async def _add(hub: Hub, *rows: Recording) -> list[Recording]:
    async with hub.app[keys.SESSIONS]() as s, s.begin():
        s.add_all(rows)
    return list(rows)


async def _exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)


async def _left(hub: Hub) -> set[str]:
    async with hub.app[keys.SESSIONS]() as s:
        return set((await s.scalars(select(Recording.path))).all())


async def test_age_rules_global_stream_override_and_protection(hub: Hub) -> None:
    root = hub.config.storage.recordings
    now = utcnow().replace(microsecond=0)
    await hub.app[keys.STREAMS].add_values(
        with_defaults(
            {"name": "short", "url": "rtsp://192.0.2.1/s", "enabled": False, "retention_days": 2}
        )
    )
    old_global = await asyncio.to_thread(
        recording_row, root, "cam", now - timedelta(days=40), make_file=True
    )
    young_global = await asyncio.to_thread(recording_row, root, "cam", now - timedelta(days=20))
    old_short = await asyncio.to_thread(recording_row, root, "short", now - timedelta(days=3))
    young_short = await asyncio.to_thread(recording_row, root, "short", now - timedelta(hours=30))
    protected = await asyncio.to_thread(
        recording_row, root, "cam", now - timedelta(days=400), protected=True
    )
    kept_by_override = await asyncio.to_thread(
        recording_row, root, "cam", now - timedelta(days=50), retention_days=90
    )
    expired_override = await asyncio.to_thread(
        recording_row, root, "cam", now - timedelta(days=6), retention_days=5
    )
    open_row = await asyncio.to_thread(
        recording_row, root, "cam", now - timedelta(days=99), is_complete=False
    )
    await _add(
        hub,
        old_global,
        young_global,
        old_short,
        young_short,
        protected,
        kept_by_override,
        expired_override,
        open_row,
    )

    report = await hub.app[keys.RETENTION].run_once()
    assert report.expired == 3
    assert await _left(hub) == {
        young_global.path,
        young_short.path,
        protected.path,
        kept_by_override.path,
        open_row.path,
    }
    for gone in (old_global, old_short, expired_override):
        assert not await _exists(root / gone.path)
    assert await _exists(root / protected.path) and await _exists(root / open_row.path)


async def test_stream_and_global_quotas_delete_oldest_first(hub: Hub) -> None:
    root = hub.config.storage.recordings
    now = utcnow().replace(microsecond=0)
    await hub.app[keys.STREAMS].add_values(
        with_defaults({"name": "cam", "url": "rtsp://192.0.2.1/s", "enabled": False})
    )
    rows = [
        recording_row(
            root,
            "cam",
            now - timedelta(minutes=10 - i),
            make_file=False,
            size_bytes=400 * 1024,
            protected=(i == 0),
        )
        for i in range(6)
    ]
    await _add(hub, *rows)
    # Six 400 KiB rows (2.4 MiB) on a 1 MiB stream quota: the oldest unprotected go first.
    async with hub.app[keys.SESSIONS]() as s, s.begin():
        stream = await s.scalar(select(Stream).where(Stream.name == "cam"))
        assert stream is not None
        stream.max_storage_mb = 1
    report = await hub.app[keys.RETENTION].run_once()
    assert report.stream_quota == 4
    assert await _left(hub) == {rows[0].path, rows[5].path}  # protected oldest + newest

    extra = [
        recording_row(
            root, "other", now - timedelta(minutes=5 - i), make_file=False, size_bytes=600 * 1024
        )
        for i in range(3)
    ]
    await _add(hub, *extra)
    await hub.app[keys.SETTINGS].update({"max_storage_mb": 1})
    report = await hub.app[keys.RETENTION].run_once()
    assert report.global_quota >= 2
    left = await _left(hub)
    assert rows[0].path in left  # protected survives every quota
    async with hub.app[keys.SESSIONS]() as s:
        sizes = (
            await s.scalars(select(Recording.size_bytes).where(Recording.protected.is_(False)))
        ).all()
    assert sum(sizes) + 400 * 1024 <= 1024 * 1024 + 400 * 1024


async def test_free_space_floor_deletes_oldest_unprotected(hub: Hub) -> None:
    root = hub.config.storage.recordings
    now = utcnow().replace(microsecond=0)
    rows = [
        await asyncio.to_thread(recording_row, root, "cam", now - timedelta(minutes=i))
        for i in range(3)
    ]
    keep = await asyncio.to_thread(
        recording_row, root, "cam", now - timedelta(hours=5), protected=True
    )
    await _add(hub, *rows, keep)
    # A floor larger than any disk: everything deletable goes, the protected one stays.
    await hub.app[keys.SETTINGS].update({"min_free_mb": 100_000_000})
    report = await hub.app[keys.RETENTION].run_once()
    assert report.free_space == 3
    assert await _left(hub) == {keep.path}
    assert await _exists(root / keep.path)
