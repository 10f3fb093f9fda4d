"""LiveFeed: one stream's live fan-out, keeping the current GOP for viewers who join late."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av
from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import StreamInfo

from .audio import AudioConverter, webrtc_audio_codec
from .h264 import AnnexBWriter

_LOGGER = logging.getLogger(__name__)

CLOCK_RATE = 90_000  # RTP's video clock: every frame leaves the feed on it
_TIME_BASE = Fraction(1, CLOCK_RATE)
# A GOP longer than this (packets) is not kept: a viewer then waits for the next keyframe.
MAX_GOP_PACKETS = 1500


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """One H.264 access unit ready for RTP: Annex B, stamped on the feed's 90 kHz clock."""

    seq: int
    packet: Packet[Stream]  # shared by every viewer: read-only
    keyframe: bool
    wall: float  # time.time() when the camera thread handed it over


class FrameListener(Protocol):
    """Receives frames on the event loop (a WebRTC track)."""

    def push(self, frame: LiveFrame) -> None:
        """One frame, in order; never blocks."""


class AudioListener(Protocol):
    """Receives RTP-ready audio packets on the event loop (a WebRTC audio track)."""

    def push(self, packet: Packet[Stream]) -> None:
        """One packet, in order; never blocks."""


class FeedSink(Protocol):
    """Receives the camera's own packets on the camera thread (the live HLS muxer)."""

    def on_open(self, info: StreamInfo) -> None:
        """A connection starts; packets follow from a keyframe."""

    def on_packet(self, packet: Packet[Stream]) -> None:
        """One video or audio packet (shared: read-only)."""

    def on_close(self, reason: str) -> None:
        """The connection ended."""


