"""H.264 for WebRTC: MP4-framed packets become Annex B; keyframes carry SPS/PPS."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.packet import Packet
from av.stream import Stream

from nvr_hub.live.h264 import AnnexBWriter, is_annexb, nal_types, profile_level_id
from nvr_hub.media import StreamInfo


def decode_from_scratch(units: list[bytes]) -> list[av.VideoFrame]:
    """Decode with no extradata at all, as a WebRTC receiver does."""
    decoder = av.CodecContext.create("h264", "r")
    frames: list[av.VideoFrame] = []
    for data in units:
        try:
            frames += decoder.decode(av.Packet(data))  # type: ignore[arg-type]
        except av.error.InvalidDataError:
            pass  # no parameter sets yet
    frames += decoder.decode(None)  # type: ignore[arg-type]
    return frames


def test_mp4_framed_packets_become_decodable_annex_b(high_profile_clip: Path) -> None:
    with av.open(str(high_profile_clip)) as container:
        stream = container.streams.video[0]
        info = StreamInfo.from_streams("cam", stream)
        writer = AnnexBWriter(info)
        packets = [p for p in container.demux(stream) if p.size]
        originals = [bytes(p) for p in packets]
        units = [writer.convert(p) for p in packets]
    assert not is_annexb(originals[0])  # MP4 stores length-prefixed NAL units
    assert all(is_annexb(u) for u in units)
    assert originals == [bytes(p) for p in packets]  # the shared packets are untouched
    assert {7, 8, 5} <= set(nal_types(units[0]))
    assert profile_level_id(units[0]) is not None
    assert profile_level_id(units[0])[:2] == "64"  # type: ignore[index]  # High
    frames = decode_from_scratch(units)
    assert len(frames) == len(units) and frames[0].width == 320


def _encoder_without_inband_headers() -> tuple[Stream, list[Packet[Stream]]]:
    """An x264 stream whose SPS/PPS live only in extradata (as some cameras send in SDP)."""
    host = av.open(io.BytesIO(), "w", format="mp4")  # a global header: no in-band SPS/PPS
    stream = host.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    stream.options = {"g": "5", "preset": "ultrafast"}
    host.start_encoding()
    packets: list[Packet[Stream]] = []
    for index in range(10):
        image = np.full((180, 160), 16 + index * 10, np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts, frame.time_base = index, Fraction(1, 10)
        packets += stream.encode(frame)
    packets += stream.encode(None)
    return stream, packets


def test_keyframes_get_the_parameter_sets_they_lack() -> None:
    stream, packets = _encoder_without_inband_headers()
    assert 7 not in nal_types(bytes(packets[0]))
    late = [bytes(p) for p in packets[5:]]  # a viewer joining at the second keyframe
    assert decode_from_scratch(late) == []
    writer = AnnexBWriter(StreamInfo.from_streams("cam", stream))  # type: ignore[arg-type]
    converted = [writer.convert(p) for p in packets]
    assert nal_types(converted[5])[:2] == [7, 8]
    assert 7 not in nal_types(converted[6])  # only keyframes need them
    assert len(decode_from_scratch(converted[5:])) == 5
