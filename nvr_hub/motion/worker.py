"""AnalysisWorker: a consumer that decodes its stream in its own thread and analyses frames.

The source's thread only queues packets (a reference each, never a copy); decoding and
analysis happen in the worker's thread, so a slow analysis can never hold up recording.
When the worker falls behind, it drops what is queued and waits for the next keyframe.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import av
from av.packet import Packet
from av.stream import Stream
from av.video.frame import VideoFrame

from nvr_hub.media import StreamInfo

from .analyzer import MotionAnalyzer, MotionResult
from .frames import analysis_size, make_decoder, to_gray, to_jpeg
from .settings import MODEL_API, MotionSettings

_LOGGER = logging.getLogger(__name__)

# Above this many pixels a stream is analysed on keyframes only: decoding every frame
# of a 1080p camera costs about eight times as much (see bench/README.md, Motion).
FULL_DECODE_MAX_PIXELS = 1280 * 720
MAX_ANALYSIS_FPS = 5.0
BACKLOG_SECONDS = 2.0  # queued video a worker may lag behind before it skips ahead
STUCK_DETECTOR = 60.0  # seconds after which an unanswered detector request is forgotten

Sink = Callable[["Analysis"], None]


@dataclass(frozen=True)
class Analysis:
    """A worker's report: motion at or above the threshold, or a frame for a detector."""

    stream: str
    time: datetime  # when the frame arrived
    arrival: float  # the same as time.time(), the pre-buffer's clock
    motion: MotionResult | None
    jpeg: bytes | None
    width: int = 0  # of the JPEG
    height: int = 0


@dataclass
class WorkerStats:
    """Counters of one worker, written by its thread and read by anyone."""

    mode: str = ""  # "full" (every frame decoded) or "keyframes"
    packets: int = 0
    decoded: int = 0
    analysed: int = 0
    skipped: int = 0  # packets dropped because analysis fell behind
    errors: int = 0  # packets that did not decode
    detector_busy: int = 0  # frames not sent because a detector request was in flight
    cpu_seconds: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def analysis_fps(self, window: float = 10.0) -> float:
        """Analysed frames per second over the last `window` seconds."""
        now = time.monotonic()
        return round(sum(1 for t in tuple(self.recent) if now - t <= window) / window, 2)


