"""Helpers shared by the media tests: waiting, recording consumers, callback logs."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import SegmentInfo, StreamInfo

# tests/ is no package; the RTSP helper lives there for tests and benchmarks alike.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rtsp_server import RtspServer, make_test_clip  # noqa: E402

FPS = 10
WIDTH, HEIGHT = 320, 240


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll `predicate` until it is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.05)


@dataclass
class Collector:
    """A PacketConsumer that remembers everything it is given."""

    opens: list[StreamInfo] = field(default_factory=list)
    packets: list[tuple[str, int | None, int | None, bool, bytes]] = field(default_factory=list)
    closes: list[str] = field(default_factory=list)

    def on_open(self, info: StreamInfo) -> None:
        self.opens.append(info)

    def on_packet(self, packet: Packet[Stream]) -> None:
        self.packets.append(
            (packet.stream.type, packet.pts, packet.dts, packet.is_keyframe, bytes(packet))
        )

    def on_close(self, reason: str) -> None:
        self.closes.append(reason)

    def video(self) -> list[tuple[str, int | None, int | None, bool, bytes]]:
        return [p for p in self.packets if p[0] == "video"]


@dataclass
class Events:
    """Thread-safe record of status and segment callbacks."""

    statuses: list[tuple[str, str | None]] = field(default_factory=list)
    opened: list[SegmentInfo] = field(default_factory=list)
    closed: list[SegmentInfo] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_status(self, status: str, detail: str | None) -> None:
        with self.lock:
            self.statuses.append((status, detail))

    def on_segment_open(self, info: SegmentInfo) -> None:
        with self.lock:
            self.opened.append(info)

    def on_segment_close(self, info: SegmentInfo) -> None:
        with self.lock:
            self.closed.append(info)

    def status_list(self) -> list[str]:
        with self.lock:
            return [status for status, _ in self.statuses]


__all__ = [
    "FPS",
    "HEIGHT",
    "WIDTH",
    "Collector",
    "Events",
    "RtspServer",
    "make_test_clip",
    "wait_for",
]
