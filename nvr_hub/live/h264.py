"""H.264 for WebRTC: Annex B access units that carry SPS/PPS before every keyframe."""

from __future__ import annotations

from collections.abc import Iterator

import av
from av.bitstream import BitStreamFilterContext
from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import StreamInfo

NAL_SPS = 7
NAL_PPS = 8


def nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B buffer, start codes removed."""
    start = data.find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        end = data.find(b"\x00\x00\x01", begin)
        if end == -1:
            yield data[begin:]
            return
        # A 4-byte start code leaves its leading zero at the end of this unit.
        yield data[begin : end - 1] if data[end - 1] == 0 else data[begin:end]
        start = end


def nal_types(data: bytes) -> list[int]:
    """The `nal_unit_type` of every NAL unit of an Annex B buffer."""
    return [unit[0] & 0x1F for unit in nal_units(data) if unit]


def is_annexb(data: bytes) -> bool:
    """True if `data` starts with a start code (Annex B), False for AVCC (length-prefixed)."""
    return data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))


def profile_level_id(data: bytes) -> str | None:
    """The SDP `profile-level-id` (6 hex digits) of the first SPS in an Annex B buffer."""
    for unit in nal_units(data):
        if unit and unit[0] & 0x1F == NAL_SPS and len(unit) >= 4:
            return unit[1:4].hex()
    return None


class AnnexBWriter:
    """Turns one connection's H.264 packets into Annex B access units for RTP.

    RTSP and MPEG-TS inputs already give Annex B; MP4-framed (AVCC) packets from
    MP4, RTMP or FLV inputs go through FFmpeg's `h264_mp4toannexb` filter. Either way
    each keyframe leaves with its parameter sets, so a decoder can start there (a
    camera that sends them only once, in the SDP, would otherwise never play).
    """

    def __init__(self, info: StreamInfo) -> None:
        extradata = info.video_stream.codec_context.extradata
        raw = bytes(extradata) if extradata else b""
        self._filter: BitStreamFilterContext | None = None
        self._headers = b""
        if raw[:1] == b"\x01":  # an avcC box: packets are length-prefixed
            self._filter = BitStreamFilterContext("h264_mp4toannexb", info.video_stream)
        elif is_annexb(raw):
            self._headers = b"".join(
                b"\x00\x00\x00\x01" + unit
                for unit in nal_units(raw)
                if unit and unit[0] & 0x1F in (NAL_SPS, NAL_PPS)
            )

    def convert(self, packet: Packet[Stream]) -> bytes:
        """The Annex B bytes of one access unit (the packet itself is left untouched)."""
        if self._filter is not None:
            # The filter takes ownership of what it is given: hand it a copy.
            copy = av.Packet(bytes(packet))
            copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
            copy.is_keyframe = packet.is_keyframe
            return b"".join(bytes(out) for out in self._filter.filter(copy))
        data = bytes(packet)
        if packet.is_keyframe and self._headers and NAL_SPS not in nal_types(data):
            data = self._headers + data
        return data
