"""The Motion Recording API: config, test events through the whole path, clips, cleanup."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from nvr_hub import keys
from nvr_hub.bus import MotionEnded, MotionStarted, ObjectDetected
from nvr_hub.storage.models import Detection, MotionEvent, Recording, utcnow
from tests.clips import recording_row
from tests.conftest import Hub
from tests.motion.helpers import add_stream, record_bus, rect, wait_for

DEMO = "demo://a?width=320&height=240&fps=10"
NOWHERE = rect(0.0, 0.92, 1.0, 1.0)  # the demo box never goes there: no real motion


async def error(resp: Any, status: int) -> str:
    assert resp.status == status, (resp.status, await resp.text())
    message: str = (await resp.json())["error"]
    return message


async def test_config_round_trip_and_bad_input(hub: Hub) -> None:
    await hub.login()
    await hub.client.post(
        "/api/streams", json={"name": "cam", "url": "rtsp://h/s", "enabled": False}
    )
    got = await (await hub.client.get("/api/motion/config/cam")).json()
    assert got == {
        "stream_name": "cam", "enabled": False, "pre_buffer_seconds": 5,
        "post_buffer_seconds": 10, "max_file_duration": 300, "retention_days": 7,
        "max_storage_mb": 0, "codec": "h264", "configured": False,
    }  # fmt: skip
    # LightNVR's UI sends codec and quality too; saving enables, the rest keeps its value.
    body = {"pre_buffer_seconds": 3, "codec": "h264", "quality": "high", "stream_name": "cam"}
    saved = await (await hub.client.post("/api/motion/config/cam", json=body)).json()
    assert saved["success"] and saved["config"]["enabled"] is True
    got = await (await hub.client.get("/api/motion/config/cam")).json()
    assert (got["pre_buffer_seconds"], got["post_buffer_seconds"], got["configured"]) == (
        3,
        10,
        True,
    )
    bad = (
        ({"pre_buffer_seconds": 61}, "pre_buffer_seconds"),
        ({"max_file_duration": "long"}, "max_file_duration"),
        ({"enabled": "yes"}, "enabled"),
        ({"sensitivity": 3}, "unknown field 'sensitivity'"),
    )
    for payload, named in bad:
        assert named in await error(
            await hub.client.post("/api/motion/config/cam", json=payload), 400
        )
    assert (await hub.client.get("/api/motion/config/cam")).status == 200
    assert (await (await hub.client.get("/api/motion/config/cam")).json())[
        "pre_buffer_seconds"
    ] == 3
    deleted = await (await hub.client.delete("/api/motion/config/cam")).json()
    assert deleted["success"]
    assert (await (await hub.client.get("/api/motion/config/cam")).json())["configured"] is False
    for method, url in (
        ("GET", "/api/motion/config/nope"),
        ("POST", "/api/motion/test/nope"),
        ("GET", "/api/motion/stats/nope"),
        ("GET", "/api/motion/recordings/nope"),
        ("GET", "/api/detection/results/nope"),
        ("DELETE", "/api/motion/recordings/999"),
        ("GET", "/api/motion/events/999/snapshot.jpg"),
    ):
        await error(await hub.client.request(method, url), 404)
    for url in ("/api/detection/results/cam?limit=0", "/api/detection/results/cam?start=soon"):
        await error(await hub.client.get(url), 400)
    body_err = await error(
        await hub.client.post("/api/motion/test/cam", json={"duration": -1}), 400
    )
    assert "duration" in body_err


async def test_a_test_event_goes_through_bus_recording_and_rows(hub: Hub) -> None:
    await hub.login()
    log, unsubscribe = await record_bus(hub)
    # porch records only around events; yard records continuously (events annotate it).
    config = {"pre_buffer_seconds": 2, "post_buffer_seconds": 1, "max_file_duration": 60}
    await add_stream(hub, {"name": "porch", "url": DEMO, "record": False}, [NOWHERE], config)
    yard = {"name": "yard", "url": DEMO, "segment_duration": 5}
    await add_stream(hub, yard, [NOWHERE], config)

    async def buffered() -> bool:  # 2.5 s of picture in the pre-buffer
        connected = log.connected_at("porch")
        return connected is not None and time.time() - connected.timestamp() > 2.5

    await wait_for(buffered, 10, "porch to run a while")
    sent = time.time()
    resp = await hub.client.post("/api/motion/test/porch", json={"duration": 1, "label": "person"})
    answer = await resp.json()
    assert answer["success"] and answer["event_started"] and answer["recording_triggered"]
    other = await (await hub.client.post("/api/motion/test/yard", json={})).json()
    assert other["event_started"] and not other["recording_triggered"]

    async def porch_ended() -> bool:
        return bool(log.of(MotionEnded, "porch"))

    await wait_for(porch_ended, 10, "the test event to end")
    started, ended = log.of(MotionStarted, "porch")[0], log.of(MotionEnded, "porch")[0]
    # Held 1 s, then the 1 s quiet time.
    assert 1.5 <= (ended.time - started.time).total_seconds() <= 3.0
    assert [o.label for o in log.of(ObjectDetected, "porch")] == ["person"]

    async def clip() -> list[dict[str, Any]]:
        body = await (await hub.client.get("/api/motion/recordings/porch")).json()
        return [r for r in body["recordings"] if r["is_complete"]]

    rec = (await wait_for(clip, 10, "the event clip"))[0]
    assert rec["start_time_unix"] <= sent - 2 and 3 <= rec["duration"] <= 6
    results = await (await hub.client.get("/api/detection/results/porch")).json()

    async def linked() -> bool:
        body = await (await hub.client.get("/api/detection/results/porch")).json()
        return bool(body["detections"][0]["recording_id"] == rec["id"])

    await wait_for(linked, 5, "the detection to be linked to its clip")
    assert results["detections"][0]["label"] == "person"

    stats = await (await hub.client.get("/api/motion/stats/porch")).json()
    assert stats["enabled"] and stats["total_recordings"] == 1 and stats["total_events"] == 1
    assert stats["total_size_bytes"] == rec["size_bytes"] > 0
    event = stats["last_event"]
    assert event["source"] == "test" and event["labels"] == ["person"]
    assert event["recording_id"] == rec["id"] and event["end_time"]
    snapshot = await hub.client.get(event["snapshot"])
    assert snapshot.status == 200 and (await snapshot.read())[:2] == b"\xff\xd8"
    events = await (await hub.client.get("/api/motion/events/porch")).json()
    assert [e["id"] for e in events["events"]] == [event["id"]]
    storage = await (await hub.client.get("/api/motion/storage")).json()
    assert storage["total_recordings"] == 1 and storage["disk_space_total"] > 0
    assert storage["streams"] == [
        {"stream_name": "porch", "recordings": 1, "size_bytes": rec["size_bytes"]}
    ]
    # The continuous stream made no clip; its open segment carries the detection.
    assert (await (await hub.client.get("/api/motion/recordings/yard")).json())["count"] == 0
    segs = await (await hub.client.get("/api/recordings?stream=yard")).json()
    assert any(r["has_detection"] for r in segs["recordings"])

    resp = await hub.client.delete(f"/api/motion/recordings/{rec['id']}")
    assert (await resp.json())["success"]
    assert (await hub.client.get(f"/api/recordings/{rec['id']}")).status == 404
    continuous = segs["recordings"][0]["id"]
    msg = await error(await hub.client.delete(f"/api/motion/recordings/{continuous}"), 404)
    assert "not a motion recording" in msg
    await unsubscribe()


async def test_cleanup_expires_old_clips_events_and_detections(hub: Hub) -> None:
    await hub.login()
    await hub.client.post(
        "/api/streams",
        json={"name": "cam", "url": "rtsp://h/s", "enabled": False, "retention_days": 5},
    )
    await hub.client.post("/api/motion/config/cam", json={"retention_days": 7})
    root = hub.config.storage.recordings
    now = utcnow().replace(microsecond=0)
    # Encoding and writing the clips would block the loop: in a thread.
    old, kept, young, plain = [
        await asyncio.to_thread(recording_row, root, "cam", now - timedelta(days=days), **fields)
        for days, fields in (
            (10, {"capture_method": "motion"}),
            (11, {"capture_method": "motion", "protected": True}),
            (2, {"capture_method": "detection"}),
            (9, {}),
        )
    ]
    async with hub.app[keys.SESSIONS]() as s, s.begin():
        s.add_all([old, kept, young, plain])
        s.add(MotionEvent(stream_name="cam", start_time=now - timedelta(days=6), labels=[]))
        s.add(MotionEvent(stream_name="cam", start_time=now - timedelta(days=1), labels=[]))
        for days in (6, 1):
            s.add(Detection(stream_name="cam", time=now - timedelta(days=days), label="motion",
                            confidence=1, x=0, y=0, width=1, height=1))  # fmt: skip
    resp = await hub.client.post("/api/motion/cleanup", json={})
    assert (await resp.json())["deleted_count"] == 1
    async with hub.app[keys.SESSIONS]() as s:
        left = set((await s.scalars(select(Recording.path))).all())
        events = len((await s.scalars(select(MotionEvent))).all())
        detections = len((await s.scalars(select(Detection))).all())
    assert left == {kept.path, young.path, plain.path}
    exists = [await asyncio.to_thread((root / r.path).exists) for r in (old, young)]
    assert exists == [False, True]
    assert (events, detections) == (1, 1)  # the stream keeps detections 5 days
    # An explicit age for one stream.
    resp = await hub.client.post(
        "/api/motion/cleanup", json={"stream_name": "cam", "retention_days": 1}
    )
    assert (await resp.json()) == {
        "success": True, "message": "Cleanup completed", "deleted_count": 1,
        "retention_days": 1, "stream_name": "cam",
    }  # fmt: skip
    await error(await hub.client.post("/api/motion/cleanup", json={"retention_days": 0}), 400)