class AnalysisWorker:
    """A PacketConsumer that analyses one stream for motion or feeds an object detector."""

    def __init__(self, settings: MotionSettings, sink: Sink) -> None:
        self._settings = settings
        self._sink = sink
        self.stats = WorkerStats()
        self._video: Stream | None = None
        self._keyframes_only = False
        self._queue: queue.Queue[tuple[float, Packet[Stream], bool] | None] = queue.Queue()
        self._need_keyframe = False
        self._gap = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._busy_since: float | None = None  # a detector request is in flight
        # Set by the motion service while an event is open: detections then need no JPEG.
        self.event_active = False

    @property
    def settings(self) -> MotionSettings:
        """The settings in force."""
        return self._settings

    @property
    def running(self) -> bool:
        """Whether a connection is being analysed right now."""
        return self._thread is not None

    def configure(self, settings: MotionSettings) -> None:
        """Swap the settings; the worker thread picks them up at its next frame."""
        self._settings = settings

    def detection_done(self) -> None:
        """The detector answered (or failed): the next frame may be sent."""
        self._busy_since = None

    # -- the source's thread -------------------------------------------------------------

    def on_open(self, info: StreamInfo) -> None:
        """Start a worker thread with a fresh decoder for this connection."""
        self._stop_thread()
        self._video = info.video_stream
        self._keyframes_only = info.width * info.height > FULL_DECODE_MAX_PIXELS
        self.stats.mode = "keyframes" if self._keyframes_only else "full"
        fps = info.fps or 15.0
        size = 4 if self._keyframes_only else max(8, int(fps * BACKLOG_SECONDS))
        self._queue = queue.Queue(size)
        self._need_keyframe = self._gap = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(info, self._queue, self._stop),
            name=f"motion-{info.name}",
            daemon=True,
        )
        self._thread.start()

    def on_packet(self, packet: Packet[Stream]) -> None:
        """Queue a video packet; never blocks (skips to the next keyframe when behind)."""
        if packet.stream is not self._video:
            return
        self.stats.packets += 1
        keyframe = packet.is_keyframe
        if self._keyframes_only and not keyframe:
            return
        if self._need_keyframe:
            if not keyframe:
                self.stats.skipped += 1
                return
            self._need_keyframe = False
        try:
            self._queue.put_nowait((time.time(), packet, self._gap))
            self._gap = False
        except queue.Full:
            dropped = 1
            while True:
                try:
                    self._queue.get_nowait()
                    dropped += 1
                except queue.Empty:
                    break
            self.stats.skipped += dropped
            self._need_keyframe = self._gap = True

    def on_close(self, reason: str) -> None:
        """Stop the worker thread."""
        self._stop_thread()
        self._video = None

    def _stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # the thread sees the stop event within its poll interval
        thread.join(5.0)
        if thread.is_alive():
            _LOGGER.warning("%s: motion worker did not stop in time", thread.name)

    # -- the worker's thread -------------------------------------------------------------

    def _run(
        self,
        info: StreamInfo,
        packets: queue.Queue[tuple[float, Packet[Stream], bool] | None],
        stop: threading.Event,
    ) -> None:
        settings = self._settings
        decoder = make_decoder(info, fast=settings.model != MODEL_API)
        size = analysis_size(info.width, info.height)
        analyzer = MotionAnalyzer(size[0], size[1], settings.zones)
        zones = settings.zones
        frame_seconds = 1.0 / (info.fps or 15.0)
        last_analysis = 0.0
        cpu_base, cpu_start = self.stats.cpu_seconds, time.thread_time()
        while not stop.is_set():
            try:
                item = packets.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                break
            arrival, packet, gap = item
            frames = self._decode(decoder, packet, gap)
            for frame in frames:
                self.stats.decoded += 1
                settings = self._settings
                if not self._keyframes_only:
                    wanted = max(settings.interval * frame_seconds, 1.0 / MAX_ANALYSIS_FPS)
                    if arrival - last_analysis < wanted - frame_seconds / 2:
                        continue
                last_analysis = arrival
                if settings.zones is not zones:
                    zones = settings.zones
                    analyzer.set_zones(zones)
                try:
                    if settings.model == MODEL_API:
                        self._to_detector(frame, arrival, settings)
                    else:
                        self._motion(analyzer, frame, size, arrival, settings)
                except Exception:
                    _LOGGER.exception("%s: analysing a frame failed", settings.stream)
            self.stats.cpu_seconds = cpu_base + time.thread_time() - cpu_start

    def _decode(
        self, decoder: av.VideoCodecContext, packet: Packet[Stream], gap: bool
    ) -> list[VideoFrame]:
        if gap:
            decoder.flush_buffers()
        try:
            frames = [f for f in decoder.decode(packet) if isinstance(f, VideoFrame)]
            if self._keyframes_only and not frames:
                # A decoder that holds frames back for reordering gives them up on a drain.
                frames = [f for f in decoder.decode(None) if isinstance(f, VideoFrame)]
                decoder.flush_buffers()
        except (av.FFmpegError, ValueError) as err:
            self.stats.errors += 1
            _LOGGER.debug("%s: a packet did not decode: %s", self._settings.stream, err)
            return []
        return frames

    def _motion(
        self,
        analyzer: MotionAnalyzer,
        frame: VideoFrame,
        size: tuple[int, int],
        arrival: float,
        settings: MotionSettings,
    ) -> None:
        result = analyzer.analyze(to_gray(frame, size), arrival)
        self._analysed()
        if not result.boxes or result.score < settings.threshold:
            return
        # The frame that starts an event is kept as its snapshot.
        jpeg, width, height = (None, 0, 0) if self.event_active else to_jpeg(frame)
        when = datetime.fromtimestamp(arrival, UTC)
        self._sink(Analysis(settings.stream, when, arrival, result, jpeg, width, height))

    def _to_detector(self, frame: VideoFrame, arrival: float, settings: MotionSettings) -> None:
        self._analysed()
        busy = self._busy_since
        if busy is not None and time.monotonic() - busy < STUCK_DETECTOR:
            self.stats.detector_busy += 1
            return
        jpeg, width, height = to_jpeg(frame)
        self._busy_since = time.monotonic()
        when = datetime.fromtimestamp(arrival, UTC)
        self._sink(Analysis(settings.stream, when, arrival, None, jpeg, width, height))

    def _analysed(self) -> None:
        self.stats.analysed += 1
        self.stats.recent.append(time.monotonic())
