"""The pieces without a hub: motion analysis, zones, the pre-buffer, detector replies."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
import pytest

from nvr_hub.media import StreamInfo
from nvr_hub.motion.analyzer import MotionAnalyzer
from nvr_hub.motion.api_detector import parse_detections
from nvr_hub.motion.detector import DetectorError
from nvr_hub.motion.event_recorder import PreBuffer
from nvr_hub.motion.settings import MotionSettings, resolve_model
from nvr_hub.motion.worker import Analysis, AnalysisWorker
from nvr_hub.motion.zones import Zone, polygon_mask, zone_of
from tests.rtsp_server import make_test_clip

W, H = 160, 90


def scene(x: int | None, y: int = 30, level: int = 60) -> np.ndarray:
    """A textured background with a bright 16x12 box at (x, y), or none."""
    img = (np.add.outer(np.arange(H), np.arange(W)) % 40 + level).astype(np.uint8)
    if x is not None:
        img[y : y + 12, x : x + 16] = 230
    return img


def square(zone_id: str, x0: float, y0: float, x1: float, y1: float, **kw: Any) -> Zone:
    poly = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return Zone(zone_id, zone_id, poly, frozenset(kw.get("classes", ())), kw.get("conf", 0.0))


def test_a_moving_box_is_found_where_it_is_and_a_still_scene_is_quiet() -> None:
    analyzer = MotionAnalyzer(W, H)
    for t in range(4):
        assert analyzer.analyze(scene(None), t * 0.5).boxes == ()
    result = analyzer.analyze(scene(100), 2.0)
    assert result.score == 1.0 and len(result.boxes) == 1
    x, y, w, h = result.boxes[0]
    assert x == pytest.approx(100 / W) and y == pytest.approx(28 / H)
    assert w == pytest.approx(16 / W) and h == pytest.approx(16 / H)  # 4-px cells
    # The box keeps moving: found at its new place, not where it was (no ghost trail).
    moved = analyzer.analyze(scene(60), 2.5)
    assert [round(b[0] * W) for b in moved.boxes] == [60]
    # It stops: one frame later nothing moves.
    analyzer.analyze(scene(60), 3.0)
    assert analyzer.analyze(scene(60), 3.5).boxes == ()


def test_a_lighting_change_is_not_motion_and_zones_limit_what_is_watched() -> None:
    analyzer = MotionAnalyzer(W, H)
    analyzer.analyze(scene(None), 0.0)
    assert analyzer.analyze(scene(None, level=140), 0.5).boxes == ()  # all brighter at once
    left = MotionAnalyzer(W, H, [square("left", 0, 0, 0.5, 1)])
    left.analyze(scene(None), 0.0)
    assert left.analyze(scene(120), 0.5).boxes == ()  # right half: outside the zone
    inside = left.analyze(scene(20), 1.0)
    assert inside.boxes and inside.changed > 0.02  # share of the zone, not of the frame


def test_zone_geometry_and_filters() -> None:
    triangle = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
    mask = polygon_mask(triangle, 10, 10)
    assert mask[0, 0] and not mask[9, 9] and 45 <= mask.sum() <= 55  # centres on the edge
    zones = [square("a", 0, 0, 0.5, 1, conf=0.5), square("b", 0.5, 0, 1, 1, classes={"person"})]
    assert zone_of(zones, (0.1, 0.1, 0.2, 0.2), "cat", 0.6) == "a"
    assert zone_of(zones, (0.1, 0.1, 0.2, 0.2), "cat", 0.4) is None
    assert zone_of(zones, (0.6, 0.1, 0.2, 0.2), "Person", 0.2) == "b"
    assert zone_of(zones, (0.6, 0.1, 0.2, 0.2), "car", 0.9) is None
    assert zone_of([], (0.6, 0.1, 0.2, 0.2), "car", 0.9) == ""


def packet(size: int = 100) -> Any:
    return SimpleNamespace(size=size)


def test_the_pre_buffer_keeps_whole_gops_reaching_back_far_enough() -> None:
    buf = PreBuffer(3.0)
    buf.push(0.0, packet(), keyframe=False)  # before any keyframe: useless, dropped
    for i in range(100):  # 10 fps, a keyframe every 2 s
        buf.push(1.0 + i / 10, packet(), keyframe=i % 20 == 0)
    # Newest packet at 10.9: the GOP starting at 7.0 is the newest one at or before 7.9.
    assert buf.span == pytest.approx(10.9 - 7.0)
    assert buf.since(7.9)[0][0] == pytest.approx(7.0)
    assert buf.since(9.5)[0][0] == pytest.approx(9.0)
    assert buf.since(0.0)[0][0] == pytest.approx(7.0)  # as far back as it holds
    small = PreBuffer(60.0, max_bytes=1000)
    for i in range(40):
        small.push(i / 10, packet(), keyframe=i % 10 == 0)
    assert small.span < 1.0  # the byte cap wins over the seconds


def test_detector_replies_in_every_shape_lightnvr_knows() -> None:
    reply = {
        "detections": [
            {"label": "person", "confidence": 0.8,
             "bounding_box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.6}},
            {"label": "car", "confidence": 0.7, "x_min": 64, "y_min": 36, "x_max": 320,
             "y_max": 180},  # flat and in pixels of the 640x360 frame sent
            {"label": "dog", "confidence": 0.1,
             "bounding_box": {"x_min": 0, "y_min": 0, "x_max": 1, "y_max": 1}},  # too unsure
            {"label": "", "confidence": 0.9, "bounding_box": {}},
            {"label": "bad", "confidence": "high", "x_min": 0},
            "nonsense",
        ]
    }  # fmt: skip
    found = parse_detections(reply, 640, 360, 0.5)
    assert [(o.label, o.confidence) for o in found] == [("person", 0.8), ("car", 0.7)]
    assert found[0].box == pytest.approx((0.1, 0.2, 0.2, 0.4))
    assert found[1].box == pytest.approx((0.1, 0.1, 0.4, 0.4))
    with pytest.raises(DetectorError):
        parse_detections({"results": []}, 640, 360, 0.5)


def test_which_backend_a_stream_runs() -> None:
    def stream(model: str = "", **kw: Any) -> Any:
        fields = {"detection_enabled": False, "detection_based_recording": False}
        return SimpleNamespace(detection_model=model, **{**fields, **kw})

    assert resolve_model(stream(), False) == ("", "")
    assert resolve_model(stream(detection_enabled=True), False) == ("motion", "")
    assert resolve_model(stream(), True) == ("motion", "")
    assert resolve_model(stream("api-detection"), False) == ("api", "")
    assert resolve_model(stream("http://10.0.0.5:8000/detect"), False) == (
        "api",
        "http://10.0.0.5:8000/detect",
    )
    assert resolve_model(stream("yolov8n.tflite"), False) == ("motion", "")


def test_a_worker_that_falls_behind_skips_to_a_keyframe_and_never_blocks(
    tmp_path: Path,
) -> None:
    # 90 frames of 720p (decoded in full) arrive at once: far faster than they decode.
    clip = make_test_clip(tmp_path / "burst.mp4", 3, 1280, 720, 30, gop_seconds=0.5)
    settings = MotionSettings(
        stream="s", model="motion", api_url="", threshold=0.5, interval=1, zones=(),
        sub_stream_url="", continuous=True, event_recording=False, pre_buffer=0.0,
        post_buffer=1.0, max_file_duration=300, record_audio=False, requested_model="",
    )  # fmt: skip
    found: list[Analysis] = []
    worker = AnalysisWorker(settings, found.append)
    slowest = 0.0
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        worker.on_open(StreamInfo.from_streams("s", video))
        packets = [p for p in container.demux(video) if p.size]
        for packet in packets:
            started = time.perf_counter()
            worker.on_packet(packet)
            slowest = max(slowest, time.perf_counter() - started)
        deadline = time.monotonic() + 20
        while worker.stats.decoded + worker.stats.skipped < len(packets):
            assert time.monotonic() < deadline, worker.stats
            time.sleep(0.05)
        worker.on_close("end of stream")
    stats = worker.stats
    assert stats.mode == "full" and stats.packets == len(packets) == 90
    assert stats.skipped > 0 and stats.decoded + stats.skipped == 90 and stats.errors == 0
    assert slowest < 0.005  # queueing only: the source's thread is never held up
