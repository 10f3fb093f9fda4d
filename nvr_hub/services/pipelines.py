"""Per-stream media pipelines: one camera connection each, fanned out to consumers.

The media threads never touch the database: they hand segment and status events to the
event loop with `call_soon_threadsafe`, where one writer task turns them into rows and
bus events in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from nvr_hub.bus import (
    EventBus,
    RecordingFinished,
    RecordingStarted,
    StreamsChanged,
    StreamStatusChanged,
)
from nvr_hub.config import Config
from nvr_hub.errors import BadRequest
from nvr_hub.media import PacketConsumer, SegmentInfo, SegmentRecorder, StreamInfo, StreamSource
from nvr_hub.media.demo import is_demo_url, parse_demo_url
from nvr_hub.media.heap import TRIM_INTERVAL, HeapTrimmer
from nvr_hub.media.recorder import SegmentCallback
from nvr_hub.services.recordings import RecordingService
from nvr_hub.services.snapshots import SnapshotService
from nvr_hub.services.streams import StreamService
from nvr_hub.services.sync import repair_open_rows, sync_files
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Recording, Stream, utcnow
from nvr_hub.tasks import cancel_and_wait

_LOGGER = logging.getLogger(__name__)

# Builds an extra consumer for a stream's pipeline (motion detection, say); None = not needed.
ConsumerFactory = Callable[[Stream], PacketConsumer | None]


@dataclass(frozen=True)
class PipelineSpec:
    """The stream fields a running pipeline depends on; a change restarts it."""

    name: str
    url: str
    protocol: int
    record: bool
    segment_duration: int
    record_audio: bool
    detection_based_recording: bool  # swaps continuous recording for event recording

    @classmethod
    def of(cls, stream: Stream) -> PipelineSpec:
        """The spec of a stored stream."""
        return cls(
            stream.name,
            stream.url,
            stream.protocol,
            stream.record,
            stream.segment_duration,
            stream.record_audio,
            stream.detection_based_recording,
        )


class _InfoObserver:
    """A consumer that reports what the camera really sends (size, fps, codec)."""

    def __init__(self, manager: PipelineManager, name: str) -> None:
        self._manager = manager
        self._name = name

    def on_open(self, info: StreamInfo) -> None:
        self._manager.post(self._manager._observed, self._name, info)

    def on_packet(self, packet: object) -> None:
        """Nothing to do per packet."""

    def on_close(self, reason: str) -> None:
        """Nothing to do at the end."""


@dataclass
class _Pipeline:
    spec: PipelineSpec
    source: StreamSource
    recorder: SegmentRecorder | None


class PipelineManager:
    """Starts, restarts and stops each enabled stream's pipeline as streams change."""

    def __init__(
        self,
        config: Config,
        sessionmaker: SessionMaker,
        bus: EventBus,
        streams: StreamService,
        recordings: RecordingService,
        snapshots: SnapshotService,
    ) -> None:
        self._config = config
        self._sm = sessionmaker
        self._bus = bus
        self._streams = streams
        self._recordings = recordings
        self._snapshots = snapshots
        self._factories: list[ConsumerFactory] = []
        self._pipelines: dict[str, _Pipeline] = {}
        self._status: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        # (open|close, segment, capture method)
        self._queue: asyncio.Queue[tuple[str, SegmentInfo, str]] = asyncio.Queue()
        self._row_ids: dict[str, int] = {}  # relative path -> row id of open segments
        self._writer: asyncio.Task[None] | None = None
        self._trimmer: asyncio.Task[None] | None = None
        self._unsubs: list[Any] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- hooks for live view, motion and integrations -------------------------------------

    def add_consumer_factory(self, factory: ConsumerFactory) -> None:
        """Attach a consumer to every pipeline started from now on (call before `start`)."""
        self._factories.append(factory)

    def segment_callbacks(self, capture_method: str) -> tuple[SegmentCallback, SegmentCallback]:
        """(on open, on close) for a recorder whose segments become rows of `capture_method`."""
        return (
            lambda info: self.post(self._queue.put_nowait, ("open", info, capture_method)),
            lambda info: self.post(self._queue.put_nowait, ("close", info, capture_method)),
        )

    def source(self, name: str) -> StreamSource | None:
        """The running source of a stream, to add or remove consumers on demand."""
        pipe = self._pipelines.get(name)
        return pipe.source if pipe else None

    # -- queries -------------------------------------------------------------------------

    def status(self, stream: Stream) -> str:
        """The live status of a stream as the API shows it."""
        if not stream.enabled:
            return "disabled"
        return self._status.get(stream.name, "connecting")

    def stats(self, name: str) -> dict[str, Any]:
        """Live figures of one stream's pipeline."""
        pipe = self._pipelines.get(name)
        if pipe is None:
            return {"running": False}
        stats = pipe.source.stats
        current = pipe.recorder.current if pipe.recorder else None
        return {
            "running": True,
            "packets": stats.packets,
            "bytes": stats.bytes,
            "dropped": stats.dropped,
            "reconnects": stats.reconnects,
            "recording": current is not None,
            "current_segment_start": current.start_time.isoformat() if current else None,
        }

    def connected_count(self) -> int:
        """How many streams are connected right now."""
        return sum(1 for n in self._pipelines if self._status.get(n) == "connected")

    def failing(self) -> list[str]:
        """Running streams that are not connected."""
        return [n for n in self._pipelines if self._status.get(n) in ("error", "reconnecting")]

    # -- thread → loop -------------------------------------------------------------------

    def post(self, func: Any, *args: Any) -> None:
        """Run `func(*args)` on the event loop; safe from any thread, a no-op after stop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(func, *args)
            except RuntimeError:
                pass  # the loop closed between the check and the call

    def _observed(self, name: str, info: StreamInfo) -> None:
        values = {"width": info.width, "height": info.height, "codec": info.codec}
        if info.fps:
            values["fps"] = round(info.fps)
        task = asyncio.get_running_loop().create_task(self._streams.observe(name, **values))
        self._background(task)

    def _status_changed(self, name: str, status: str, detail: str | None) -> None:
        if name not in self._pipelines:
            return
        self._status[name] = status
        self._bus.publish(StreamStatusChanged(stream=name, status=status, detail=detail))

    def _background(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Repair rows a crash left open, then start every enabled stream."""
        self._loop = asyncio.get_running_loop()
        repaired = await repair_open_rows(self._sm, self._recordings.root)
        if repaired:
            _LOGGER.warning("Repaired %d recordings left open by an unclean stop", repaired)
        self._writer = self._loop.create_task(self._write_rows())
        # Finding libc runs `ldconfig -p` (a subprocess): off the loop.
        heap = await asyncio.to_thread(HeapTrimmer)
        if heap.available:
            self._trimmer = self._loop.create_task(self._trim_heap(heap))
        self._unsubs.append(self._bus.subscribe((StreamsChanged,), self._on_change))
        async with self._lock:
            for stream in await self._streams.all():
                if stream.enabled and stream.name not in self._pipelines:
                    await self._start(stream)

    async def stop(self) -> None:
        """Stop every pipeline (finishing open segments), then the row writer."""
        for unsub in self._unsubs:
            await unsub()
        self._unsubs.clear()
        if self._trimmer is not None:
            await cancel_and_wait(self._trimmer)
            self._trimmer = None
        names = list(self._pipelines)
        await asyncio.gather(*(self._stop(name) for name in names))
        if self._writer is not None:
            await self._queue.join()
            await cancel_and_wait(self._writer)
        for task in list(self._tasks):
            try:
                await task
            except Exception:
                _LOGGER.exception("Background task failed during stop")
        self._loop = None

    async def _start(self, stream: Stream) -> None:
        name = stream.name
        if name in self._pipelines:
            # Never two connections for one camera, never a source left running unowned.
            await self._stop(name)
        spec = PipelineSpec.of(stream)
        source = StreamSource(
            name,
            stream.url,
            protocol=stream.protocol,
            on_status=lambda status, detail: self.post(self._status_changed, name, status, detail),
        )
        recorder = None
        if stream.record and not stream.detection_based_recording:
            recorder = SegmentRecorder(
                name,
                self._recordings.root,
                segment_duration=stream.segment_duration,
                record_audio=stream.record_audio,
                on_segment_open=lambda info: self.post(
                    self._queue.put_nowait, ("open", info, "continuous")
                ),
                on_segment_close=lambda info: self.post(
                    self._queue.put_nowait, ("close", info, "continuous")
                ),
            )
            source.add_consumer(recorder)
        source.add_consumer(_InfoObserver(self, name))
        source.add_consumer(self._snapshots.keeper_for(name))
        for factory in self._factories:
            consumer = factory(stream)
            if consumer is not None:
                source.add_consumer(consumer)
        self._pipelines[name] = _Pipeline(spec, source, recorder)
        self._status[name] = "connecting"
        source.start()
        _LOGGER.info("Started stream %s (%s)", name, source.url)

    async def _stop(self, name: str) -> None:
        pipe = self._pipelines.pop(name, None)
        self._status.pop(name, None)
        if pipe is None:
            return
        # Joining the thread blocks; the recorder finishes its segment on the way out.
        await asyncio.to_thread(pipe.source.stop)
        self._snapshots.forget(name)
        _LOGGER.info("Stopped stream %s", name)

    async def _on_change(self, event: StreamsChanged) -> None:
        async with self._lock:
            if event.action == "deleted":
                await self._stop(event.stream)
                return
            if event.old_name:
                await self._stop(event.old_name)
            try:
                stream = await self._streams.get(event.stream)
            except Exception:
                return  # deleted again in the meantime
            pipe = self._pipelines.get(stream.name)
            if not stream.enabled:
                await self._stop(stream.name)
            elif pipe is None:
                await self._start(stream)
            elif pipe.spec != PipelineSpec.of(stream):
                await self._stop(stream.name)
                await self._start(stream)

    async def refresh(self, name: str) -> None:
        """Force a reconnect of one stream."""
        pipe = self._pipelines.get(name)
        if pipe is not None:
            pipe.source.refresh()

    async def _trim_heap(self, heap: HeapTrimmer) -> None:
        """Give the camera threads' freed heap back to the OS every TRIM_INTERVAL."""
        while True:
            await asyncio.sleep(TRIM_INTERVAL)
            if self._pipelines:
                await asyncio.to_thread(heap.trim)

    # -- rows ----------------------------------------------------------------------------

    async def _write_rows(self) -> None:
        while True:
            kind, info, method = await self._queue.get()
            try:
                if kind == "open":
                    await self._row_opened(info, method)
                else:
                    await self._row_closed(info)
            except Exception:
                _LOGGER.exception("Could not record the %s of segment %s", kind, info.relative_path)
            finally:
                self._queue.task_done()

    async def _row_opened(self, info: SegmentInfo, capture_method: str) -> None:
        self._recordings.open_paths.add(info.relative_path)
        rec = Recording(
            stream_name=info.stream_name,
            path=info.relative_path,
            start_time=info.start_time,
            width=info.width,
            height=info.height,
            codec=info.codec,
            is_complete=False,
            capture_method=capture_method,
            has_detection=capture_method != "continuous",  # event clips exist for a detection
        )
        async with self._sm() as s, s.begin():
            s.add(rec)
        self._row_ids[info.relative_path] = rec.id
        self._bus.publish(
            RecordingStarted(
                stream=info.stream_name, recording_id=rec.id, start_time=info.start_time
            )
        )

    async def _row_closed(self, info: SegmentInfo) -> None:
        rec_id = self._row_ids.pop(info.relative_path, None)
        end = info.end_time or utcnow()
        async with self._sm() as s, s.begin():
            rec = (
                await s.get(Recording, rec_id)
                if rec_id is not None
                else await s.scalar(select(Recording).where(Recording.path == info.relative_path))
            )
            if rec is None:
                _LOGGER.warning(
                    "No row for finished segment %s; sync will add it", info.relative_path
                )
                return
            rec.end_time = end
            rec.duration = info.duration
            rec.size_bytes = info.size_bytes
            rec.width, rec.height, rec.codec = info.width, info.height, info.codec
            rec.is_complete = True
            rec_id = rec.id
        self._recordings.open_paths.discard(info.relative_path)
        self._bus.publish(
            RecordingFinished(
                stream=info.stream_name,
                recording_id=rec_id,
                start_time=info.start_time,
                end_time=end,
                duration=info.duration,
                size_bytes=info.size_bytes,
            )
        )

    # -- maintenance ---------------------------------------------------------------------

    async def probe(self, url: str, protocol: int) -> dict[str, Any]:
        """Open a URL with PyAV for at most 10 s and report what it carries."""
        if is_demo_url(url):
            demo = parse_demo_url(url)
            return {
                "codec": "h264",
                "width": demo.width,
                "height": demo.height,
                "fps": demo.fps,
                "audio_codec": None,
            }
        from nvr_hub.services.probe import probe_url

        return await probe_url(url, protocol)

    async def delete_recordings(self, name: str) -> int:
        """Delete every finished recording of a stream; returns how many."""
        async with self._sm() as s:
            recs = list(
                (await s.scalars(select(Recording).where(Recording.stream_name == name))).all()
            )
        return await self._recordings.remove(recs)

    async def sync_recordings(self) -> dict[str, int]:
        """Reconcile rows and files (rows for new files, drop rows whose file vanished)."""
        if not await asyncio.to_thread(self._recordings.root.exists):
            raise BadRequest("the recordings folder does not exist yet")
        names = [s.name for s in await self._streams.all()]
        return await sync_files(self._sm, self._recordings.root, names, self._recordings.open_paths)
