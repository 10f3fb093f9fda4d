"""Per-stream detection settings, derived once from the stream row, its zones and config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nvr_hub.storage.models import MotionConfig, Stream

from .zones import Zone, enabled_zones

MODEL_MOTION = "motion"
MODEL_API = "api"
# What LightNVR clients write into `detection_model` for the HTTP detection API.
API_ALIASES = frozenset({"api", "api-detection"})
DEFAULT_MAX_FILE_DURATION = 300
DEFAULT_MOTION_RETENTION_DAYS = 7
# Motion ends this long after the last detection at the least, whatever the post-buffer.
MIN_QUIET_SECONDS = 1.0


@dataclass(frozen=True)
class MotionSettings:
    """Everything the detection path of one stream needs, immutable (swapped whole)."""

    stream: str
    model: str  # "" (no analysis), "motion" or "api"
    api_url: str  # the detector URL when model is "api" ("" = not configured)
    threshold: float
    interval: int  # analyse every n-th frame
    zones: tuple[Zone, ...]
    sub_stream_url: str
    continuous: bool  # the pipeline records continuously: events annotate its segments
    event_recording: bool  # record clips around events instead
    pre_buffer: float
    post_buffer: float
    max_file_duration: int
    record_audio: bool
    requested_model: str  # as written in the stream, for the models list and warnings
    enabled: bool = True  # the stream is enabled (its pipeline runs)

    @property
    def analysing(self) -> bool:
        """Whether frames of this stream are analysed at all."""
        return self.enabled and self.model != ""

    @property
    def quiet(self) -> float:
        """Seconds without a detection after which an event ends."""
        return max(self.post_buffer, MIN_QUIET_SECONDS)

    @property
    def capture_method(self) -> str:
        """How event clips of this stream are labelled in the recordings list."""
        return "detection" if self.model == MODEL_API else "motion"


def resolve_model(stream: Stream, motion_enabled: bool) -> tuple[str, str]:
    """(model, url-from-model) of a stream: which backend runs, if any."""
    raw = stream.detection_model.strip()
    wanted = stream.detection_enabled or stream.detection_based_recording or motion_enabled
    if not raw:
        return (MODEL_MOTION if wanted else ""), ""
    lowered = raw.lower()
    if lowered in API_ALIASES:
        return MODEL_API, ""
    if lowered.startswith(("http://", "https://")):
        return MODEL_API, raw  # LightNVR also takes the detector's URL as the model
    # "motion", and model files we cannot run in-process yet: the built-in detector.
    return MODEL_MOTION, ""


def build_settings(
    stream: Stream,
    zones: Sequence[Mapping[str, Any]],
    config: MotionConfig | None,
    global_api_url: str,
) -> MotionSettings:
    """The effective settings of one stream."""
    motion_enabled = bool(config and config.enabled)
    model, model_url = resolve_model(stream, motion_enabled)
    continuous = stream.record and not stream.detection_based_recording
    event_recording = not continuous and (
        (stream.record and stream.detection_based_recording) or motion_enabled
    )
    if config is not None:
        pre, post, max_file = (
            config.pre_buffer_seconds,
            config.post_buffer_seconds,
            config.max_file_duration,
        )
    else:
        pre, post, max_file = (
            stream.pre_detection_buffer,
            stream.post_detection_buffer,
            DEFAULT_MAX_FILE_DURATION,
        )
    return MotionSettings(
        stream=stream.name,
        model=model,
        api_url=model_url or stream.detection_api_url or global_api_url,
        threshold=stream.detection_threshold,
        interval=max(1, stream.detection_interval),
        zones=enabled_zones(zones),
        sub_stream_url=stream.sub_stream_url,
        continuous=continuous,
        event_recording=event_recording,
        pre_buffer=float(pre),
        post_buffer=float(post),
        max_file_duration=max(10, max_file),
        record_audio=stream.record_audio,
        requested_model=stream.detection_model,
        enabled=stream.enabled,
    )