class LiveFeed:
    """A PacketConsumer on one stream's source, always attached, cheap while nobody watches.

    On the camera thread it keeps the packets since the newest keyframe and, for H.264,
    turns each video packet into a `LiveFrame` (Annex B, timestamps rebased so that they
    keep increasing across reconnects). Frames go to listeners on the event loop with
    `call_soon_threadsafe`, only while there are listeners; sinks get raw packets on the
    camera thread. Both start from the kept GOP, so a picture appears at once.
    """

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self.name = name
        self._loop = loop
        self._lock = threading.Lock()
        self._info: StreamInfo | None = None
        self._writer: AnnexBWriter | None = None
        self._gop: list[tuple[Packet[Stream], LiveFrame | None]] = []
        self._keeping = False  # the GOP list holds everything since its keyframe
        self._seq = 0
        self._offset: int | None = None  # added to a connection's 90 kHz pts
        self._last_pts: int | None = None
        self._step = CLOCK_RATE // 10
        self._listeners: set[FrameListener] = set()  # loop side only
        self._listening = False  # read by the camera thread
        self._audio: AudioConverter | None = None
        self._audio_next = 0  # samples: where the next connection's audio continues
        self._audio_listeners: set[AudioListener] = set()
        self._audio_listening = False
        self._sinks: list[FeedSink] = []
        self._pending: list[FeedSink] = []
        self.last_frame_time: float | None = None

    @property
    def info(self) -> StreamInfo | None:
        """What the current (or last) connection carries."""
        return self._info

    @property
    def audio_codec(self) -> str | None:
        """The WebRTC codec (`audio/opus`, `audio/PCMU`...) of the stream's audio, if any."""
        info = self._info
        return webrtc_audio_codec(info) if info is not None else None

    @property
    def viewers(self) -> int:
        """How many listeners are subscribed."""
        return len(self._listeners)

    # -- camera thread -------------------------------------------------------------------

    def on_open(self, info: StreamInfo) -> None:
        """A connection starts: new codec parameters, timestamps rebased at its first frame."""
        writer = AnnexBWriter(info) if info.codec == "h264" else None
        with self._lock:
            self._info, self._writer = info, writer
            if self._audio is not None:
                self._audio_next = self._audio.samples
            self._audio = None
            self._gop, self._keeping, self._offset = [], False, None
            if info.fps:
                self._step = max(round(CLOCK_RATE / info.fps), 1)
            sinks = tuple(self._sinks)
        for sink in sinks:
            self._call(sink, "on_open", info)

    def on_packet(self, packet: Packet[Stream]) -> None:
        """Keep, convert and hand on one packet."""
        info = self._info
        if info is None:
            return
        video = packet.stream is info.video_stream
        if not video and self._audio_listening:
            self._audio_packet(info, packet)
        keyframe = video and packet.is_keyframe
        frame = self._frame(packet, keyframe) if video and self._writer is not None else None
        with self._lock:
            if keyframe:
                self._gop, self._keeping = [], True
            if self._keeping:
                if len(self._gop) < MAX_GOP_PACKETS:
                    self._gop.append((packet, frame))
                else:
                    self._gop, self._keeping = [], False
            sinks = tuple(self._sinks)
            joining: list[FeedSink] = []
            if self._pending and self._gop:
                joining, self._pending = self._pending, []
                self._sinks.extend(joining)
            backlog = [p for p, _ in self._gop] if joining else []
            listening = self._listening
        for sink in sinks:
            self._call(sink, "on_packet", packet)
        for sink in joining:
            if self._call(sink, "on_open", info):
                for old in backlog:
                    if not self._call(sink, "on_packet", old):
                        break
        if frame is not None and listening:
            try:
                self._loop.call_soon_threadsafe(self._dispatch, frame)
            except RuntimeError:
                pass  # the loop is closing: nobody is watching any more

    def on_close(self, reason: str) -> None:
        """The connection ended; sinks are told, listeners simply wait for the next one."""
        with self._lock:
            self._gop, self._keeping = [], False
            sinks = tuple(self._sinks)
        for sink in sinks:
            self._call(sink, "on_close", reason)

    def _frame(self, packet: Packet[Stream], keyframe: bool) -> LiveFrame | None:
        assert self._writer is not None and packet.pts is not None
        try:
            data = self._writer.convert(packet)
        except (av.error.FFmpegError, ValueError) as err:
            _LOGGER.debug("%s: cannot convert a packet for WebRTC: %s", self.name, err)
            return None
        raw = round(packet.pts * packet.time_base * CLOCK_RATE)
        if self._offset is None:
            last = self._last_pts
            self._offset = -raw if last is None else last + self._step - raw
        pts = raw + self._offset
        self._last_pts = pts if self._last_pts is None else max(pts, self._last_pts)
        out = av.Packet(data)
        out.pts = out.dts = pts
        out.time_base = _TIME_BASE
        self._seq += 1
        now = time.time()
        self.last_frame_time = now
        return LiveFrame(self._seq, out, keyframe, now)

    def _audio_packet(self, info: StreamInfo, packet: Packet[Stream]) -> None:
        try:
            if self._audio is None:
                if webrtc_audio_codec(info) is None:
                    return
                self._audio = AudioConverter(info, self._audio_next)
            out = self._audio.convert(packet)
        except (av.error.FFmpegError, ValueError) as err:
            _LOGGER.debug("%s: cannot convert audio for WebRTC: %s", self.name, err)
            return
        if out:
            try:
                self._loop.call_soon_threadsafe(self._dispatch_audio, out)
            except RuntimeError:
                pass

    def _call(self, sink: FeedSink, method: str, *args: object) -> bool:
        try:
            getattr(sink, method)(*args)
        except Exception:
            _LOGGER.exception("%s: live sink %r failed; detaching it", self.name, sink)
            with self._lock:
                if sink in self._sinks:
                    self._sinks.remove(sink)
            return False
        return True

    # -- event loop ----------------------------------------------------------------------

    def subscribe(self, listener: FrameListener) -> list[LiveFrame]:
        """Add a listener; returns the frames of the current GOP for it to start with."""
        with self._lock:
            self._listeners.add(listener)
            self._listening = True
            return [frame for _, frame in self._gop if frame is not None]

    def unsubscribe(self, listener: FrameListener) -> None:
        """Remove a listener (idempotent)."""
        with self._lock:
            self._listeners.discard(listener)
            self._listening = bool(self._listeners)

    def subscribe_audio(self, listener: AudioListener) -> None:
        """Add an audio listener (audio is converted only while there is one)."""
        self._audio_listeners.add(listener)
        self._audio_listening = True

    def unsubscribe_audio(self, listener: AudioListener) -> None:
        """Remove an audio listener (idempotent)."""
        self._audio_listeners.discard(listener)
        self._audio_listening = bool(self._audio_listeners)

    def _dispatch_audio(self, packets: list[Packet[Stream]]) -> None:
        for listener in tuple(self._audio_listeners):
            for packet in packets:
                listener.push(packet)

    def _dispatch(self, frame: LiveFrame) -> None:
        for listener in tuple(self._listeners):
            listener.push(frame)

    # -- any thread ----------------------------------------------------------------------

    def attach(self, sink: FeedSink) -> None:
        """Add a sink; it starts from the kept GOP at the camera's next packet."""
        with self._lock:
            if sink not in self._sinks and sink not in self._pending:
                self._pending.append(sink)

    def detach(self, sink: FeedSink) -> None:
        """Remove a sink; a call already under way on the camera thread may still finish."""
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)
            if sink in self._pending:
                self._pending.remove(sink)
