"""The object detector seam: what a backend is given, what it returns, and the protocol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .zones import Box


@dataclass(frozen=True)
class DetectedObject:
    """One thing found in a frame; `box` is (x, y, width, height) normalised to 0–1."""

    label: str
    confidence: float
    box: Box
    zone: str = ""


@dataclass(frozen=True)
class DetectionFrame:
    """A frame handed to an object detector: a JPEG of at most `MAX_DETECTION_WIDTH` px."""

    stream: str
    time: datetime
    width: int
    height: int
    jpeg: bytes


class DetectorError(Exception):
    """The detector could not answer (unreachable, timeout, bad reply); never fatal."""


class Detector(Protocol):
    """An object detection backend (`detection_model`): the HTTP API or an in-process model.

    `detect` runs on the event loop; a backend that computes in-process must move its
    work to a thread (`asyncio.to_thread`). Errors are `DetectorError`.
    """

    name: str

    async def detect(self, frame: DetectionFrame, threshold: float) -> list[DetectedObject]:
        """Everything found at or above `threshold` confidence (0–1)."""
        ...

    async def close(self) -> None:
        """Release connections; called once when the hub stops."""
        ...


def clamp_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    """A normalised (x, y, w, h) from corner coordinates, clipped to the frame."""
    left, right = sorted((min(max(x0, 0.0), 1.0), min(max(x1, 0.0), 1.0)))
    top, bottom = sorted((min(max(y0, 0.0), 1.0), min(max(y1, 0.0), 1.0)))
    return (left, top, right - left, bottom - top)
