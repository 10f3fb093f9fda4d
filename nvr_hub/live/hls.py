"""HlsSegmenter: remuxes one stream's packets into MPEG-TS segments cut on keyframes."""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
from av.container import OutputContainer
from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import StreamInfo, describe_error

_LOGGER = logging.getLogger(__name__)

MIN_SEGMENT = 1.0  # seconds: a segment ends at the first keyframe after this
WINDOW = 6  # segments in the playlist
KEEP = 10  # segments still served (a player may fetch one that just left the window)
# TS carries AAC as it is; anything else would need transcoding, which live HLS never does.
PASSTHROUGH_AUDIO = frozenset({"aac"})


@dataclass(frozen=True)
class Segment:
    """One finished segment."""

    sequence: int
    duration: float
    data: bytes
    finished: float  # time.time()


def _copy(packet: Packet[Stream], stream: Stream, shift: float) -> Packet[Stream]:
    """A copy for `stream`, `shift` seconds later; the shared original stays untouched."""
    assert packet.pts is not None and packet.dts is not None
    ticks = round(shift / packet.time_base)
    out = Packet(packet)  # type: ignore[arg-type]  # copies the payload
    out.stream = stream
    out.time_base = packet.time_base
    out.pts, out.dts, out.duration = packet.pts + ticks, packet.dts + ticks, packet.duration
    out.is_keyframe = packet.is_keyframe
    return out


class _Open:
    """The segment being written: an MPEG-TS container in memory."""

    def __init__(self, info: StreamInfo, first: Packet[Stream], with_audio: bool) -> None:
        assert first.dts is not None
        self.buffer = io.BytesIO()
        self.container: OutputContainer = av.open(self.buffer, "w", format="mpegts")
        self.video = self.container.add_stream_from_template(info.video_stream)
        self.audio: Stream | None = None
        if with_audio and info.audio_stream is not None:
            self.audio = self.container.add_stream_from_template(info.audio_stream)
        self.time_base: Fraction = first.time_base
        self.first_dts: int = first.dts
        self.end_dts: int = first.dts

    def seconds(self, dts: int) -> float:
        return float((dts - self.first_dts) * self.time_base)

    def close(self) -> bytes:
        self.container.close()
        return self.buffer.getvalue()


class HlsSegmenter:
    """A feed sink (camera thread) that keeps the newest segments of one stream in memory."""

    def __init__(self, name: str, notify: Callable[[], None] | None = None) -> None:
        self.name = name
        self._notify = notify
        self._lock = threading.Lock()
        self._segments: deque[Segment] = deque(maxlen=KEEP)
        self._sequence = 0
        self._info: StreamInfo | None = None
        self._with_audio = False
        self._open: _Open | None = None
        # Timestamps continue across reconnects (shifted by `_shift` seconds) rather than
        # starting over behind an EXT-X-DISCONTINUITY: Chromium's own HLS player refuses
        # playlists with EXT-X-DISCONTINUITY-SEQUENCE, which a sliding window needs.
        self._shift: float | None = None
        self._end = 0.0  # seconds: end of the last video frame, on the output timeline
        self._closed = False
        self.started = time.time()

    # -- camera thread -------------------------------------------------------------------

    def on_open(self, info: StreamInfo) -> None:
        """A connection starts: the next segment opens at its first keyframe."""
        with self._lock:
            self._finish(None)
            self._shift = None
            self._info = info
            self._with_audio = info.audio_codec in PASSTHROUGH_AUDIO

    def on_packet(self, packet: Packet[Stream]) -> None:
        """Mux one packet, cutting a new segment at a keyframe when the current one is due."""
        with self._lock:
            info = self._info
            if info is None or self._closed:
                return
            try:
                self._write(info, packet)
            except Exception as err:
                _LOGGER.warning("%s: live HLS muxing failed: %s", self.name, describe_error(err))
                self._abandon()

    def on_close(self, reason: str) -> None:
        """The connection ended: the open segment is published as it is."""
        with self._lock:
            self._finish(None)

    def _write(self, info: StreamInfo, packet: Packet[Stream]) -> None:
        segment = self._open
        if packet.stream is info.video_stream:
            assert packet.dts is not None
            if self._shift is None:
                if not packet.is_keyframe:
                    return
                start = float(packet.dts * packet.time_base)
                self._shift = self._end - start if self._sequence else 0.0
            if packet.is_keyframe and (
                segment is None or segment.seconds(packet.dts) >= MIN_SEGMENT
            ):
                self._finish(packet.dts)
                segment = self._open = _Open(info, packet, self._with_audio)
            if segment is None:
                return  # waiting for a keyframe
            segment.container.mux_one(_copy(packet, segment.video, self._shift))
            segment.end_dts = packet.dts + max(packet.duration or 0, 1)
            self._end = float(segment.end_dts * packet.time_base) + self._shift
        elif segment is not None and segment.audio is not None and self._shift is not None:
            segment.container.mux_one(_copy(packet, segment.audio, self._shift))

    def _finish(self, next_dts: int | None) -> None:
        segment, self._open = self._open, None
        if segment is None:
            return
        duration = segment.seconds(next_dts if next_dts is not None else segment.end_dts)
        data = segment.close()
        if not data or duration <= 0:
            return
        self._segments.append(Segment(self._sequence, duration, data, time.time()))
        self._sequence += 1
        if self._notify is not None:
            self._notify()

    def _abandon(self) -> None:
        segment, self._open = self._open, None
        if segment is not None:
            try:
                segment.close()
            except Exception:
                _LOGGER.debug("%s: closing a failed HLS segment", self.name, exc_info=True)

    # -- any thread ----------------------------------------------------------------------

    def close(self) -> None:
        """Drop the open segment and ignore further packets (thread-safe)."""
        with self._lock:
            self._closed = True
            self._abandon()

    def segment(self, sequence: int) -> Segment | None:
        """A kept segment by number."""
        with self._lock:
            for segment in self._segments:
                if segment.sequence == sequence:
                    return segment
        return None

    def count(self) -> int:
        """How many segments the playlist lists."""
        with self._lock:
            return min(len(self._segments), WINDOW)

    def newest(self) -> Segment | None:
        """The newest finished segment."""
        with self._lock:
            return self._segments[-1] if self._segments else None

    def playlist(self) -> str | None:
        """The rolling media playlist, or None before the first segment."""
        with self._lock:
            window = list(self._segments)[-WINDOW:]
        if not window:
            return None
        target = max(math.ceil(s.duration) for s in window)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{target}",
            f"#EXT-X-MEDIA-SEQUENCE:{window[0].sequence}",
        ]
        for segment in window:
            lines.append(f"#EXTINF:{segment.duration:.3f},")
            lines.append(f"segment{segment.sequence}.ts")
        return "\n".join(lines) + "\n"
