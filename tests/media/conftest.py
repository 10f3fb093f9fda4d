"""Fixtures for the media tests: clips made with PyAV, a real RTSP server, tidy sources."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from media_helpers import FPS, HEIGHT, WIDTH, Events, RtspServer, make_test_clip

from nvr_hub.media import StreamSource, quiet_libav_logging


@pytest.fixture(scope="session", autouse=True)
def _quiet_libav() -> None:
    quiet_libav_logging()


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s of 320x240 H.264 at 10 fps, GOP 1 s."""
    return make_test_clip(tmp_path_factory.mktemp("clips") / "video.mp4", 4, WIDTH, HEIGHT, FPS)


@pytest.fixture(scope="session")
def clip_with_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same picture plus AAC audio."""
    path = tmp_path_factory.mktemp("clips") / "audio.mp4"
    return make_test_clip(path, 4, WIDTH, HEIGHT, FPS, audio=True)


@pytest.fixture
def rtsp_server() -> Iterator[Callable[..., RtspServer]]:
    """Start RTSP servers for a clip; all are killed at teardown."""
    servers: list[RtspServer] = []

    def start(clip: Path, *, udp: bool = False) -> RtspServer:
        server = RtspServer(clip, udp=udp)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def sources() -> Iterator[list[StreamSource]]:
    """StreamSources to stop at teardown, whatever the test did."""
    started: list[StreamSource] = []
    yield started
    for source in started:
        source.stop()


@pytest.fixture
def events() -> Events:
    return Events()
