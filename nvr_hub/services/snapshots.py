"""Snapshots: the latest frame of a stream as JPEG (newest keyframe only), cached for 1 s."""

from __future__ import annotations

import asyncio
import time

from nvr_hub.errors import NotFound, Unavailable
from nvr_hub.media.keyframes import KeyframeKeeper, keyframe_to_jpeg

CACHE_SECONDS = 1.0


class SnapshotService:
    """Serves JPEGs from each running stream's keyframe keeper."""

    def __init__(self) -> None:
        self._keepers: dict[str, KeyframeKeeper] = {}
        self._cache: dict[tuple[str, int | None], tuple[float, bytes]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def keeper_for(self, name: str) -> KeyframeKeeper:
        """The keeper a pipeline attaches to its source (one per stream)."""
        keeper = KeyframeKeeper()
        self._keepers[name] = keeper
        return keeper

    def forget(self, name: str) -> None:
        """The stream stopped or was deleted."""
        self._keepers.pop(name, None)
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]

    async def jpeg(self, name: str, height: int | None = None) -> bytes:
        """The newest picture of a running stream; 503 until its first keyframe."""
        keeper = self._keepers.get(name)
        if keeper is None:
            raise NotFound(f"stream '{name}' is not running")
        key = (name, height)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
                return cached[1]
            latest = keeper.latest()
            if latest is None:
                raise Unavailable(f"no picture from '{name}' yet")
            try:
                data = await asyncio.to_thread(keyframe_to_jpeg, *latest, height)
            except (ValueError, OSError) as err:
                raise Unavailable(f"the latest picture of '{name}' could not be decoded") from err
            self._cache[key] = (time.monotonic(), data)
            return data
