"""Shared bits of the motion tests: waiting, bus recording, zones over the demo picture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nvr_hub import keys
from nvr_hub.bus import Event, MotionEnded, MotionStarted, ObjectDetected, StreamStatusChanged
from tests.conftest import Hub


async def wait_for(
    predicate: Callable[[], Awaitable[Any]], within: float, what: str, step: float = 0.1
) -> Any:
    """Poll an async predicate until it returns something truthy."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(step)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


@dataclass
class BusLog:
    """Every motion-related bus event, in order."""

    events: list[Event] = field(default_factory=list)

    def append(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event], stream: str) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and e.stream == stream]

    def connected_at(self, stream: str) -> datetime | None:
        for e in self.of(StreamStatusChanged, stream):
            if e.status == "connected":
                return e.time  # type: ignore[no-any-return]
        return None


async def record_bus(hub: Hub) -> tuple[BusLog, Callable[[], Awaitable[None]]]:
    """Start logging bus events; returns the log and the unsubscribe."""
    log = BusLog()
    kinds = (StreamStatusChanged, MotionStarted, MotionEnded, ObjectDetected)
    return log, hub.app[keys.BUS].subscribe(kinds, log.append)


def rect(x0: float, y0: float, x1: float, y1: float, **extra: Any) -> dict[str, Any]:
    """A rectangular zone body."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    zone = {"name": f"zone {x0}-{y0}", "polygon": [{"x": x, "y": y} for x, y in corners]}
    zone.update(extra)
    return zone


async def add_stream(
    hub: Hub,
    body: dict[str, Any],
    zones: list[dict[str, Any]],
    motion: dict[str, Any] | None = None,
) -> None:
    """Add a stream disabled, give it zones (and a motion config), then enable it.

    So the zones and the pre-buffer hold from the first frame.
    """
    resp = await hub.client.post("/api/streams", json={**body, "enabled": False})
    assert resp.status == 201, await resp.text()
    if zones:
        resp = await hub.client.post(f"/api/streams/{body['name']}/zones", json={"zones": zones})
        assert resp.status == 200, await resp.text()
    if motion is not None:
        resp = await hub.client.post(f"/api/motion/config/{body['name']}", json=motion)
        assert resp.status == 200, await resp.text()
    resp = await hub.client.put(f"/api/streams/{body['name']}", json={"enabled": True})
    assert resp.status == 200, await resp.text()
