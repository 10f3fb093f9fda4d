"""Motion events: detections become bus messages, clip triggers and rows, in order."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from nvr_hub.bus import EventBus, MotionEnded, MotionStarted, ObjectDetected, SnapshotTaken
from nvr_hub.errors import NvrHubError
from nvr_hub.motion.detector import DetectedObject
from nvr_hub.motion.state import StreamState
from nvr_hub.services.motion_store import MotionStore
from nvr_hub.services.snapshots import SnapshotService
from nvr_hub.storage.models import utcnow

_LOGGER = logging.getLogger(__name__)

MOTION_STORE_SECONDS = 1.0  # motion boxes are stored at most this often per stream
MOTION_BOXES_STORED = 3
MAX_PENDING_WRITES = 10_000

Job = Callable[[], Awaitable[Any]]


class MotionEvents:
    """Opens, extends and ends each stream's event; one writer task stores the rows."""

    def __init__(self, bus: EventBus, store: MotionStore, snapshots: SnapshotService) -> None:
        self._bus = bus
        self._store = store
        self._snapshots = snapshots
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._event_ids: dict[str, int] = {}

    def start(self) -> None:
        """Start the writer task."""
        self._writer = asyncio.get_running_loop().create_task(self._write())

    async def stop(self, grace: float = 10.0) -> None:
        """Write what is pending (for at most `grace` seconds), then stop the writer."""
        try:
            await asyncio.wait_for(self._jobs.join(), grace)
        except TimeoutError:
            _LOGGER.warning("Gave up writing %d motion rows at stop", self._jobs.qsize())
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    def enqueue(self, job: Job) -> None:
        """Run `job` on the writer task, after everything queued before it."""
        if self._jobs.qsize() >= MAX_PENDING_WRITES:
            _LOGGER.warning("Motion rows are not being written fast enough; dropping one")
            return
        self._jobs.put_nowait(job)

    def observe(
        self,
        state: StreamState,
        objects: list[DetectedObject],
        arrival: float,
        jpeg: bytes | None,
        source: str,
        hold: float = 0.0,
    ) -> bool:
        """Detections at `arrival` (time.time()); True if they started an event.

        `hold` keeps the event going that many seconds beyond `arrival` (test events).
        """
        if not objects:
            return False
        name = state.settings.stream
        when = datetime.fromtimestamp(arrival, UTC)
        state.last_seen = max(state.last_seen, arrival + hold)
        started = not state.active
        if started:
            state.begin(when)
            for worker in state.workers():
                worker.event_active = True
            boxes = tuple(o.box for o in objects)
            self._bus.publish(MotionStarted(stream=name, boxes=boxes, time=when))
            if jpeg:
                self._bus.publish(SnapshotTaken(stream=name, jpeg=jpeg, time=when))
            self.enqueue(functools.partial(self._open_event, name, when, source, jpeg))
        state.labels.update(o.label for o in objects)
        state.confidence = max([state.confidence, *(o.confidence for o in objects)])
        for obj in objects:
            if obj.label != "motion":
                self._bus.publish(
                    ObjectDetected(
                        stream=name,
                        label=obj.label,
                        confidence=obj.confidence,
                        box=obj.box,
                        zone=obj.zone,
                        time=when,
                    )
                )
        if source != "motion" or arrival - state.last_stored >= MOTION_STORE_SECONDS:
            state.last_stored = arrival
            keep = objects if source != "motion" else objects[:MOTION_BOXES_STORED]
            self.enqueue(functools.partial(self._store.add_detections, name, when, keep))
        if state.recorder is not None:
            state.recorder.trigger(arrival, arrival + hold + state.settings.post_buffer)
        return started

    def end(self, state: StreamState) -> None:
        """The stream's event is over."""
        name = state.settings.stream
        state.active = False
        for worker in state.workers():
            worker.event_active = False
        now = utcnow()
        self._bus.publish(MotionEnded(stream=name, time=now))
        labels, confidence = set(state.labels), state.confidence
        self.enqueue(functools.partial(self._close_event, name, now, labels, confidence))

    def end_quiet(self, states: list[StreamState], now: float) -> None:
        """End every event whose stream has been quiet long enough by `now` (time.time())."""
        for state in states:
            if state.active and now - state.last_seen >= state.settings.quiet:
                self.end(state)

    async def _open_event(self, name: str, when: datetime, source: str, jpeg: bytes | None) -> None:
        if jpeg is None:  # a test event: the newest keyframe stands in
            try:
                jpeg = await self._snapshots.jpeg(name)
            except NvrHubError:
                jpeg = None
        self._event_ids[name] = await self._store.open_event(name, when, source, jpeg)

    async def _close_event(
        self, name: str, when: datetime, labels: set[str], confidence: float
    ) -> None:
        event_id = self._event_ids.pop(name, None)
        if event_id is not None:
            await self._store.close_event(event_id, when, labels, confidence)

    async def _write(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except Exception:
                _LOGGER.exception("Could not store a motion record")
            finally:
                self._jobs.task_done()
