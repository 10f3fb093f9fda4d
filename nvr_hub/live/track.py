"""RelayTrack: one viewer's H.264 track, fed by the stream's LiveFeed without re-encoding."""

from __future__ import annotations

import asyncio
import logging
import time

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.packet import Packet
from av.stream import Stream

from .feed import CLOCK_RATE, LiveFeed, LiveFrame

_LOGGER = logging.getLogger(__name__)

# A viewer this many frames behind (a stalled network) skips to the next keyframe.
MAX_QUEUE = 300
# Frames of the kept GOP are replayed this far apart (in 90 kHz ticks, 1 ms), ending on
# the newest one's own timestamp, so the decoder catches up at once and the picture is
# live from the first frame instead of trailing by the age of the GOP.
BURST_STEP = CLOCK_RATE // 1000


class RelayTrack(MediaStreamTrack):
    """Hands aiortc the feed's encoded frames; aiortc only packetizes them (no encoder)."""

    kind = "video"

    def __init__(self, feed: LiveFeed) -> None:
        super().__init__()
        self._feed = feed
        self._queue: asyncio.Queue[Packet[Stream] | None] = asyncio.Queue()
        self._last_seq = -1
        self._synced = False  # False: waiting for a keyframe
        self.frames_sent = 0
        self.first_frame_time: float | None = None  # monotonic, when aiortc took it
        self.last_sent: float | None = None
        self.skips = 0
        self._start(feed.subscribe(self))

    def _start(self, backlog: list[LiveFrame]) -> None:
        if not backlog or not backlog[0].keyframe:
            return
        newest = backlog[-1]
        assert newest.packet.pts is not None
        count = len(backlog)
        for index, frame in enumerate(backlog):
            if index == count - 1:
                packet = frame.packet
            else:
                # A copy with its own timestamp: the shared packet stays untouched.
                packet = av.Packet(bytes(frame.packet))
                packet.pts = packet.dts = newest.packet.pts - (count - 1 - index) * BURST_STEP
                packet.time_base = frame.packet.time_base
            self._queue.put_nowait(packet)
        self._last_seq = newest.seq
        self._synced = True

    def push(self, frame: LiveFrame) -> None:
        """Queue one live frame (called on the loop by the feed)."""
        if frame.seq <= self._last_seq or self.readyState != "live":
            return  # already had it in the backlog
        self._last_seq = frame.seq
        if self._queue.qsize() >= MAX_QUEUE:
            self._drain()
            self._synced = False
            self.skips += 1
            _LOGGER.debug(
                "%s: a viewer fell behind; skipping to the next keyframe", self._feed.name
            )
        if not self._synced:
            if not frame.keyframe:
                return
            self._synced = True
        self._queue.put_nowait(frame.packet)

    async def recv(self) -> Packet[Stream]:
        """The next encoded frame; raises MediaStreamError once stopped."""
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        self.last_sent = time.monotonic()
        if self.first_frame_time is None:
            self.first_frame_time = self.last_sent
        self.frames_sent += 1
        return packet

    def stop(self) -> None:
        """Leave the feed and end the track."""
        self._feed.unsubscribe(self)
        if self.readyState == "live":
            self._drain()
            self._queue.put_nowait(None)
        super().stop()

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()


class AudioRelayTrack(MediaStreamTrack):
    """One viewer's audio: the feed's RTP-ready packets (G.711 as is, or shared Opus)."""

    kind = "audio"

    def __init__(self, feed: LiveFeed) -> None:
        super().__init__()
        self._feed = feed
        self._queue: asyncio.Queue[Packet[Stream] | None] = asyncio.Queue()
        feed.subscribe_audio(self)

    def push(self, packet: Packet[Stream]) -> None:
        """Queue one packet; a viewer this far behind loses the oldest audio."""
        if self.readyState != "live":
            return
        if self._queue.qsize() >= MAX_QUEUE:
            self._queue.get_nowait()
        self._queue.put_nowait(packet)

    async def recv(self) -> Packet[Stream]:
        """The next encoded audio packet; raises MediaStreamError once stopped."""
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        """Leave the feed and end the track."""
        self._feed.unsubscribe_audio(self)
        if self.readyState == "live":
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)
        super().stop()
