"""Timed work of the bridge: stats every `stats_interval`, snapshots every `snapshot_interval`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from integrations.mqtt import payloads
from integrations.mqtt.topics import Message
from nvr_hub import __version__
from nvr_hub.errors import NotFound, Unavailable
from nvr_hub.storage.models import Recording, utcnow

if TYPE_CHECKING:
    from integrations.mqtt.bridge import Bridge

_LOGGER = logging.getLogger(__name__)


class Periodic:
    """Runs the bridge's timers and its snapshot grabs (one at a time per stream)."""

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge
        self._loops: list[asyncio.Task[None]] = []
        self._grabs: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        """Start the loops whose interval is not 0."""
        options = self._bridge.options
        loop = asyncio.get_running_loop()
        if options.stats_interval > 0:
            self._loops.append(loop.create_task(self._every(options.stats_interval, self.stats)))
        if options.snapshot_interval > 0:
            self._loops.append(
                loop.create_task(self._every(options.snapshot_interval, self._snapshots))
            )

    async def restart(self) -> None:
        """Pick up changed intervals."""
        await self._cancel(self._loops)
        self._loops.clear()
        self.start()

    async def stop(self) -> None:
        """Cancel the loops and any snapshot in progress."""
        await self._cancel([*self._loops, *self._grabs.values()])
        self._loops.clear()
        self._grabs.clear()

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, seconds: int, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await job()
            except Exception:
                _LOGGER.exception("MQTT periodic job %s failed", job.__name__)
            await asyncio.sleep(seconds)

    # -- snapshots -----------------------------------------------------------------------

    async def _snapshots(self) -> None:
        pipelines = self._bridge.hub.pipelines
        for name in list(self._bridge.streams):
            if pipelines.source(name) is not None:
                self.snapshot(name)

    def snapshot(self, name: str) -> None:
        """Fetch and publish a stream's newest picture, unless a fetch is already running."""
        if name in self._grabs:
            return
        task = asyncio.get_running_loop().create_task(self._grab(name))
        self._grabs[name] = task
        task.add_done_callback(lambda _t: self._grabs.pop(name, None))

    async def _grab(self, name: str) -> None:
        try:
            jpeg = await self._bridge.hub.snapshots.jpeg(name)
        except NotFound:
            return  # not running: nothing to show
        except Unavailable as err:
            _LOGGER.debug("No snapshot of %s for MQTT: %s", name, err)
            return
        except Exception:
            _LOGGER.exception("Snapshot of %s for MQTT failed", name)
            return
        self._bridge.snapshot_ready(name, jpeg)

    # -- stats ---------------------------------------------------------------------------

    async def stats(self) -> None:
        """Publish `{prefix}/stats` and each stream's recordings size."""
        body = json.dumps(await self._collect(), separators=(",", ":")).encode()
        self._bridge.stats = body
        self._bridge.send(Message(self._bridge.topics.stats, body, retain=True))
        await self.refresh_sizes(publish=True)

    async def _collect(self) -> dict[str, Any]:
        hub = self._bridge.hub
        system = hub.system
        machine = await asyncio.to_thread(system.machine)
        counts = await system.counts()
        memory = machine["memory"]
        disk = {k: v for k, v in machine["disk"].items() if k != "path"}
        conn = self._bridge.conn
        return {
            "time": payloads.iso(utcnow()),
            "version": __version__,
            "uptime": system.uptime(),
            "started": payloads.iso(datetime.fromtimestamp(system.started, UTC)),
            "cpu": machine["cpu"],
            "memory": {**memory, "percent": round(100 * memory["used"] / memory["total"], 1)},
            "disk": disk,
            "streams": {**counts["streams"], "connected": hub.pipelines.connected_count()},
            "recordings": counts["recordings"],
            "mqtt": {
                "connects": conn.connects if conn else 0,
                "dropped": conn.dropped if conn else 0,
            },
        }

    async def refresh_sizes(self, publish: bool = False) -> None:
        """Re-read the bytes of recordings of every stream."""
        query = select(
            Recording.stream_name, func.coalesce(func.sum(Recording.size_bytes), 0)
        ).group_by(Recording.stream_name)
        async with self._bridge.hub.sessionmaker() as s:
            sizes = {name: int(size) for name, size in (await s.execute(query)).all()}
        topics = self._bridge.topics
        for st in self._bridge.streams.values():
            size = sizes.get(st.name, 0)
            if publish and size != st.recordings_size:
                self._bridge.send(payloads.size_message(topics, st.name, size))
            st.recordings_size = size
