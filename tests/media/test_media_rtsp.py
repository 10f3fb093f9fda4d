"""StreamSource + SegmentRecorder against a real RTSP server (GStreamer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest
from media_helpers import (
    FPS,
    HEIGHT,
    WIDTH,
    Collector,
    Events,
    RtspServer,
    make_test_clip,
    wait_for,
)

from nvr_hub.media import (
    PROTOCOL_UDP,
    SegmentInfo,
    SegmentRecorder,
    StreamSource,
    StreamStatus,
    probe_segment,
)

ServerFactory = Callable[..., RtspServer]
FRAME = 1.0 / FPS


def decoded_frames(segment: SegmentInfo) -> int:
    with av.open(str(segment.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = list(container.decode(stream))
    assert frames and all((f.width, f.height) == (WIDTH, HEIGHT) for f in frames)
    return len(frames)


def test_records_abutting_playable_segments(
    clip: Path,
    rtsp_server: ServerFactory,
    sources: list[StreamSource],
    events: Events,
    tmp_path: Path,
) -> None:
    server = rtsp_server(clip)
    url = server.url.replace("rtsp://", "rtsp://admin:hunter2@")  # GStreamer ignores it
    recorder = SegmentRecorder(
        "cam",
        tmp_path,
        segment_duration=2.0,
        on_segment_open=events.on_segment_open,
        on_segment_close=events.on_segment_close,
    )
    counter = Collector()
    source = StreamSource("cam", url, on_status=events.on_status)
    sources.append(source)
    source.add_consumer(recorder)
    source.add_consumer(counter)
    assert "hunter2" not in source.url
    source.start()
    wait_for(lambda: len(events.closed) >= 3, 15, "three finished segments")
    source.stop()
    assert events.status_list() == ["connecting", "connected", "disabled"]
    info = source.info
    assert info is not None and (info.codec, info.width, info.height) == ("h264", WIDTH, HEIGHT)
    assert info.fps == pytest.approx(FPS)

    segments = events.closed
    assert [s.path for s in segments] == [s.path for s in events.opened]
    total = 0
    for segment in segments:
        probe = probe_segment(segment.path)
        assert probe is not None
        assert (probe.codec, probe.width, probe.height) == ("h264", WIDTH, HEIGHT)
        # What the recorder reported matches the file, within a frame.
        assert abs(probe.duration - segment.duration) <= FRAME + 1e-6
        assert decoded_frames(segment) == probe.frames
        total += probe.frames
    for previous, segment in zip(segments, segments[1:], strict=False):
        assert previous.duration == pytest.approx(2.0, abs=FRAME + 0.05)
        assert previous.end_time is not None
        assert abs((segment.start_time - previous.end_time).total_seconds()) <= FRAME
    # Every video packet handed out is in exactly one file.
    assert total == len(counter.video())


def test_records_aac_audio(
    clip_with_audio: Path,
    rtsp_server: ServerFactory,
    sources: list[StreamSource],
    events: Events,
    tmp_path: Path,
) -> None:
    server = rtsp_server(clip_with_audio)
    recorder = SegmentRecorder(
        "cam", tmp_path, record_audio=True, on_segment_close=events.on_segment_close
    )
    source = StreamSource("cam", server.url)
    sources.append(source)
    source.add_consumer(recorder)
    source.start()
    wait_for(lambda: source.stats.packets > 60, 10, "3 s of packets")
    source.stop()
    (segment,) = events.closed
    assert segment.has_audio
    assert source.info is not None and source.info.audio_codec == "aac"
    with av.open(str(segment.path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert sum(f.samples for f in container.decode(audio)) > 16000 * 2


def test_camera_loss_finalizes_segment_and_recovers(
    clip: Path,
    rtsp_server: ServerFactory,
    sources: list[StreamSource],
    events: Events,
    tmp_path: Path,
) -> None:
    server = rtsp_server(clip)
    port = server.port
    recorder = SegmentRecorder(
        "cam",
        tmp_path,
        segment_duration=60,
        on_segment_open=events.on_segment_open,
        on_segment_close=events.on_segment_close,
    )
    source = StreamSource("cam", server.url, on_status=events.on_status)
    sources.append(source)
    source.add_consumer(recorder)
    source.start()
    wait_for(lambda: source.stats.packets >= 2 * FPS, 10, "2 s of packets")

    server.stop()  # the camera loses power
    wait_for(lambda: "reconnecting" in events.status_list(), 10, "reconnecting")
    wait_for(lambda: len(events.closed) == 1, 5, "the segment to be finalized")
    lost = events.closed[0]
    probe = probe_segment(lost.path)
    assert probe is not None and probe.duration >= 1.5
    assert decoded_frames(lost) == probe.frames

    server.start()
    assert server.port == port
    wait_for(lambda: events.status_list().count("connected") == 2, 15, "connected again")
    wait_for(lambda: len(events.opened) == 2, 5, "a new segment")
    assert events.opened[1].path != lost.path
    assert source.stats.reconnects >= 1
    source.stop()
    assert events.status_list()[-1] == StreamStatus.DISABLED
    assert len(events.closed) == 2 and decoded_frames(events.closed[1]) > 0


def test_stalled_camera_is_detected(
    clip: Path, rtsp_server: ServerFactory, sources: list[StreamSource], events: Events
) -> None:
    server = rtsp_server(clip)
    collector = Collector()
    source = StreamSource("cam", server.url, on_status=events.on_status, socket_timeout=1.5)
    sources.append(source)
    source.add_consumer(collector)
    source.start()
    wait_for(lambda: len(collector.packets) > 5, 10, "packets")
    server.pause()  # TCP stays up, nothing arrives
    try:
        wait_for(lambda: "reconnecting" in events.status_list(), 8, "the stall to be noticed")
        assert collector.closes and len(collector.opens) == 1
    finally:
        server.resume()
    wait_for(lambda: len(collector.opens) == 2, 15, "reconnected")


def test_audio_without_video_is_a_stall(
    rtsp_server: ServerFactory, sources: list[StreamSource], events: Events, tmp_path: Path
) -> None:
    # The picture ends after 2 s, the sound goes on for 6 s before the server loops.
    clip = make_test_clip(tmp_path / "mute.mp4", 2, audio=True, audio_seconds=6)
    server = rtsp_server(clip)
    source = StreamSource("cam", server.url, on_status=events.on_status, stall_timeout=2)
    sources.append(source)
    source.start()
    wait_for(lambda: "reconnecting" in events.status_list(), 10, "the stall to be noticed")
    assert events.statuses[-1] == ("reconnecting", "SourceStalled: no video for 2 s")


def test_fan_out_shares_one_connection(
    clip: Path, rtsp_server: ServerFactory, sources: list[StreamSource]
) -> None:
    server = rtsp_server(clip)
    first, second, late = Collector(), Collector(), Collector()
    source = StreamSource("cam", server.url)
    sources.append(source)
    source.add_consumer(first)
    source.add_consumer(second)
    source.start()
    wait_for(lambda: len(first.packets) > FPS, 10, "packets")
    source.add_consumer(late)  # joins while running, at the next keyframe
    wait_for(lambda: len(late.packets) > 2 * FPS, 10, "packets for the late consumer")
    source.remove_consumer(second)
    wait_for(lambda: second.closes == ["removed"], 5, "removal")
    source.stop()
    assert server.clients == 1
    assert first.packets[: len(second.packets)] == second.packets
    assert len(first.opens) == len(second.opens) == len(late.opens) == 1
    assert first.packets[0][3] and late.packets[0][3]  # both start on a keyframe
    assert late.packets == first.packets[-len(late.packets) :]
    assert first.closes == late.closes == ["stopped"]


def test_udp_transport(
    clip: Path, rtsp_server: ServerFactory, sources: list[StreamSource], events: Events
) -> None:
    server = rtsp_server(clip, udp=True)
    collector = Collector()
    source = StreamSource("cam", server.url, protocol=PROTOCOL_UDP, on_status=events.on_status)
    sources.append(source)
    source.add_consumer(collector)
    source.start()
    wait_for(lambda: len(collector.video()) > FPS, 10, "packets over UDP")
    assert "connected" in events.status_list()
