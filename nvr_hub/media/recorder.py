"""SegmentRecorder: remuxes a stream into fragmented-MP4 segments cut on keyframes."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
from av.container import OutputContainer
from av.packet import Packet
from av.stream import Stream

from .consumer import StreamInfo
from .logs import describe_error

_LOGGER = logging.getLogger(__name__)

# moov first, then a fragment at every keyframe and at least every FRAGMENT_SECONDS: the
# file plays while it is being written, and a crash loses at most the fragment still in
# memory. The muxer holds a whole fragment until it is complete (moof before mdat), so
# one per keyframe interval would cost a GOP of video per camera (~1 MB at 4 Mbit/s and
# 2 s) plus allocator slack; quarter-second fragments cut the peak at 64 cameras by
# ~85 MB for ~0.2 % more bytes on disk (bench/README.md, "Recording").
FRAGMENT_SECONDS = 0.25
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
# Without flush_packets, header and fragments wait in libavformat's 32 KiB I/O buffer
# (a low-bitrate stream would have nothing but `ftyp` on disk for minutes). The muxer
# holds a fragment's packets itself until the fragment is complete, so this flushes
# once per fragment, not once per packet.
MUX_OPTIONS = {
    "movflags": MOVFLAGS,
    "frag_duration": str(int(FRAGMENT_SECONDS * 1_000_000)),
    "flush_packets": "1",
}
# MP4 takes AAC as is; G.711 and friends would need transcoding, which we never do.
PASSTHROUGH_AUDIO = frozenset({"aac"})
# After a segment failed to open (disk full, permissions), wait this long in stream
# time before trying again, instead of failing at every keyframe.
RETRY_AFTER = 10.0
# Segment start times follow the stream's own clock so that segments abut exactly;
# if that drifts this far (seconds) from the wall clock, re-anchor on the wall clock.
MAX_CLOCK_DRIFT = 10.0
# The database bounds its range queries by a 24 h recording span: never write longer.
# A stream that stops sending keyframes gets its segment closed here and the next one
# opened at its next keyframe.
MAX_SEGMENT_DURATION = 23 * 3600.0

SegmentCallback = Callable[["SegmentInfo"], None]


@dataclass(frozen=True)
class SegmentInfo:
    """One recording file; `end_time` is None while it is being written."""

    stream_name: str
    path: Path
    relative_path: str  # POSIX, relative to the recordings root
    start_time: datetime  # UTC
    end_time: datetime | None
    duration: float  # seconds
    size_bytes: int
    width: int
    height: int
    codec: str
    has_audio: bool


def fs_safe_name(name: str) -> str:
    """Turn a stream name into one path component (no separators, no leading dot)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()).lstrip(".")
    return safe or "stream"


def segment_path(root: Path, stream_name: str, start: datetime) -> Path:
    """`<root>/<name>/<YYYY>/<MM>/<DD>/<HHMMSS>.mp4` in UTC, suffixed if it exists."""
    start = start.astimezone(UTC)
    folder = root / fs_safe_name(stream_name) / start.strftime("%Y/%m/%d")
    stem = start.strftime("%H%M%S")
    path = folder / f"{stem}.mp4"
    suffix = 1
    while path.exists():
        path = folder / f"{stem}_{suffix}.mp4"
        suffix += 1
    return path


def mux_shifted(
    container: OutputContainer,
    packet: Packet[Stream],
    stream: Stream,
    time_base: Fraction,
    shift: int,
) -> None:
    """Mux a shared packet into `stream`, `shift` ticks earlier, and leave it as it was.

    No copy: a copy's payload is a Python-owned buffer, and its release inside the muxer
    (which runs with the GIL released) has to take the GIL back, for every packet of
    every camera. `time_base` is the packet's own, passed in because `packet.time_base`
    builds a Fraction at every call. The container must have started encoding (PyAV
    holds on to packets until it has, and these are restored right after the call).
    """
    source, pts, dts, duration = packet.stream, packet.pts, packet.dts, packet.duration
    assert pts is not None and dts is not None
    try:
        packet.stream = stream
        packet.pts = pts - shift
        packet.dts = dts - shift
        container.mux_one(packet)  # rescales the packet to the stream's time base
    finally:
        packet.stream = source
        packet.time_base = time_base
        packet.pts, packet.dts, packet.duration = pts, dts, duration


