"""What the motion service keeps per stream: settings, attached consumers, the open event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nvr_hub.media import StreamSource
from nvr_hub.storage.models import MotionConfig

from .event_recorder import EventRecorder
from .settings import MotionSettings
from .worker import AnalysisWorker


@dataclass
class StreamState:
    """One stream's detection runtime; only the event loop touches it."""

    settings: MotionSettings
    stream_id: int = 0
    zones: list[dict[str, Any]] = field(default_factory=list)
    config: MotionConfig | None = None
    # Consumers on the main pipeline's source (None: the factory made it for the
    # pipeline that started last, which is the one running).
    worker: AnalysisWorker | None = None
    worker_source: StreamSource | None = None
    recorder: EventRecorder | None = None
    recorder_source: StreamSource | None = None
    # The sub-stream connection analysed instead of the main stream, if any.
    sub_source: StreamSource | None = None
    sub_worker: AnalysisWorker | None = None
    sub_url: str = ""
    # The event in progress.
    active: bool = False
    started: datetime | None = None
    last_seen: float = 0.0  # time.time() of the newest detection (plus any hold)
    last_stored: float = 0.0
    labels: set[str] = field(default_factory=set)
    confidence: float = 0.0
    # Since the hub started.
    events: int = 0
    detector_requests: int = 0
    detector_errors: int = 0
    detector_failing: bool = False

    def begin(self, when: datetime) -> None:
        """A new event starts at `when`."""
        self.active = True
        self.started = when
        self.labels = set()
        self.confidence = 0.0
        self.events += 1

    def workers(self) -> list[AnalysisWorker]:
        """The workers analysing this stream (main or sub-stream)."""
        return [w for w in (self.worker, self.sub_worker) if w is not None]
