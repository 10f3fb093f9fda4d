"""The demo:// camera through StreamSource, and behaviour that needs no real camera."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest
from av.packet import Packet
from av.stream import Stream
from media_helpers import Collector, Events, wait_for

from nvr_hub.media import SegmentRecorder, StreamInfo, StreamSource, probe_segment
from nvr_hub.media.demo import DemoSettings, parse_demo_url
from nvr_hub.media.probe import trim_torn_tail
from nvr_hub.media.recorder import FRAGMENT_SECONDS


def test_parse_demo_url() -> None:
    assert parse_demo_url("demo://x") == DemoSettings(640, 360, 10)
    assert parse_demo_url("demo://x?width=321&height=181&fps=15") == DemoSettings(320, 180, 15)
    assert parse_demo_url("demo://x?fps=abc&width=99999") == DemoSettings(3840, 360, 10)


def test_demo_source_gives_decodable_h264_of_the_requested_size(
    sources: list[StreamSource], events: Events
) -> None:
    collector = Collector()
    source = StreamSource(
        "demo", "demo://yard?width=320&height=180&fps=15", on_status=events.on_status
    )
    sources.append(source)
    source.add_consumer(collector)
    source.start()
    wait_for(lambda: len(collector.packets) >= 45, 10, "3 s of demo video")
    source.stop()
    assert events.status_list() == ["connecting", "connected", "disabled"]
    (info,) = collector.opens
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 320, 180, 15.0)
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for _, _, _, _, data in collector.packets:
        frames += decoder.decode(av.Packet(data))
    assert len(frames) >= 44 and all((f.width, f.height) == (320, 180) for f in frames)
    # Real-time paced: 3 s of frames did not arrive in a burst.
    assert collector.packets[0][3]  # keyframe first
    first, later = (frames[i].to_ndarray(format="gray") for i in (0, 30))
    moved = np.abs(first.astype(int) - later.astype(int)) > 60
    assert moved.sum() > 0.02 * moved.size  # the box moved visibly in 2 s


def test_failing_consumer_is_removed_and_the_source_keeps_going(
    sources: list[StreamSource],
) -> None:
    class Broken:
        def __init__(self) -> None:
            self.closes: list[str] = []

        def on_open(self, info: StreamInfo) -> None:
            pass

        def on_packet(self, packet: Packet[Stream]) -> None:
            raise RuntimeError("bug")

        def on_close(self, reason: str) -> None:
            self.closes.append(reason)

    broken, healthy = Broken(), Collector()
    source = StreamSource("demo", "demo://x?width=160&height=90&fps=20")
    sources.append(source)
    source.add_consumer(broken)
    source.add_consumer(healthy)
    source.start()
    wait_for(lambda: len(healthy.packets) > 10, 10, "packets")
    assert broken.closes == ["consumer error"]
    assert source.status == "connected"


def test_refresh_reconnects_and_reopens_consumers(
    sources: list[StreamSource], events: Events
) -> None:
    collector = Collector()
    source = StreamSource("demo", "demo://x?width=160&height=90&fps=20", on_status=events.on_status)
    sources.append(source)
    source.add_consumer(collector)
    source.start()
    wait_for(lambda: len(collector.packets) > 5, 10, "packets")
    source.refresh()
    wait_for(lambda: len(collector.opens) == 2, 10, "a second connection")
    assert collector.closes == ["refresh"]
    assert events.status_list() == ["connecting", "connected", "connecting", "connected"]
    assert source.stats.reconnects == 0  # asked for, not a failure


def test_probe_reads_files_being_written_or_cut_short(
    sources: list[StreamSource], events: Events, tmp_path: Path
) -> None:
    recorder = SegmentRecorder(
        "demo",
        tmp_path / "rec",
        segment_duration=60,
        on_segment_open=events.on_segment_open,
        on_segment_close=events.on_segment_close,
    )
    source = StreamSource("demo", "demo://x?width=320&height=180&fps=10")
    sources.append(source)
    source.add_consumer(recorder)
    source.start()
    # GOP is 2 s, fragments FRAGMENT_SECONDS: after 4.5 s all but the last is on disk.
    wait_for(lambda: source.stats.packets >= 45, 10, "4.5 s of video")
    (opened,) = events.opened
    snapshot = tmp_path / "snapshot.mp4"
    shutil.copyfile(opened.path, snapshot)  # as a crash would leave it
    seen = source.stats.packets / 10
    source.stop()

    partial = probe_segment(snapshot)
    assert partial is not None
    assert (partial.codec, partial.width, partial.height) == ("h264", 320, 180)
    assert 4.5 - FRAGMENT_SECONDS - 0.1 <= partial.duration <= seen

    (closed,) = events.closed
    full = probe_segment(closed.path)
    assert full is not None and full.duration == pytest.approx(closed.duration)
    truncated = tmp_path / "truncated.mp4"
    data = closed.path.read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])  # a torn last fragment
    cut = probe_segment(truncated)
    assert cut is not None and 0 < cut.duration < full.duration
    trim_torn_tail(truncated)  # what a repair after a crash does first
    with av.open(str(truncated)) as container:  # what remains decodes
        decoder = container.streams.video[0].codec_context
        frames = 0
        for packet in container.demux(video=0):
            if packet.size and not packet.is_corrupt:
                frames += len(decoder.decode(packet))
        assert frames >= cut.frames - 1

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(data[:100])
    assert probe_segment(garbage) is None
    assert probe_segment(tmp_path / "missing.mp4") is None