class _Segment:
    """One open MP4 file; timestamps are shifted so that it starts at 0."""

    def __init__(
        self, path: Path, info: StreamInfo, with_audio: bool, first: Packet[Stream]
    ) -> None:
        assert first.dts is not None
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.container: OutputContainer = av.open(str(path), "w", format="mp4", options=MUX_OPTIONS)
        try:
            self.video = self.container.add_stream_from_template(info.video_stream)
            if info.codec == "hevc":
                # Apple players want hvc1 (parameter sets in the sample entry), not hev1.
                self.video.codec_context.codec_tag = "hvc1"
            self.audio: Stream | None = None
            self.audio_shift = 0
            self.audio_time_base = Fraction(1)
            if with_audio and info.audio_stream is not None:
                self.audio = self.container.add_stream_from_template(info.audio_stream)
                origin = first.dts * first.time_base
                self.audio_time_base = info.audio_stream.time_base or Fraction(1)
                self.audio_shift = round(origin / self.audio_time_base)
            # Writes ftyp + moov now: the file is a valid (empty) MP4 from this moment.
            self.container.start_encoding()
        except BaseException:
            self.container.close()
            path.unlink(missing_ok=True)
            raise
        self.time_base: Fraction = first.time_base
        self.first_dts: int = first.dts
        self.end_dts: int = first.dts  # end of the last video frame written
        self.frame_ticks = max(first.duration or 0, 1)

    def write_video(self, packet: Packet[Stream]) -> None:
        dts, duration = packet.dts, packet.duration
        assert dts is not None
        mux_shifted(self.container, packet, self.video, self.time_base, self.first_dts)
        if duration:
            self.frame_ticks = duration
        self.end_dts = dts + self.frame_ticks

    def write_audio(self, packet: Packet[Stream]) -> None:
        assert self.audio is not None and packet.dts is not None
        # Audio from before the first keyframe belongs to the previous segment.
        if packet.dts >= self.audio_shift:
            mux_shifted(self.container, packet, self.audio, self.audio_time_base, self.audio_shift)

    def seconds(self, dts: int) -> float:
        return float((dts - self.first_dts) * self.time_base)

    def close(self) -> None:
        self.container.close()


