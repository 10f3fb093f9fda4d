"""The `api` backend: LightNVR's HTTP detection API (a JPEG POSTed as multipart `file`)."""

from __future__ import annotations

import json
import math
from typing import Any

import aiohttp
from yarl import URL

from .detector import DetectedObject, DetectionFrame, DetectorError, clamp_box

TIMEOUT_SECONDS = 10.0
MAX_DETECTIONS = 100


class ApiDetector:
    """Posts frames to one detection API URL and reads `{"detections": [...]}` back."""

    name = "api"

    def __init__(
        self, session: aiohttp.ClientSession, url: str, *, timeout: float = TIMEOUT_SECONDS
    ):
        self._session = session
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def detect(self, frame: DetectionFrame, threshold: float) -> list[DetectedObject]:
        """Send one frame; the objects at or above `threshold` confidence, boxes normalised."""
        form = aiohttp.FormData()
        form.add_field("file", frame.jpeg, filename="snapshot.jpg", content_type="image/jpeg")
        # What LightNVR sends along; a URL that sets these itself keeps its own values.
        url = URL(self.url)
        extra = {"backend": "onnx", "confidence_threshold": f"{threshold:.2f}"}
        extra["return_image"] = "false"
        url = url.update_query({k: v for k, v in extra.items() if k not in url.query})
        try:
            async with self._session.post(
                url, data=form, timeout=self._timeout, headers={"Accept": "application/json"}
            ) as resp:
                if resp.status != 200:
                    raise DetectorError(f"the detection API answered HTTP {resp.status}")
                body = await resp.read()
        except aiohttp.ClientError as err:
            raise DetectorError(f"the detection API is unreachable: {err}") from err
        except TimeoutError as err:
            raise DetectorError("the detection API timed out") from err
        try:
            data = json.loads(body)
        except ValueError as err:
            raise DetectorError("the detection API did not answer JSON") from err
        return parse_detections(data, frame.width, frame.height, threshold)

    async def close(self) -> None:
        """Nothing of its own: the session belongs to the motion service."""


def parse_detections(data: Any, width: int, height: int, threshold: float) -> list[DetectedObject]:
    """Read LightNVR's reply: boxes as `bounding_box` {x_min, ...} or flat, 0–1 or pixels."""
    if not isinstance(data, dict) or not isinstance(data.get("detections"), list):
        raise DetectorError("the detection API reply has no 'detections' list")
    found: list[DetectedObject] = []
    for item in data["detections"][:MAX_DETECTIONS]:
        if not isinstance(item, dict):
            continue
        label, confidence = item.get("label"), _number(item.get("confidence"))
        box = item.get("bounding_box", item)
        if not isinstance(label, str) or not label or confidence is None:
            continue
        if not isinstance(box, dict):
            continue
        corners = [_number(box.get(k)) for k in ("x_min", "y_min", "x_max", "y_max")]
        numbers = [c for c in corners if c is not None]
        if len(numbers) != 4 or confidence < threshold:
            continue
        x0, y0, x1, y1 = numbers
        if max(x0, y0, x1, y1) > 1.5 and width and height:  # pixels, not fractions
            x0, x1, y0, y1 = x0 / width, x1 / width, y0 / height, y1 / height
        found.append(DetectedObject(label[:64], confidence, clamp_box(x0, y0, x1, y1)))
    return found


def _number(value: Any) -> float | None:
    """A finite JSON number as float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
