"""LiveService: the live view of every stream (WebRTC and HLS) over one feed per stream."""

from __future__ import annotations

import asyncio
from typing import Any

from nvr_hub.media import PacketConsumer
from nvr_hub.services.pipelines import PipelineManager
from nvr_hub.services.settings import SettingsService
from nvr_hub.storage.models import Stream

from .feed import LiveFeed
from .hls_service import HlsService
from .webrtc import WebRtcService


class LiveService:
    """Owns the per-stream feeds and the WebRTC and HLS services built on them."""

    def __init__(self, pipelines: PipelineManager, settings: SettingsService) -> None:
        self._pipelines = pipelines
        self._feeds: dict[str, LiveFeed] = {}
        self.webrtc = WebRtcService(settings, self.feed)
        self.hls = HlsService(self.feed)
        pipelines.add_consumer_factory(self._consumer_for)

    def _consumer_for(self, stream: Stream) -> PacketConsumer | None:
        # Runs on the loop when a pipeline starts. The feed survives pipeline restarts
        # (a settings change, say), so viewers carry on through them.
        feed = self._feeds.get(stream.name)
        if feed is None:
            feed = LiveFeed(stream.name, asyncio.get_running_loop())
            self._feeds[stream.name] = feed
        return feed

    def feed(self, name: str) -> LiveFeed | None:
        """The feed of a running stream; None if the stream is not running."""
        if self._pipelines.source(name) is None:
            return None
        return self._feeds.get(name)

    def start(self) -> None:
        """Start the watchdogs."""
        self.webrtc.start()
        self.hls.start()

    async def stop(self) -> None:
        """Close every viewer and stop live HLS."""
        await self.webrtc.stop()
        await self.hls.stop()

    def hls_health(self) -> dict[str, Any]:
        """What `/api/health/hls` reports."""
        return self.hls.health()