class SegmentRecorder:
    """A PacketConsumer that records a stream into fragmented-MP4 files, never re-encoding.

    A segment ends at the first keyframe after `segment_duration` seconds and the
    next one starts with that same keyframe, so segments abut with no packet lost.
    Callbacks run on the source's thread: `on_segment_open` right after a file is
    created, `on_segment_close` after it is finalized.
    """

    def __init__(
        self,
        stream_name: str,
        root: Path | str,
        *,
        segment_duration: float = 900.0,
        record_audio: bool = False,
        on_segment_open: SegmentCallback | None = None,
        on_segment_close: SegmentCallback | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.stream_name = stream_name
        # Wall time "now" of the packet being written; an event recorder replaying its
        # pre-buffer passes each packet's arrival time, so clips start when they really did.
        self._clock = clock or (lambda: datetime.now(UTC))
        self.root = Path(root)
        self.segment_duration = segment_duration
        self.record_audio = record_audio
        self._on_segment_open = on_segment_open
        self._on_segment_close = on_segment_close
        self._lock = threading.Lock()  # close() may come from another thread
        self._closed = False
        self._info: StreamInfo | None = None
        self._with_audio = False
        self._segment: _Segment | None = None
        self._current: SegmentInfo | None = None
        self._cut_dts = 0  # first DTS at which a keyframe ends the segment
        self._limit_dts = 0  # DTS at which the segment ends, keyframe or not
        self._anchor: tuple[datetime, int] | None = None  # wall time of a video DTS
        self._retry_dts: int | None = None

    @property
    def current(self) -> SegmentInfo | None:
        """The segment being written, if any."""
        return self._current

    def on_open(self, info: StreamInfo) -> None:
        """Start of a connection: remember its streams; recording starts at the keyframe."""
        with self._lock:
            self._finish(None)
            self._info, self._anchor, self._retry_dts = info, None, None
            self._with_audio = self.record_audio and info.audio_codec in PASSTHROUGH_AUDIO
            if self.record_audio and info.audio_codec and not self._with_audio:
                _LOGGER.info(
                    "%s: not recording %s audio: MP4 passthrough takes AAC only and we never "
                    "transcode",
                    self.stream_name,
                    info.audio_codec,
                )

    def on_packet(self, packet: Packet[Stream]) -> None:
        """Write one packet, cutting to a new file at a keyframe when the segment is due."""
        with self._lock:
            info = self._info
            if info is None or self._closed:
                return
            if packet.stream is info.video_stream:
                assert packet.dts is not None
                segment = self._segment
                if packet.is_keyframe and (segment is None or packet.dts >= self._cut_dts):
                    segment = self._cut(packet)
                elif segment is not None and packet.dts >= self._limit_dts:
                    _LOGGER.warning("%s: no keyframe for too long; closing", self.stream_name)
                    self._finish(None)
                    segment = None
                if segment is not None:
                    self._write(segment, packet, video=True)
            elif self._with_audio and self._segment is not None:
                self._write(self._segment, packet, video=False)

    def on_close(self, reason: str) -> None:
        """End of the connection: finalize the open segment."""
        with self._lock:
            if self._segment is not None:
                _LOGGER.debug("%s: closing segment (%s)", self.stream_name, reason)
            self._finish(None)
            self._info = None

    def close(self) -> None:
        """Finalize the open segment and ignore any further packets (thread-safe)."""
        with self._lock:
            self._closed = True
            self._finish(None)

    def _start_time(self, dts: int, time_base: Fraction) -> datetime:
        """Wall time of a video DTS, on a timeline that follows the stream's clock."""
        now = self._clock()
        if self._anchor is not None:
            wall, anchor_dts = self._anchor
            start = wall + timedelta(seconds=float((dts - anchor_dts) * time_base))
            drift = (now - start).total_seconds()
            if abs(drift) <= MAX_CLOCK_DRIFT:
                return start
            _LOGGER.info("%s: stream clock drifted %.1f s; re-anchoring", self.stream_name, drift)
        self._anchor = (now, dts)
        return now

    def _cut(self, keyframe: Packet[Stream]) -> _Segment | None:
        """Close the current segment at `keyframe` and open the next one with it."""
        assert self._info is not None and keyframe.dts is not None
        self._finish(keyframe.dts)
        if self._retry_dts is not None and keyframe.dts < self._retry_dts:
            return None
        info = self._info
        start = self._start_time(keyframe.dts, keyframe.time_base)
        path = segment_path(self.root, self.stream_name, start)
        try:
            segment = _Segment(path, info, self._with_audio, keyframe)
        except Exception as err:
            self._retry_dts = keyframe.dts + math.ceil(RETRY_AFTER / keyframe.time_base)
            _LOGGER.error("%s: cannot open %s: %s", self.stream_name, path, describe_error(err))
            return None
        self._retry_dts = None
        self._segment = segment
        duration = min(self.segment_duration, MAX_SEGMENT_DURATION)
        self._cut_dts = keyframe.dts + math.ceil(duration / keyframe.time_base)
        self._limit_dts = keyframe.dts + math.floor(MAX_SEGMENT_DURATION / keyframe.time_base)
        self._current = SegmentInfo(
            stream_name=self.stream_name,
            path=path,
            relative_path=path.relative_to(self.root).as_posix(),
            start_time=start,
            end_time=None,
            duration=0.0,
            size_bytes=0,
            width=info.width,
            height=info.height,
            codec=info.codec,
            has_audio=segment.audio is not None,
        )
        _LOGGER.debug("%s: recording to %s", self.stream_name, path)
        self._emit(self._on_segment_open, self._current)
        return segment

    def _write(self, segment: _Segment, packet: Packet[Stream], *, video: bool) -> None:
        try:
            if video:
                segment.write_video(packet)
            else:
                segment.write_audio(packet)
        except Exception as err:
            # Disk full, bad timestamps, ...: keep what is written, retry at a later keyframe.
            _LOGGER.error(
                "%s: writing %s failed: %s", self.stream_name, segment.path, describe_error(err)
            )
            assert packet.dts is not None
            self._finish(None)
            self._retry_dts = packet.dts + math.ceil(RETRY_AFTER / packet.time_base)

    def _finish(self, next_dts: int | None) -> None:
        """Finalize the open segment; it ends at `next_dts` or after its last frame."""
        segment, current = self._segment, self._current
        self._segment = self._current = None
        if segment is None or current is None:
            return
        end_dts = next_dts if next_dts is not None else segment.end_dts
        try:
            segment.close()
        except Exception as err:
            _LOGGER.error(
                "%s: finalizing %s failed: %s", self.stream_name, segment.path, describe_error(err)
            )
        duration = segment.seconds(end_dts)
        try:
            size = segment.path.stat().st_size
        except OSError:
            size = 0
        closed = replace(
            current,
            end_time=current.start_time + timedelta(seconds=duration),
            duration=duration,
            size_bytes=size,
        )
        self._emit(self._on_segment_close, closed)

    def _emit(self, callback: SegmentCallback | None, info: SegmentInfo) -> None:
        if callback is None:
            return
        try:
            callback(info)
        except Exception:
            _LOGGER.exception("%s: segment callback failed for %s", self.stream_name, info.path)
