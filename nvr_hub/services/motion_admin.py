"""Motion recording administration: config, test events, stats, clips, cleanup, storage."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import psutil
import voluptuous as vol

from nvr_hub.errors import NotFound
from nvr_hub.motion.detector import DetectedObject
from nvr_hub.motion.settings import DEFAULT_MAX_FILE_DURATION, DEFAULT_MOTION_RETENTION_DAYS
from nvr_hub.services.auth import iso
from nvr_hub.services.motion_store import EVENT_METHODS
from nvr_hub.services.recordings import recording_json
from nvr_hub.storage.models import MotionConfig, MotionEvent, Stream
from nvr_hub.validation import float_range, int_range, strict_bool, text, validate

if TYPE_CHECKING:
    from nvr_hub.services.motion import MotionService

MB = 1024 * 1024
CONFIG_FIELDS = (
    "enabled",
    "pre_buffer_seconds",
    "post_buffer_seconds",
    "max_file_duration",
    "retention_days",
    "max_storage_mb",
)
CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("enabled"): strict_bool,
        vol.Optional("pre_buffer_seconds"): int_range(0, 60),
        vol.Optional("post_buffer_seconds"): int_range(0, 3600),
        vol.Optional("max_file_duration"): int_range(10, 3600),
        vol.Optional("retention_days"): int_range(0, 3650),
        vol.Optional("max_storage_mb"): int_range(0, 100_000_000),
        # LightNVR's UI sends these too; recording never transcodes, so they change nothing.
        vol.Optional("codec"): text(16),
        vol.Optional("quality"): text(16),
        vol.Optional("stream_name"): text(64),
    },
    extra=vol.PREVENT_EXTRA,
)
TEST_SCHEMA = vol.Schema(
    {
        vol.Optional("label", default="motion"): text(64, min_len=1),
        vol.Optional("confidence", default=1.0): float_range(0.0, 1.0),
        vol.Optional("duration", default=0): int_range(0, 600),
    },
    extra=vol.PREVENT_EXTRA,
)
CLEANUP_SCHEMA = vol.Schema(
    {
        vol.Optional("stream_name"): text(64, min_len=1),
        vol.Optional("retention_days"): int_range(1, 3650),
    },
    extra=vol.PREVENT_EXTRA,
)


def config_json(stream: Stream, row: MotionConfig | None) -> dict[str, Any]:
    """A stream's motion recording config; without a row, what the stream itself says."""
    return {
        "stream_name": stream.name,
        "enabled": row.enabled if row else stream.detection_based_recording,
        "pre_buffer_seconds": row.pre_buffer_seconds if row else stream.pre_detection_buffer,
        "post_buffer_seconds": row.post_buffer_seconds if row else stream.post_detection_buffer,
        "max_file_duration": row.max_file_duration if row else DEFAULT_MAX_FILE_DURATION,
        "retention_days": row.retention_days if row else DEFAULT_MOTION_RETENTION_DAYS,
        "max_storage_mb": row.max_storage_mb if row else 0,
        "codec": stream.codec,
        "configured": row is not None,
    }


def event_json(event: MotionEvent) -> dict[str, Any]:
    """An event as the API shows it."""
    return {
        "id": event.id,
        "stream_name": event.stream_name,
        "start_time": iso(event.start_time),
        "end_time": iso(event.end_time) if event.end_time else None,
        "source": event.source,
        "labels": event.labels,
        "max_confidence": event.max_confidence,
        "recording_id": event.recording_id,
        "snapshot": f"/api/motion/events/{event.id}/snapshot.jpg" if event.snapshot else None,
    }


async def get_config(motion: MotionService, name: str) -> dict[str, Any]:
    """The motion config of a stream (404 for an unknown stream)."""
    stream = await motion.streams.get(name)
    return config_json(stream, await motion.store.config(stream.id))


async def save_config(motion: MotionService, name: str, body: Any) -> dict[str, Any]:
    """Create or update; what the body leaves out keeps its value, `enabled` defaults to on."""
    values = validate(CONFIG_SCHEMA, body)
    stream = await motion.streams.get(name)
    current = config_json(stream, await motion.store.config(stream.id))
    merged = {key: values.get(key, current[key]) for key in CONFIG_FIELDS}
    merged["enabled"] = values.get("enabled", True)  # as LightNVR: saving a config enables it
    row = await motion.store.save_config(stream.id, merged)
    await motion.reconcile(name)
    return {
        "success": True,
        "message": "Motion recording configuration saved",
        "stream_name": name,
        "config": config_json(stream, row),
    }


async def delete_config(motion: MotionService, name: str) -> dict[str, Any]:
    """Forget a stream's motion config (the stream's own detection fields stay)."""
    stream = await motion.streams.get(name)
    await motion.store.delete_config(stream.id)
    await motion.reconcile(name)
    return {"success": True, "message": "Motion recording disabled", "stream_name": name}


async def test_event(motion: MotionService, name: str, body: Any) -> dict[str, Any]:
    """A synthetic detection through the whole path: event, bus, recording, rows."""
    values = validate(TEST_SCHEMA, body)
    await motion.streams.get(name)
    if name not in motion.states:
        await motion.reconcile(name)
    obj = DetectedObject(values["label"], values["confidence"], (0.0, 0.0, 1.0, 1.0))
    started = motion.observe(name, [obj], time.time(), None, "test", hold=values["duration"])
    state = motion.states[name]
    return {
        "success": True,
        "message": "Test motion event triggered",
        "stream_name": name,
        "event_started": started,
        "recording_triggered": state.recorder is not None,
    }


