"""SegmentRecorder fed straight from a file: exact cuts, codecs, audio policy, paths."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from media_helpers import FPS, HEIGHT, WIDTH, Events, make_test_clip

from nvr_hub.media import (
    SegmentRecorder,
    StreamInfo,
    fs_safe_name,
    probe_segment,
    segment_path,
)
from nvr_hub.media import recorder as recorder_module
from nvr_hub.media.probe import intact_length


def feed(recorder: SegmentRecorder, clip: Path) -> int:
    """Play a clip's packets into the recorder as a source would; return video packets fed."""
    count = 0
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        recorder.on_open(StreamInfo.from_streams("cam", video, audio))
        for packet in container.demux([s for s in (video, audio) if s is not None]):
            if packet.size and packet.dts is not None:
                count += packet.stream is video
                recorder.on_packet(packet)
    recorder.on_close("end of stream")
    return count


def decode_all(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_cuts_on_keyframes_into_abutting_segments(clip: Path, tmp_path: Path) -> None:
    events = Events()
    recorder = SegmentRecorder(
        "Front door",
        tmp_path,
        segment_duration=1.0,
        on_segment_open=events.on_segment_open,
        on_segment_close=events.on_segment_close,
    )
    fed = feed(recorder, clip)
    assert fed == 4 * FPS
    assert [s.path for s in events.opened] == [s.path for s in events.closed]
    assert len(events.closed) == 4
    frames = 0
    for previous, segment in zip(events.closed, events.closed[1:], strict=False):
        assert segment.start_time == previous.end_time
    for segment in events.closed:
        assert segment.duration == pytest.approx(1.0)
        assert segment.relative_path == segment.path.relative_to(tmp_path).as_posix()
        assert segment.relative_path.startswith("Front_door/")
        assert segment.size_bytes == segment.path.stat().st_size > 0
        probe = probe_segment(segment.path)
        assert probe is not None
        assert (probe.codec, probe.width, probe.height) == ("h264", WIDTH, HEIGHT)
        assert probe.duration == pytest.approx(segment.duration)
        assert decode_all(segment.path) == probe.frames
        with av.open(str(segment.path)) as container:
            first = next(container.demux(video=0))
            assert first.is_keyframe and first.dts == 0  # each file starts at 0
        frames += probe.frames
    assert frames == fed  # no packet lost or doubled between segments


def test_hevc_gets_the_hvc1_tag(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "hevc.mp4", 2, 256, 144, FPS, video_codec="libx265")
    events = Events()
    recorder = SegmentRecorder("cam", tmp_path / "rec", on_segment_close=events.on_segment_close)
    feed(recorder, clip)
    (segment,) = events.closed
    assert segment.codec == "hevc"
    with av.open(str(segment.path)) as container:
        assert container.streams.video[0].codec_context.codec_tag == "hvc1"
    assert decode_all(segment.path) == 2 * FPS


def test_aac_is_kept_when_asked(clip_with_audio: Path, tmp_path: Path) -> None:
    events = Events()
    recorder = SegmentRecorder(
        "cam", tmp_path, record_audio=True, on_segment_close=events.on_segment_close
    )
    feed(recorder, clip_with_audio)
    (segment,) = events.closed
    assert segment.has_audio
    with av.open(str(segment.path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in container.decode(audio=0)) > 0

    events = Events()
    recorder = SegmentRecorder("cam", tmp_path, on_segment_close=events.on_segment_close)
    feed(recorder, clip_with_audio)
    assert not events.closed[0].has_audio  # record_audio off


def test_non_aac_audio_is_dropped_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = make_test_clip(tmp_path / "g711.mov", 2, audio=True, audio_codec="pcm_mulaw")
    events = Events()
    recorder = SegmentRecorder(
        "cam", tmp_path / "rec", record_audio=True, on_segment_close=events.on_segment_close
    )
    with caplog.at_level(logging.INFO, logger="nvr_hub.media.recorder"):
        feed(recorder, clip)
    assert "not recording pcm_mulaw audio" in caplog.text
    (segment,) = events.closed
    assert not segment.has_audio
    with av.open(str(segment.path)) as container:
        assert not container.streams.audio


def test_close_finalizes_and_ignores_later_packets(clip: Path, tmp_path: Path) -> None:
    events = Events()
    recorder = SegmentRecorder("cam", tmp_path, on_segment_close=events.on_segment_close)
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        recorder.on_open(StreamInfo.from_streams("cam", video))
        for index, packet in enumerate(container.demux(video)):
            if index == 15:
                recorder.close()
            if packet.size:
                recorder.on_packet(packet)
    assert len(events.closed) == 1 and recorder.current is None
    assert events.closed[0].duration == pytest.approx(1.5)
    assert decode_all(events.closed[0].path) == 15


def test_failing_callbacks_do_not_stop_recording(clip: Path, tmp_path: Path) -> None:
    def boom(_: object) -> None:
        raise RuntimeError("db down")

    recorder = SegmentRecorder(
        "cam", tmp_path, segment_duration=1, on_segment_open=boom, on_segment_close=boom
    )
    feed(recorder, clip)
    assert len(list(tmp_path.rglob("*.mp4"))) == 4


def test_paths_are_safe_utc_and_never_collide(tmp_path: Path) -> None:
    assert fs_safe_name("../etc/passwd") == "_etc_passwd"
    assert fs_safe_name("Garage cam #2") == "Garage_cam_2"
    assert fs_safe_name("...") == "stream"
    start = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
    first = segment_path(tmp_path, "cam", start)
    assert first == tmp_path / "cam/2024/02/29/235958.mp4"
    first.parent.mkdir(parents=True)
    first.touch()
    assert segment_path(tmp_path, "cam", start).name == "235958_1.mp4"


def test_unwritable_root_is_logged_not_raised(
    clip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    recorder = SegmentRecorder("cam", blocker, segment_duration=1)
    with caplog.at_level(logging.ERROR, logger="nvr_hub.media.recorder"):
        feed(recorder, clip)
    # Once, not at every keyframe: the next try waits RETRY_AFTER seconds of stream time.
    assert caplog.text.count("cannot open") == 1


def test_segments_never_exceed_the_hard_limit(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "MAX_SEGMENT_DURATION", 1.5)
    events = Events()
    recorder = SegmentRecorder(
        "cam", tmp_path, segment_duration=60, on_segment_close=events.on_segment_close
    )
    feed(recorder, clip)
    assert [s.duration for s in events.closed] == pytest.approx([1.5, 1.5])


def test_packets_shared_with_other_consumers_are_left_as_they_were(
    clip_with_audio: Path, tmp_path: Path
) -> None:
    """The recorder muxes the source's own packets; live view and motion see them unchanged."""
    recorder = SegmentRecorder("cam", tmp_path, segment_duration=1.0, record_audio=True)
    written = 0
    with av.open(str(clip_with_audio)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        recorder.on_open(StreamInfo.from_streams("cam", video, audio))
        for packet in container.demux(video, audio):
            if not packet.size:
                continue
            before = (packet.stream, packet.pts, packet.dts, packet.duration, packet.time_base)
            payload = bytes(packet)
            recorder.on_packet(packet)
            after = (packet.stream, packet.pts, packet.dts, packet.duration, packet.time_base)
            assert after == before and bytes(packet) == payload
            written += 1
    recorder.on_close("end of stream")
    assert written > 4 * FPS  # audio packets went through the same path
    files = sorted(tmp_path.rglob("*.mp4"))
    assert len(files) == 4
    with av.open(str(files[-1])) as container:
        # Each file still starts at 0 in its own time base (the muxer rescales a copy).
        first = next(container.demux(video=0))
        assert first.is_keyframe and first.dts == 0
        assert container.streams.audio


def test_a_segment_being_written_is_on_disk_to_its_last_quarter_second(
    tmp_path: Path,
) -> None:
    """A crash (or a viewer of the open file) loses at most FRAGMENT_SECONDS, not a GOP."""
    # Cameras often send a keyframe every 4 s or more; fragments must not wait for one.
    clip = make_test_clip(tmp_path / "long-gop.mp4", 4, WIDTH, HEIGHT, FPS, gop_seconds=4)
    events = Events()
    recorder = SegmentRecorder(
        "cam", tmp_path / "rec", segment_duration=60, on_segment_open=events.on_segment_open
    )
    fed = 0
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        recorder.on_open(StreamInfo.from_streams("cam", video))
        for packet in container.demux(video):
            if packet.size and fed < 25:  # 2.5 s, no keyframe after the first
                recorder.on_packet(packet)
                fed += 1
        probe = probe_segment(events.opened[0].path)  # still open: no on_close yet
    assert probe is not None
    assert probe.duration >= 2.5 - recorder_module.FRAGMENT_SECONDS - 1 / FPS
    recorder.on_close("end of stream")


def test_a_file_torn_anywhere_keeps_its_whole_fragments(clip: Path, tmp_path: Path) -> None:
    """A crash can cut a segment inside a fragment's header; what came before still counts."""
    events = Events()
    recorder = SegmentRecorder(
        "cam", tmp_path / "rec", segment_duration=60, on_segment_close=events.on_segment_close
    )
    feed(recorder, clip)
    data = events.closed[0].path.read_bytes()
    moofs = [i - 4 for i in range(len(data)) if data[i : i + 4] == b"moof"]
    assert len(moofs) >= 4 * 4 - 1  # a fragment every FRAGMENT_SECONDS at least
    torn = tmp_path / "torn.mp4"
    start, end = moofs[6], moofs[7]
    torn.write_bytes(data[:start])
    clean = probe_segment(torn)
    assert clean is not None and clean.duration > 1
    for cut in range(start + 1, end):  # inside the 7th moof, then inside its mdat
        torn.write_bytes(data[:cut])
        probe = probe_segment(torn)
        assert probe is not None, f"cut at {cut}"
        assert (probe.duration, probe.frames) == (clean.duration, clean.frames)
    assert intact_length(events.closed[0].path) == len(data)
