"""Live HLS per stream: started by the first request, stopped after a minute without one."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nvr_hub.errors import BadRequest, NotFound, Unavailable
from nvr_hub.tasks import cancel_and_wait

from .feed import LiveFeed
from .hls import HlsSegmenter, Segment

_LOGGER = logging.getLogger(__name__)

IDLE_SECONDS = 60.0  # no playlist or segment request this long: stop remuxing
START_TIMEOUT = 15.0  # a first playlist waits this long for a first segment
REAP_INTERVAL = 5.0
PLAYLIST = "index.m3u8"
_SEGMENT = re.compile(r"segment(\d{1,12})\.ts")
# Anything that could reach outside the stream's folder, or is no plain file name.
_TRICKS = re.compile(r"[/\\\x00]|\.\.|^\.|%")


def segment_number(filename: str) -> int:
    """The number in `segment<N>.ts`; 400 for path tricks, 404 for any other name."""
    if _TRICKS.search(filename):
        raise BadRequest("invalid file name")
    match = _SEGMENT.fullmatch(filename)
    if match is None:
        raise NotFound("no such file")
    return int(match.group(1))


@dataclass(eq=False)
class _Live:
    feed: LiveFeed
    segmenter: HlsSegmenter
    ready: asyncio.Event
    last_request: float = field(default_factory=time.monotonic)


class HlsService:
    """Runs one in-memory segmenter per watched stream, fed from the stream's LiveFeed."""

    def __init__(
        self, feed_of: Callable[[str], LiveFeed | None], *, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        self._feed_of = feed_of
        self.idle_seconds = idle_seconds
        self.start_timeout = START_TIMEOUT
        self._live: dict[str, _Live] = {}
        self._reaper: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the task that stops unwatched streams."""
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def stop(self) -> None:
        """Stop the reaper and every segmenter."""
        await cancel_and_wait(self._reaper)
        self._reaper = None
        for name in list(self._live):
            await self._stop(name, "hub stopping")

    def running(self) -> list[str]:
        """Streams whose live HLS is running."""
        return sorted(self._live)

    def health(self) -> dict[str, Any]:
        """Which streams have live HLS running and the age of their newest segment."""
        now = time.time()
        streams = []
        for name, live in sorted(self._live.items()):
            newest = live.segmenter.newest()
            streams.append(
                {
                    "name": name,
                    "running": True,
                    "segments": live.segmenter.count(),
                    "newest_segment_age": round(now - newest.finished, 3) if newest else None,
                    "idle_seconds": round(time.monotonic() - live.last_request, 3),
                }
            )
        return {"status": "ok", "streams": streams}

    async def playlist(self, stream: str) -> str:
        """The stream's live playlist, starting live HLS if needed (waits for a first segment)."""
        live = self._ensure(stream)
        if not live.ready.is_set():
            try:
                await asyncio.wait_for(live.ready.wait(), self.start_timeout)
            except TimeoutError as err:
                raise Unavailable(f"no video from stream '{stream}' yet") from err
        text = live.segmenter.playlist()
        if text is None:
            raise Unavailable(f"no video from stream '{stream}' yet")
        return text

    def segment(self, stream: str, sequence: int) -> Segment:
        """One kept segment of a running live HLS stream."""
        live = self._live.get(stream)
        if live is None:
            raise NotFound(f"live HLS of '{stream}' is not running; ask for {PLAYLIST} first")
        live.last_request = time.monotonic()
        found = live.segmenter.segment(sequence)
        if found is None:
            raise NotFound("no such segment (it may have left the live window)")
        return found

    def _ensure(self, stream: str) -> _Live:
        feed = self._feed_of(stream)
        if feed is None:
            raise Unavailable(f"stream '{stream}' is not running")
        live = self._live.get(stream)
        if live is not None and live.feed is not feed:
            # The stream was replaced (renamed, say): start over on the new feed.
            live.feed.detach(live.segmenter)
            live.segmenter.close()
            live = None
        if live is None:
            loop = asyncio.get_running_loop()
            ready = asyncio.Event()

            def notify() -> None:
                try:
                    loop.call_soon_threadsafe(ready.set)
                except RuntimeError:
                    pass  # the loop closed

            live = _Live(feed, HlsSegmenter(stream, notify), ready)
            self._live[stream] = live
            feed.attach(live.segmenter)
            _LOGGER.info("Live HLS started for %s", stream)
        live.last_request = time.monotonic()
        return live

    async def _stop(self, name: str, reason: str) -> None:
        live = self._live.pop(name, None)
        if live is None:
            return
        live.feed.detach(live.segmenter)
        # Waits for a packet being muxed on the camera thread, so not on the loop.
        await asyncio.to_thread(live.segmenter.close)
        _LOGGER.info("Live HLS stopped for %s (%s)", name, reason)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL)
            try:
                await self.reap()
            except Exception:
                _LOGGER.exception("Live HLS reaper failed")

    async def reap(self) -> None:
        """Stop live HLS of streams nobody asked for lately, or that stopped."""
        now = time.monotonic()
        for name, live in list(self._live.items()):
            if self._feed_of(name) is not live.feed:
                await self._stop(name, "the stream stopped")
            elif now - live.last_request > self.idle_seconds:
                await self._stop(name, f"no viewer for {self.idle_seconds:.0f} s")
