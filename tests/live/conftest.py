"""Fixtures for the live view tests: a clip, a real RTSP camera, a hub that allows loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nvr_hub.media import quiet_libav_logging
from tests.rtsp_server import RtspServer, make_test_clip

WIDTH, HEIGHT, FPS = 320, 240, 10


@pytest.fixture(scope="session", autouse=True)
def _quiet_libav() -> None:
    quiet_libav_logging()


@pytest.fixture(scope="session")
def high_profile_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of 320x240 H.264 (High profile, as cameras send) at 10 fps, GOP 1 s."""
    path = tmp_path_factory.mktemp("live-clips") / "camera.mp4"
    return make_test_clip(path, 6, WIDTH, HEIGHT, FPS)


@pytest.fixture(scope="session")
def clip_with_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same picture with AAC sound (16 kHz mono, a 440 Hz tone)."""
    path = tmp_path_factory.mktemp("live-clips") / "camera-audio.mp4"
    return make_test_clip(path, 6, WIDTH, HEIGHT, FPS, audio=True)


@pytest.fixture
def camera(high_profile_clip: Path) -> Iterator[RtspServer]:
    """A real RTSP camera (GStreamer) looping the clip."""
    with RtspServer(high_profile_clip) as server:
        yield server


@pytest.fixture
def camera_with_audio(clip_with_audio: Path) -> Iterator[RtspServer]:
    """The same camera with sound (started here, off the event loop)."""
    with RtspServer(clip_with_audio) as server:
        yield server
