"""Event-driven recording: an in-memory pre-buffer and clips cut around detections.

Clips are written by a `SegmentRecorder` fed from the pre-buffer first, so an event clip
starts at a keyframe at least `pre_buffer` seconds before the event and is muxed exactly
like a continuous segment (fragmented MP4, no re-encoding).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import SegmentRecorder, StreamInfo
from nvr_hub.media.recorder import SegmentCallback

_LOGGER = logging.getLogger(__name__)

MAX_BUFFER_BYTES = 64 * 1024 * 1024  # per stream, whatever the pre-buffer asks for

# (arrival in time.time() seconds, packet); a string: PyAV's Packet is generic only to mypy.
Timed = tuple[float, "Packet[Stream]"]


class PreBuffer:
    """The newest packets, whole GOPs reaching at least `seconds` back from the last one."""

    def __init__(self, seconds: float, max_bytes: int = MAX_BUFFER_BYTES) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._gops: deque[list[Timed]] = deque()
        self._bytes = 0

    def push(self, arrival: float, packet: Packet[Stream], keyframe: bool) -> None:
        """Keep a packet (a reference: packets are read-only and shared)."""
        if keyframe:
            self._gops.append([])
        elif not self._gops:
            return  # nothing decodable before the first keyframe
        self._gops[-1].append((arrival, packet))
        self._bytes += packet.size
        # Drop the oldest GOP while the next one still starts early enough.
        while len(self._gops) > 1 and (
            self._gops[1][0][0] <= arrival - self.seconds or self._bytes > self.max_bytes
        ):
            self._bytes -= sum(p.size for _, p in self._gops.popleft())

    def since(self, when: float) -> list[Timed]:
        """Packets from the newest keyframe that arrived at or before `when` (else the oldest)."""
        chosen = 0
        for index, gop in enumerate(self._gops):
            if gop[0][0] <= when:
                chosen = index
        return [item for gop in list(self._gops)[chosen:] for item in gop]

    @property
    def span(self) -> float:
        """Seconds between the oldest and the newest packet held."""
        if not self._gops:
            return 0.0
        return self._gops[-1][-1][0] - self._gops[0][0][0]

    def clear(self) -> None:
        """Forget everything (a new connection)."""
        self._gops.clear()
        self._bytes = 0


class EventRecorder:
    """A PacketConsumer that records clips on demand, from its pre-buffer onwards.

    `trigger(when, until)` comes from any thread: the clip starts at a keyframe at or
    before `when - pre_buffer` and runs until `until` (seconds, time.time()); triggers
    that arrive before the end extend the same clip. `max_file_duration` splits long
    events into several files at keyframes. The lock guards only these few numbers:
    files are written outside it, so a trigger from the event loop never waits on disk.
    """

    def __init__(
        self,
        stream_name: str,
        root: Path,
        *,
        pre_buffer: float,
        max_file_duration: float,
        record_audio: bool,
        on_segment_open: SegmentCallback,
        on_segment_close: SegmentCallback,
    ) -> None:
        self.stream_name = stream_name
        self._root = root
        self._record_audio = record_audio
        self._callbacks = (on_segment_open, on_segment_close)
        self._lock = threading.Lock()
        self._pre = pre_buffer
        self._max_file_duration = max_file_duration
        self._start_at: float | None = None  # a clip is wanted from here on
        self._until = 0.0
        self._last_end = 0.0
        self._open = False  # a clip is being written
        # The source's thread only:
        self._buffer = PreBuffer(pre_buffer)
        self._info: StreamInfo | None = None
        self._recorder: SegmentRecorder | None = None
        self._now = 0.0  # arrival time of the packet being written, for the recorder's clock
        self.clips = 0

    @property
    def recording(self) -> bool:
        """Whether a clip is being written or about to be."""
        return self._open or self._start_at is not None

    def configure(self, pre_buffer: float, max_file_duration: float) -> None:
        """New buffer length and file limit (the clip in progress keeps its file limit)."""
        with self._lock:
            self._pre = pre_buffer
            self._max_file_duration = max_file_duration

    def trigger(self, when: float, until: float) -> None:
        """Record around an event at `when` until at least `until` (thread-safe)."""
        with self._lock:
            self._until = max(self._until, until)
            if not self._open and self._start_at is None:
                self._start_at = max(when - self._pre, self._last_end)

    def finish(self) -> None:
        """End the clip in progress at the next packet (thread-safe)."""
        with self._lock:
            self._until = 0.0
            self._start_at = None

    # -- the source's thread -------------------------------------------------------------

    def on_open(self, info: StreamInfo) -> None:
        """A new connection: the pre-buffer starts over."""
        self._close_clip("reconnect")
        self._info = info
        self._buffer.clear()

    def on_packet(self, packet: Packet[Stream]) -> None:
        """Buffer the packet, and write it when a clip is being recorded."""
        info = self._info
        if info is None:
            return
        now = time.time()
        start_at: float | None = None
        with self._lock:
            self._buffer.seconds = self._pre
            until, max_file = self._until, self._max_file_duration
            if self._recorder is None and self._start_at is not None:
                start_at, self._start_at = self._start_at, None
                self._open = now <= until  # else the event ended before any packet came
            closing = self._recorder is not None and now >= until
            if closing:  # decided under the lock: a trigger from now on starts a new clip
                self._open, self._last_end = False, self._now
        video = packet.stream is info.video_stream
        self._buffer.push(now, packet, video and packet.is_keyframe)
        if start_at is not None and now <= until:
            self._start_clip(info, start_at, max_file)
        elif closing:
            self._close_clip("event over")
        elif self._recorder is not None:
            self._now = now
            self._recorder.on_packet(packet)

    def on_close(self, reason: str) -> None:
        """End of the connection: finish the clip (a later trigger starts a new one)."""
        self._close_clip(reason)
        self._info = None
        self._buffer.clear()

    def _start_clip(self, info: StreamInfo, start_at: float, max_file: float) -> None:
        recorder = SegmentRecorder(
            self.stream_name,
            self._root,
            segment_duration=max_file,
            record_audio=self._record_audio,
            on_segment_open=self._callbacks[0],
            on_segment_close=self._callbacks[1],
            clock=lambda: datetime.fromtimestamp(self._now, UTC),
        )
        recorder.on_open(info)
        self._recorder = recorder
        self.clips += 1
        replay = self._buffer.since(start_at)
        _LOGGER.debug("%s: event clip from %d buffered packets", self.stream_name, len(replay))
        for arrival, packet in replay:
            self._now = arrival
            recorder.on_packet(packet)

    def _close_clip(self, reason: str) -> None:
        recorder, self._recorder = self._recorder, None
        with self._lock:
            if self._open:
                self._last_end = self._now
            self._open = False
        if recorder is None:
            return
        recorder.on_close(reason)
        recorder.close()
