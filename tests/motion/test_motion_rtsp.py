"""Motion on a real RTSP camera (GStreamer) looping a clip whose box moves at known times."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nvr_hub.bus import MotionEnded, MotionStarted
from tests.conftest import Hub
from tests.motion.helpers import add_stream, record_bus, wait_for
from tests.rtsp_server import RtspServer

FPS, WIDTH, HEIGHT = 10, 320, 240
SECONDS = 8.0
MOVES = (3.0, 5.0)  # the box sits still, goes right and back in these 2 s, sits still again


def box_x(t: float) -> int:
    """Left edge of the box at clip time t: parked at 20 px outside MOVES."""
    start, end = MOVES
    if not start <= t < end:
        return 20
    half = (end - start) / 2
    phase = (t - start) / half
    return 20 + int((phase if phase <= 1 else 2 - phase) * 220) // 2 * 2


def write_clip(path: Path) -> Path:
    """H.264, GOP 1 s, no B-frames; it loops seamlessly (the box ends where it began)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.codec_context.thread_type = "FRAME"  # one slice per frame, as cameras send
        gop = str(FPS)
        video.options = {"preset": "veryfast", "g": gop, "keyint_min": gop, "bf": "0"}
        video.options["sc_threshold"] = "0"
        for index in range(int(SECONDS * FPS)):
            img = np.empty((HEIGHT * 3 // 2, WIDTH), np.uint8)
            img[:HEIGHT] = np.linspace(30, 140, WIDTH, dtype=np.uint8)[None, :]
            img[HEIGHT:] = 128
            x = box_x(index / FPS)
            img[90:150, x : x + 50] = 230
            frame = av.VideoFrame.from_ndarray(img, format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    clip = write_clip(tmp_path_factory.mktemp("rtsp") / "moves.mp4")
    with RtspServer(clip) as server:
        yield server


async def test_motion_starts_and_ends_with_the_moving_object(hub: Hub, camera: RtspServer) -> None:
    await hub.login()
    log, unsubscribe = await record_bus(hub)
    body = {
        "name": "cam",
        "url": camera.url,
        "record": False,
        "detection_enabled": True,
        "detection_interval": 2,
        "post_detection_buffer": 1,
    }
    # The clip starts playing when the hub connects: that is time 0 of the scene. (The
    # hub reports "connected" up to a second later, after probing the stream.)
    clients = camera.clients
    await add_stream(hub, body, [])

    async def playing() -> float | None:
        return time.time() if camera.clients > clients else None

    t0 = await wait_for(playing, 10, "the hub to connect", step=0.01)

    async def ended() -> bool:
        return bool(log.of(MotionEnded, "cam"))

    await wait_for(ended, 20, "motion to end")
    started, stopped = log.of(MotionStarted, "cam")[0], log.of(MotionEnded, "cam")[0]
    start = started.time.timestamp() - t0
    end = stopped.time.timestamp() - t0
    # Moves from 3 s to 5 s; motion ends the post-buffer (1 s) after it stops.
    assert abs(start - MOVES[0]) <= 1.0, (start, end)
    assert abs(end - (MOVES[1] + 1)) <= 1.0, (start, end)
    assert len(log.of(MotionStarted, "cam")) == 1
    x, y, w, h = started.boxes[0]
    assert 0.3 <= y <= 0.45 and 0.2 <= h <= 0.35  # rows 90-150 of 240
    await unsubscribe()
