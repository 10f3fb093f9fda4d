"""The motion service: per-stream analysis and event recording consumers, detector calls.

Media threads never touch the database or the bus: workers hand their findings to the
event loop (`call_soon_threadsafe`); `MotionEvents` turns them into events and rows.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

from nvr_hub.bus import EventBus, RecordingFinished, SettingsChanged, StreamsChanged
from nvr_hub.config import Config
from nvr_hub.errors import NotFound
from nvr_hub.media import PacketConsumer, StreamSource, redact_url
from nvr_hub.motion.api_detector import ApiDetector
from nvr_hub.motion.detector import DetectedObject, DetectionFrame, DetectorError
from nvr_hub.motion.event_recorder import EventRecorder
from nvr_hub.motion.settings import build_settings
from nvr_hub.motion.state import StreamState
from nvr_hub.motion.worker import Analysis, AnalysisWorker
from nvr_hub.motion.zones import motion_zone_of, zone_of
from nvr_hub.services.motion_admin import cleanup
from nvr_hub.services.motion_events import MotionEvents
from nvr_hub.services.motion_store import MotionStore
from nvr_hub.services.pipelines import PipelineManager
from nvr_hub.services.recordings import RecordingService
from nvr_hub.services.settings import SettingsService
from nvr_hub.services.snapshots import SnapshotService
from nvr_hub.services.streams import StreamService
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Stream

_LOGGER = logging.getLogger(__name__)

TICK_SECONDS = 0.25  # how often ended events are looked for
CLEANUP_SECONDS = 3600.0
C = TypeVar("C", AnalysisWorker, EventRecorder)


class MotionService:
    """Runs detection for every stream that wants it and turns findings into events."""

    def __init__(
        self,
        config: Config,
        sessionmaker: SessionMaker,
        bus: EventBus,
        streams: StreamService,
        settings: SettingsService,
        pipelines: PipelineManager,
        recordings: RecordingService,
        snapshots: SnapshotService,
    ) -> None:
        self.store = MotionStore(sessionmaker, recordings, config.storage.path)
        self.streams = streams
        self.settings = settings
        self.recordings = recordings
        self._bus = bus
        self._pipelines = pipelines
        self._recordings_root = recordings.root
        self._snapshots = snapshots
        self.states: dict[str, StreamState] = {}
        self.events = MotionEvents(bus, self.store, snapshots)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._detections: set[asyncio.Task[None]] = set()
        self._unsubs: list[Callable[[], Awaitable[None]]] = []
        self._lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None
        # Pipelines ask for these whenever they start a stream.
        pipelines.add_consumer_factory(self._analysis_consumer)
        pipelines.add_consumer_factory(self._event_consumer)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load every stream's settings, start sub-streams, the writer and the timers."""
        self._loop = asyncio.get_running_loop()
        self._http = aiohttp.ClientSession()
        self.events.start()
        self._tasks = [
            self._loop.create_task(self._tick()),
            self._loop.create_task(self._cleanup_loop()),
        ]
        self._unsubs = [
            self._bus.subscribe((StreamsChanged,), self._on_stream_change),
            self._bus.subscribe((SettingsChanged,), self._on_settings_change),
            self._bus.subscribe((RecordingFinished,), self._on_recording_finished),
        ]
        await self.reconcile_all()

    async def stop(self) -> None:
        """Stop sub-streams and timers, let pending rows be written, close connections."""
        for unsub in self._unsubs:
            await unsub()
        self._unsubs.clear()
        for state in self.states.values():
            if state.sub_source is not None:
                await asyncio.to_thread(state.sub_source.stop)
                state.sub_source = state.sub_worker = None
        for task in list(self._detections):
            task.cancel()
        await asyncio.gather(*self._detections, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for state in self.states.values():
            if state.active:
                self.events.end(state)
        await self.events.stop()
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._loop = None

    # -- consumers for pipelines (called on the loop when a pipeline starts) --------------

    def _state_for(self, stream: Stream) -> StreamState:
        state = self.states.get(stream.name)
        api_url = str(self.settings.get("detection_api_url"))
        if state is None:
            state = StreamState(build_settings(stream, [], None, api_url))
            self.states[stream.name] = state
        else:
            state.settings = build_settings(stream, state.zones, state.config, api_url)
        state.stream_id = stream.id
        return state

    def _analysis_consumer(self, stream: Stream) -> PacketConsumer | None:
        state = self._state_for(stream)
        state.worker = state.worker_source = None
        if not state.settings.analysing or state.settings.sub_stream_url:
            return None
        state.worker = AnalysisWorker(state.settings, self._sink)
        return state.worker

    def _event_consumer(self, stream: Stream) -> PacketConsumer | None:
        state = self._state_for(stream)
        state.recorder = state.recorder_source = None
        if not state.settings.event_recording:
            return None
        state.recorder = self._new_recorder(state)
        return state.recorder

    def _new_recorder(self, state: StreamState) -> EventRecorder:
        s = state.settings
        on_open, on_close = self._pipelines.segment_callbacks(s.capture_method)
        return EventRecorder(
            s.stream,
            self._recordings_root,
            pre_buffer=s.pre_buffer,
            max_file_duration=s.max_file_duration,
            record_audio=s.record_audio,
            on_segment_open=on_open,
            on_segment_close=on_close,
        )

    # -- keeping consumers in line with the settings -------------------------------------

    async def reconcile_all(self) -> None:
        """Bring every stream's detection in line with its settings."""
        names = {s.name for s in await self.streams.all()} | set(self.states)
        for name in names:
            await self.reconcile(name)

    async def reconcile(self, name: str) -> None:
        """Reload one stream's settings and attach, configure or detach its consumers."""
        async with self._lock:
            try:
                stream = await self.streams.get(name)
                zones = await self.streams.zones(name)
            except NotFound:
                state = self.states.pop(name, None)
                if state is not None and state.active:
                    self.events.end(state)
                if state is not None and state.sub_source is not None:
                    await asyncio.to_thread(state.sub_source.stop)
                return
            config = await self.store.config(stream.id)
            state = self._state_for(stream)
            state.zones, state.config = zones, config
            state.settings = s = build_settings(
                stream, zones, config, str(self.settings.get("detection_api_url"))
            )
            source = self._pipelines.source(name)
            main_analysis = s.analysing and not s.sub_stream_url
            state.worker, state.worker_source = self._attach(
                state.worker, state.worker_source, source, main_analysis,
                lambda: AnalysisWorker(s, self._sink),
            )  # fmt: skip
            if state.worker is not None:
                state.worker.configure(s)
                state.worker.event_active = state.active
            state.recorder, state.recorder_source = self._attach(
                state.recorder, state.recorder_source, source, s.event_recording,
                lambda: self._new_recorder(state),
            )  # fmt: skip
            if state.recorder is not None:
                state.recorder.configure(s.pre_buffer, s.max_file_duration)
            await self._reconcile_sub_stream(state, stream)

    @staticmethod
    def _attach(
        consumer: C | None,
        attached_to: StreamSource | None,
        source: StreamSource | None,
        wanted: bool,
        make: Callable[[], C],
    ) -> tuple[C | None, StreamSource | None]:
        """(consumer, its source) after making `wanted` true on the running `source`."""
        if consumer is not None and attached_to is None:
            attached_to = source  # made by a factory for the pipeline that is now running
        if consumer is not None and (attached_to is not source or source is None):
            consumer, attached_to = None, None  # its pipeline is gone
        if wanted and source is not None and consumer is None:
            consumer = make()
            source.add_consumer(consumer)
            attached_to = source
        elif not wanted and consumer is not None and attached_to is not None:
            attached_to.remove_consumer(consumer)
            consumer, attached_to = None, None
        return consumer, attached_to

    async def _reconcile_sub_stream(self, state: StreamState, stream: Stream) -> None:
        s = state.settings
        wanted = s.analysing and bool(s.sub_stream_url)
        if state.sub_source is not None and (not wanted or state.sub_url != s.sub_stream_url):
            await asyncio.to_thread(state.sub_source.stop)
            state.sub_source = state.sub_worker = None
        if not wanted:
            return
        if state.sub_source is None:
            worker = AnalysisWorker(s, self._sink)
            source = StreamSource(f"{s.stream} (sub)", s.sub_stream_url, protocol=stream.protocol)
            source.add_consumer(worker)
            source.start()
            state.sub_source, state.sub_worker, state.sub_url = source, worker, s.sub_stream_url
            _LOGGER.info("%s: analysing the sub-stream %s", s.stream, redact_url(s.sub_stream_url))
        elif state.sub_worker is not None:
            state.sub_worker.configure(s)

    async def _on_stream_change(self, event: StreamsChanged) -> None:
        if event.old_name:
            await self.reconcile(event.old_name)
        await self.reconcile(event.stream)

    async def _on_settings_change(self, event: SettingsChanged) -> None:
        if "detection_api_url" in event.keys:
            await self.reconcile_all()

    async def _on_recording_finished(self, event: RecordingFinished) -> None:
        self.events.enqueue(
            functools.partial(
                self.store.link_recording,
                event.recording_id,
                event.stream,
                event.start_time,
                event.end_time,
            )
        )

    # -- findings ------------------------------------------------------------------------

    def _sink(self, analysis: Analysis) -> None:
        """Called by workers in their threads."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._on_analysis, analysis)
            except RuntimeError:
                pass  # the loop closed between the check and the call

    def _on_analysis(self, analysis: Analysis) -> None:
        state = self.states.get(analysis.stream)
        if state is None or self._loop is None:
            return
        if analysis.motion is not None:
            zones = state.settings.zones
            objects = [
                DetectedObject("motion", analysis.motion.score, box, motion_zone_of(zones, box))
                for box in analysis.motion.boxes
            ]
            self.observe(analysis.stream, objects, analysis.arrival, analysis.jpeg, "motion")
            return
        task = self._loop.create_task(self._detect(state, analysis))
        self._detections.add(task)
        task.add_done_callback(self._detections.discard)

    async def _detect(self, state: StreamState, analysis: Analysis) -> None:
        s = state.settings
        try:
            if not s.api_url:
                raise DetectorError("no detection API URL is set (stream or settings)")
            assert self._http is not None and analysis.jpeg is not None
            frame = DetectionFrame(
                s.stream, analysis.time, analysis.width, analysis.height, analysis.jpeg
            )
            found = await ApiDetector(self._http, s.api_url).detect(frame, s.threshold)
        except DetectorError as err:
            state.detector_errors += 1
            level = logging.DEBUG if state.detector_failing else logging.WARNING
            _LOGGER.log(level, "%s: object detection failed: %s", s.stream, err)
            state.detector_failing = True
            return
        finally:
            for worker in state.workers():
                worker.detection_done()
        if state.detector_failing:
            _LOGGER.info("%s: the detection API answers again", s.stream)
        state.detector_failing = False
        state.detector_requests += 1
        kept = []
        for obj in found:
            zone = zone_of(s.zones, obj.box, obj.label, obj.confidence)
            if zone is not None:
                kept.append(DetectedObject(obj.label, obj.confidence, obj.box, zone))
        if kept:
            self.observe(s.stream, kept, analysis.arrival, analysis.jpeg, "api")

    def observe(
        self,
        name: str,
        objects: list[DetectedObject],
        arrival: float,
        jpeg: bytes | None,
        source: str,
        hold: float = 0.0,
    ) -> bool:
        """Feed detections into a stream's event (see `MotionEvents.observe`)."""
        state = self.states.get(name)
        if state is None:
            return False
        return self.events.observe(state, objects, arrival, jpeg, source, hold)

    # -- background tasks ----------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.events.end_quiet(list(self.states.values()), time.time())

    async def _cleanup_loop(self) -> None:
        while True:
            await asyncio.sleep(CLEANUP_SECONDS)
            try:
                await cleanup(self, None, None)
            except Exception:
                _LOGGER.exception("Motion cleanup failed; retrying next hour")
