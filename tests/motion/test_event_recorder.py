"""EventRecorder on real H.264 packets with a stepped clock: pre-buffer, overlap, file limit."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import av
import pytest

from nvr_hub.media import SegmentInfo, StreamInfo
from nvr_hub.motion import event_recorder
from nvr_hub.motion.event_recorder import EventRecorder
from tests.rtsp_server import make_test_clip

FPS = 10  # the clip's GOP is 1 s: keyframes at whole seconds


def test_clips_start_in_the_pre_buffer_merge_overlaps_and_split_long_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", 25, 160, 96, FPS)
    now = [0.0]
    monkeypatch.setattr(event_recorder, "time", SimpleNamespace(time=lambda: now[0]))
    opened: list[SegmentInfo] = []
    closed: list[SegmentInfo] = []
    recorder = EventRecorder(
        "cam",
        tmp_path / "rec",
        pre_buffer=2.0,
        max_file_duration=3.0,
        record_audio=False,
        on_segment_open=opened.append,
        on_segment_close=closed.append,
    )
    triggers = {50: (5.0, 7.0), 65: (6.5, 8.5), 120: (12.0, 13.0), 160: (16.0, 23.0)}
    with av.open(str(clip)) as container:
        video = container.streams.video[0]
        recorder.on_open(StreamInfo.from_streams("cam", video))
        for index, packet in enumerate(p for p in container.demux(video) if p.size):
            now[0] = index / FPS
            if index in triggers:
                recorder.trigger(*triggers[index])
            recorder.on_packet(packet)
        recorder.on_close("end of stream")
    starts = [round(info.start_time.timestamp(), 1) for info in closed]
    ends = [round(info.end_time.timestamp(), 1) for info in closed if info.end_time]
    # 1: the event at 5 s (pre-buffer 2 s: from the keyframe at 3 s), extended by the one
    # at 6.5 s to 8.5 s. 2: at 12 s, from 10 s. 3: 16 s to 23 s from 14 s. Files are cut
    # at the first keyframe after 3 s (max_file_duration).
    assert starts == [3.0, 6.0, 10.0, 14.0, 17.0, 20.0]
    assert ends == pytest.approx([6.0, 8.5, 13.0, 17.0, 20.0, 23.0], abs=0.11)
    assert len(opened) == 6 and recorder.clips == 3
    for info in closed:
        with av.open(str(info.path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert abs(frames - info.duration * FPS) <= 1, info