async def stats(motion: MotionService, name: str) -> dict[str, Any]:
    """Event clips, events and live analysis figures of one stream."""
    stream = await motion.streams.get(name)
    totals = await motion.store.clip_totals(name)
    count, newest = await motion.store.event_count(name)
    state = motion.states.get(name)
    workers = state.workers() if state else []
    worker = workers[0].stats if workers else None
    settings = state.settings if state else None
    return {
        "stream_name": name,
        "enabled": config_json(stream, await motion.store.config(stream.id))["enabled"],
        "total_recordings": totals["count"],
        "total_size_bytes": totals["bytes"],
        "total_size_mb": round(totals["bytes"] / MB, 2),
        "oldest_recording": int(totals["oldest"].timestamp()) if totals["oldest"] else 0,
        "newest_recording": int(totals["newest"].timestamp()) if totals["newest"] else 0,
        "total_events": count,
        "last_event": event_json(newest) if newest else None,
        "motion_active": bool(state and state.active),
        "analysis": {
            "model": settings.model if settings else "",
            "running": any(w.running for w in workers),
            "sub_stream": bool(state and state.sub_worker),
            "mode": worker.mode if worker else "",
            "analysis_fps": worker.analysis_fps() if worker else 0.0,
            "frames_decoded": worker.decoded if worker else 0,
            "frames_analyzed": worker.analysed if worker else 0,
            "frames_skipped": worker.skipped if worker else 0,
            "decode_errors": worker.errors if worker else 0,
            "cpu_seconds": round(worker.cpu_seconds, 3) if worker else 0.0,
            "detector_requests": state.detector_requests if state else 0,
            "detector_errors": state.detector_errors if state else 0,
            "detector_busy_skips": worker.detector_busy if worker else 0,
            "events_since_start": state.events if state else 0,
        },
    }


async def clips(motion: MotionService, name: str, limit: int) -> dict[str, Any]:
    """A stream's event clips, newest first."""
    await motion.streams.get(name)
    rows = await motion.store.clips(name, limit)
    items = []
    for rec in rows:
        item = recording_json(rec)
        item.update(
            file_path=rec.path,
            timestamp=int(rec.start_time.timestamp()),
            size_mb=round(rec.size_bytes / MB, 3),
        )
        items.append(item)
    return {"stream_name": name, "count": len(items), "recordings": items}


async def delete_clip(motion: MotionService, rec_id: int) -> dict[str, Any]:
    """Delete one event clip (protected ones conflict)."""
    rec = await motion.recordings.get(rec_id)
    if rec.capture_method not in EVENT_METHODS:
        raise NotFound(f"recording {rec_id} is not a motion recording")
    await motion.recordings.delete(rec_id)
    return {"success": True, "message": "Motion recording deleted", "id": rec_id}


async def cleanup(motion: MotionService, name: str | None, days: int | None) -> int:
    """Apply motion retention (age and size of clips; age of detections and events)."""
    configs = await motion.store.configs()
    streams = [s for s in await motion.streams.all() if name is None or s.name == name]
    deleted = 0
    if name is not None and days is not None and not streams:
        return await motion.store.expire_clips(name, days)  # a deleted stream's clips
    global_days = int(motion.settings.get("retention_days"))
    for stream in streams:
        row = configs.get(stream.id)
        clip_days = days if days is not None else (row.retention_days if row else 0)
        if clip_days > 0:
            deleted += await motion.store.expire_clips(stream.name, clip_days)
        if row is not None and row.max_storage_mb > 0:
            deleted += await motion.store.shrink_clips(stream.name, row.max_storage_mb * MB)
        keep = stream.detection_retention_days or stream.retention_days or global_days
        if keep > 0:
            await motion.store.expire_events(stream.name, keep)
    return deleted


async def cleanup_request(motion: MotionService, body: Any) -> dict[str, Any]:
    """`POST /api/motion/cleanup`: optional `stream_name` and `retention_days`."""
    values = validate(CLEANUP_SCHEMA, body)
    name, days = values.get("stream_name"), values.get("retention_days")
    deleted = await cleanup(motion, name, days)
    out: dict[str, Any] = {
        "success": True,
        "message": "Cleanup completed",
        "deleted_count": deleted,
    }
    if days is not None:
        out["retention_days"] = days
    if name is not None:
        out["stream_name"] = name
    return out


async def storage(motion: MotionService) -> dict[str, Any]:
    """Space used by event clips, per stream and in all, and the disk they are on."""
    totals = await motion.store.clip_totals(None)
    per_stream = await motion.store.clips_by_stream()
    root = motion.recordings.root
    # Before the folder exists, the disk it will be on; both touch the disk.
    where = root if await asyncio.to_thread(root.exists) else root.parent
    disk = await asyncio.to_thread(psutil.disk_usage, str(where))
    size = totals["bytes"]
    return {
        "total_recordings": totals["count"],
        "total_size_bytes": size,
        "total_size_mb": round(size / MB, 2),
        "total_size_gb": round(size / MB / 1024, 4),
        "oldest_recording": int(totals["oldest"].timestamp()) if totals["oldest"] else 0,
        "newest_recording": int(totals["newest"].timestamp()) if totals["newest"] else 0,
        "disk_space_total": disk.total,
        "disk_space_available": disk.free,
        "disk_space_used_percent": round(disk.percent, 2),
        "streams": [
            {"stream_name": n, "recordings": c, "size_bytes": b}
            for n, (c, b) in sorted(per_stream.items())
        ],
    }
