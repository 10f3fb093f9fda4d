"""Motion on the demo camera, end to end: timing, zones, stored detections, event clips."""

from __future__ import annotations

from typing import Any

import av

from nvr_hub.bus import MotionEnded, MotionStarted
from tests.conftest import Hub
from tests.motion.helpers import add_stream, record_bus, rect, wait_for

# 320x240 at 10 fps: a 52x60 white box sweeps right over 4 s (x = t/4 * 268 px), then back.
DEMO = "demo://m?width=320&height=240&fps=10"
# The right quarter of the picture: the box is in it from t = 2.81 s to t = 5.19 s.
RIGHT = rect(0.75, 0.0, 1.0, 1.0)
ENTERS, LEAVES = 2.81, 5.19
# The bottom strip, where the box never goes (its lowest edge is at y = 0.89).
BOTTOM = rect(0.0, 0.92, 1.0, 1.0)
BASE = {"url": DEMO, "detection_enabled": True, "detection_interval": 2, "record": False}


def since(t0: Any, t: Any) -> float:
    return float((t - t0).total_seconds())


async def test_demo_motion_timing_zones_and_event_clip(hub: Hub) -> None:
    await hub.login()
    log, unsubscribe = await record_bus(hub)
    # A: motion only; B: a zone the box never enters; C: records clips around events.
    await add_stream(hub, {**BASE, "name": "A", "post_detection_buffer": 1}, [RIGHT])
    await add_stream(hub, {**BASE, "name": "B", "post_detection_buffer": 1}, [BOTTOM])
    clip = {
        "record": True,
        "detection_based_recording": True,
        "pre_detection_buffer": 2,
        "post_detection_buffer": 1,
    }
    await add_stream(hub, {**BASE, "name": "C", **clip}, [RIGHT])
    # F: a large main stream, analysed through its small sub-stream instead.
    sub = {"url": "demo://f?width=640&height=360&fps=10", "sub_stream_url": DEMO}
    await add_stream(hub, {**BASE, **sub, "name": "F", "post_detection_buffer": 1}, [RIGHT])

    async def a_ended() -> bool:
        return bool(log.of(MotionEnded, "A"))

    await wait_for(a_ended, 15, "motion on A to end")
    t0 = log.connected_at("A")
    assert t0 is not None
    started, ended = log.of(MotionStarted, "A")[0], log.of(MotionEnded, "A")[0]
    # The box enters the zone at 2.81 s; motion ends 1 s (the post-buffer) after it leaves.
    assert abs(since(t0, started.time) - ENTERS) <= 1.0, since(t0, started.time)
    assert abs(since(t0, ended.time) - (LEAVES + 1)) <= 1.0, since(t0, ended.time)
    assert len(log.of(MotionStarted, "A")) == 1
    x, y, w, h = started.boxes[0]
    assert x + w > 0.74 and 0 < w < 0.3 and 0 < h < 0.5  # the box, inside the zone
    # The zone the box never enters kept B quiet, although B was analysed all along.
    assert log.of(MotionStarted, "B") == []
    stats = await (await hub.client.get("/api/motion/stats/B")).json()
    assert stats["analysis"]["frames_analyzed"] >= 20 and stats["analysis"]["mode"] == "full"
    assert stats["total_events"] == 0
    # The sub-stream saw the box too (its own connection, its own clock).
    assert log.of(MotionStarted, "F")
    sub_stats = await (await hub.client.get("/api/motion/stats/F")).json()
    assert sub_stats["analysis"]["sub_stream"] and sub_stats["analysis"]["running"]

    # A's detections are stored with their boxes and zone.
    results = await (await hub.client.get("/api/detection/results/A")).json()
    assert results["stream"] == "A" and results["detections"]
    det = results["detections"][0]
    assert det["label"] == "motion" and det["zone_id"] == "zone_1"
    assert det["x"] + det["width"] > 0.74 and 0 < det["confidence"] <= 1

    # C recorded one clip, from a keyframe at least 2 s (its pre-buffer) before the event.
    async def c_clip() -> list[dict[str, Any]]:
        body = await (await hub.client.get("/api/motion/recordings/C")).json()
        return [r for r in body["recordings"] if r["is_complete"]]

    clips = await wait_for(c_clip, 10, "C's event clip")
    event = log.of(MotionStarted, "C")[0]
    rec = clips[0]
    assert rec["capture_method"] == "motion" and rec["has_detection"] is True
    assert rec["start_time_unix"] <= event.time.timestamp() - 2
    # It runs to 1 s after the box left the zone, within a second either way.
    c0 = log.connected_at("C")
    assert abs(rec["end_time_unix"] - (c0.timestamp() + LEAVES + 1)) <= 1.5
    path = hub.config.storage.recordings / rec["file_path"]
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames - rec["duration"] * 10) <= 2 and frames >= 50
    # The general list has it too, and the timeline shows the detection interval.
    body = await (await hub.client.get("/api/recordings?stream=C&capture_method=motion")).json()
    assert [r["id"] for r in body["recordings"]] == [rec["id"]]
    day = rec["start_time"][:10]
    timeline = await (await hub.client.get(f"/api/timeline/segments?stream=C&start={day}")).json()
    assert timeline["detection_intervals"] and timeline["segments"][0]["has_detection"]
    # Zones change on the running stream: without them B sees the box at once.
    assert (await hub.client.delete("/api/streams/B/zones")).status == 200

    async def b_moves() -> bool:
        return bool(log.of(MotionStarted, "B"))

    await wait_for(b_moves, 3, "motion on B once its zone is gone")
    await unsubscribe()
