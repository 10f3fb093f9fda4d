"""Keep each stream's newest video keyframe, and turn it into a JPEG on demand."""

from __future__ import annotations

import threading
from fractions import Fraction

import av
from av.packet import Packet
from av.stream import Stream

from .consumer import StreamInfo


class KeyframeKeeper:
    """A consumer holding the latest keyframe's bytes and the decoder's extradata."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codec: str | None = None
        self._extradata: bytes | None = None
        self._keyframe: bytes | None = None
        self.frames_seen = 0

    def on_open(self, info: StreamInfo) -> None:
        ctx = info.video_stream.codec_context
        with self._lock:
            self._codec = info.codec  # the decoder's name (the demo camera's context is x264's)
            self._extradata = bytes(ctx.extradata) if ctx.extradata else None

    def on_packet(self, packet: Packet[Stream]) -> None:
        if packet.stream.type != "video" or not packet.is_keyframe:
            return
        data = bytes(packet)
        with self._lock:
            self._keyframe = data
            self.frames_seen += 1

    def on_close(self, reason: str) -> None:
        """Keep the last picture: a snapshot of a camera that just dropped is still useful."""

    def latest(self) -> tuple[str, bytes | None, bytes] | None:
        """(codec, extradata, keyframe bytes) of the newest keyframe, if any."""
        with self._lock:
            if self._codec is None or self._keyframe is None:
                return None
            return self._codec, self._extradata, self._keyframe


def keyframe_to_jpeg(
    codec: str, extradata: bytes | None, data: bytes, height: int | None = None
) -> bytes:
    """Decode one keyframe and encode it as JPEG, scaled to `height` if given; blocking."""
    decoder = av.CodecContext.create(codec, "r")
    assert isinstance(decoder, av.VideoCodecContext)
    if extradata:
        decoder.extradata = extradata
    frames = list(decoder.decode(av.Packet(data)))
    frames += list(decoder.decode(None))
    if not frames:
        raise ValueError("the keyframe did not decode")
    frame = frames[0]
    assert isinstance(frame, av.VideoFrame)
    width, full_height = frame.width, frame.height
    if height and height < full_height:
        width = max(2, round(width * height / full_height / 2) * 2)
        full_height = max(2, height // 2 * 2)
    return encode_jpeg(frame, width, full_height)


def encode_jpeg(frame: av.VideoFrame, width: int, height: int) -> bytes:
    """One frame as a JPEG of the given size (PyAV's MJPEG encoder; no Pillow needed)."""
    encoder = av.CodecContext.create("mjpeg", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height = width, height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"qscale": "4"}
    scaled = frame.reformat(width=width, height=height, format="yuvj420p")
    packets = list(encoder.encode(scaled)) + list(encoder.encode(None))
    return b"".join(bytes(p) for p in packets)
