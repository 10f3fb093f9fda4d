"""LiveFeed, RelayTrack and the HLS segmenter fed straight from demuxed packets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
from av.packet import Packet
from av.stream import Stream

from nvr_hub.live import HlsSegmenter, LiveFeed, LiveFrame, RelayTrack
from nvr_hub.live.feed import CLOCK_RATE
from nvr_hub.live.track import BURST_STEP
from nvr_hub.media import StreamInfo

from .conftest import FPS


class Recorder:
    """A frame listener that keeps what it is given."""

    def __init__(self) -> None:
        self.frames: list[LiveFrame] = []

    def push(self, frame: LiveFrame) -> None:
        self.frames.append(frame)


def connection(clip: Path) -> tuple[StreamInfo, list[Packet[Stream]], av.container.InputContainer]:
    container = av.open(str(clip))
    stream = container.streams.video[0]
    packets = [p for p in container.demux(stream) if p.size]
    return StreamInfo.from_streams("cam", stream), packets, container


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_late_joiners_start_from_the_gop_and_time_runs_on_across_reconnects(
    high_profile_clip: Path,
) -> None:
    feed = LiveFeed("cam", asyncio.get_running_loop())
    info, packets, container = connection(high_profile_clip)
    with container:
        feed.on_open(info)
        for packet in packets[:15]:  # GOP of 10: the second GOP is 5 frames old
            feed.on_packet(packet)
        listener = Recorder()
        backlog = feed.subscribe(listener)
        assert len(backlog) == 5 and backlog[0].keyframe
        for packet in packets[15:30]:
            feed.on_packet(packet)
        feed.on_close("end of stream")
    await settle()
    assert [f.seq for f in listener.frames] == list(range(16, 31))

    info2, packets2, container2 = connection(high_profile_clip)  # the camera reconnects
    with container2:
        feed.on_open(info2)
        for packet in packets2[:10]:
            feed.on_packet(packet)
    await settle()
    stamps = [f.packet.pts for f in backlog + listener.frames]
    assert all(
        b is not None and a is not None and b > a for a, b in zip(stamps, stamps[1:], strict=False)
    )
    step = CLOCK_RATE // FPS
    assert stamps[20] - stamps[19] == step  # continues where the last connection ended
    feed.unsubscribe(listener)
    feed.on_packet(packets2[10])
    await settle()
    assert len(listener.frames) == 25


async def test_a_track_replays_the_gop_squeezed_to_the_live_edge(high_profile_clip: Path) -> None:
    feed = LiveFeed("cam", asyncio.get_running_loop())
    info, packets, container = connection(high_profile_clip)
    with container:
        feed.on_open(info)
        for packet in packets[:14]:
            feed.on_packet(packet)
        track = RelayTrack(feed)
        replayed = [await track.recv() for _ in range(4)]
        newest = feed.subscribe(Recorder())[-1].packet.pts
        assert newest is not None
        assert [p.pts for p in replayed] == [newest - (3 - i) * BURST_STEP for i in range(4)]
        feed.on_packet(packets[14])
        await settle()
        live = await track.recv()
        assert live.pts == newest + CLOCK_RATE // FPS
        track.stop()
        assert feed.viewers == 1  # only the Recorder above is left


def test_hls_segments_are_continuous_across_reconnects(
    high_profile_clip: Path, tmp_path: Path
) -> None:
    segmenter = HlsSegmenter("cam")
    for _ in range(2):
        info, packets, container = connection(high_profile_clip)
        with container:
            segmenter.on_open(info)
            for packet in packets:
                segmenter.on_packet(packet)
            segmenter.on_close("end of stream")
    playlist = segmenter.playlist()
    assert playlist is not None and "DISCONTINUITY" not in playlist
    names = [line for line in playlist.splitlines() if line.endswith(".ts")]
    assert len(names) == 6  # the window; 12 one-second segments were made
    starts = []
    for name in names:
        segment = segmenter.segment(int(name[len("segment") : -3]))
        assert segment is not None and abs(segment.duration - 1.0) < 0.01
        path = tmp_path / name
        path.write_bytes(segment.data)
        with av.open(str(path)) as ts:
            frames = list(ts.decode(video=0))
            assert len(frames) == FPS and frames[0].width == 320
            starts.append(float(frames[0].pts * frames[0].time_base))
    assert [round(b - a, 3) for a, b in zip(starts, starts[1:], strict=False)] == [1.0] * 5
