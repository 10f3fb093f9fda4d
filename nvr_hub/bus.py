"""A typed in-process publish/subscribe hub of frozen event dataclasses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nvr_hub.storage.models import utcnow
from nvr_hub.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every bus event."""

    time: datetime = field(default_factory=utcnow, kw_only=True)


@dataclass(frozen=True)
class StreamStatusChanged(Event):
    """A stream's connection status changed."""

    stream: str
    status: str
    detail: str | None = None


@dataclass(frozen=True)
class StreamsChanged(Event):
    """A stream was added, updated or deleted through the API (`action`: added/updated/deleted)."""

    stream: str
    action: str
    old_name: str | None = None


@dataclass(frozen=True)
class RecordingStarted(Event):
    """A segment file was opened."""

    stream: str
    recording_id: int
    start_time: datetime


@dataclass(frozen=True)
class RecordingFinished(Event):
    """A segment file was closed and its row completed."""

    stream: str
    recording_id: int
    start_time: datetime
    end_time: datetime
    duration: float
    size_bytes: int


@dataclass(frozen=True)
class MotionStarted(Event):
    """Motion began on a stream."""

    stream: str
    boxes: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class MotionEnded(Event):
    """Motion ended on a stream after its quiet time."""

    stream: str


@dataclass(frozen=True)
class ObjectDetected(Event):
    """An object detector reported something."""

    stream: str
    label: str
    confidence: float
    box: tuple[float, float, float, float]
    zone: str = ""


@dataclass(frozen=True)
class SnapshotTaken(Event):
    """A JPEG snapshot of a stream is available."""

    stream: str
    jpeg: bytes = field(repr=False)


@dataclass(frozen=True)
class SettingsChanged(Event):
    """Runtime settings were written (`keys` names which)."""

    keys: tuple[str, ...]


Handler = Callable[[Any], Awaitable[None] | None]


class _Subscriber:
    """One subscriber with its own bounded queue, so a slow one never blocks publishers."""

    def __init__(self, types: tuple[type[Event], ...], handler: Handler, maxsize: int) -> None:
        self.types = types
        self.handler = handler
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                result = self.handler(event)
                if result is not None:
                    await result
            except Exception:
                _LOGGER.exception("Bus subscriber %s failed on %s", self.handler, event)


class EventBus:
    """Publish events from the loop (or from threads via `publish_threadsafe`)."""

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def subscribe(
        self, types: tuple[type[Event], ...], handler: Handler, maxsize: int = 1000
    ) -> Callable[[], Awaitable[None]]:
        """Call `handler` for each event of `types`; returns an async unsubscribe."""
        sub = _Subscriber(types, handler, maxsize)
        self._loop = asyncio.get_running_loop()
        sub.task = self._loop.create_task(sub.run())
        self._subscribers.append(sub)

        async def unsubscribe() -> None:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
            await cancel_and_wait(sub.task)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Queue `event` for every matching subscriber; never blocks."""
        for sub in self._subscribers:
            if isinstance(event, sub.types):
                try:
                    sub.queue.put_nowait(event)
                except asyncio.QueueFull:
                    sub.dropped += 1
                    _LOGGER.warning("Bus subscriber %s is behind; event dropped", sub.handler)

    def publish_threadsafe(self, loop: asyncio.AbstractEventLoop, event: Event) -> None:
        """Publish from a worker thread."""
        loop.call_soon_threadsafe(self.publish, event)

    async def close(self) -> None:
        """Cancel every subscriber task and wait for them."""
        subs, self._subscribers = self._subscribers, []
        await cancel_and_wait(*(sub.task for sub in subs))
