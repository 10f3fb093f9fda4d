"""Motion on small grayscale frames: a running background, thresholded, grouped into boxes."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .zones import BoolMask, Box, Zone, zones_mask

Gray = npt.NDArray[np.uint8]

# Grey levels a pixel must differ by to count as changed (on an area-averaged small frame,
# where sensor noise and compression artefacts are already mostly averaged away).
PIXEL_THRESHOLD = 25
# Seconds over which the background follows the scene (lighting drift, parked cars).
BACKGROUND_SECONDS = 3.0
# The changed share of the watched area that scores 1.0; `detection_threshold` (0–1) is
# compared with the score, so the default 0.5 means 0.25% of the area.
FULL_SCALE = 0.005
# More than this share changing at once is a lighting change (IR switch, clouds), not motion.
GLOBAL_CHANGE = 0.6
CELL = 4  # pixels per side of the cells changed pixels are grouped by
MIN_BLOB_SHARE = 0.001  # blobs smaller than this share of the frame are noise
MAX_BOXES = 16


@dataclass(frozen=True)
class MotionResult:
    """What one analysed frame showed."""

    score: float  # 0–1, see FULL_SCALE
    changed: float  # share of the watched area that changed
    boxes: tuple[Box, ...]  # largest first, normalised


NO_MOTION = MotionResult(0.0, 0.0, ())


class MotionAnalyzer:
    """Compares each frame with a running background and with the previous frame.

    A pixel moves when it differs from both: the background alone would report ghosts
    where a long-parked object just left, the previous frame alone would miss the
    inside of slow objects less often but flicker more. Blocking only on `analyze`.
    """

    def __init__(self, width: int, height: int, zones: Sequence[Zone] = ()) -> None:
        self.width, self.height = width, height
        self._mask: BoolMask | None = None
        self._watched = width * height
        self.set_zones(zones)
        self._background: npt.NDArray[np.float32] | None = None
        self._previous: npt.NDArray[np.int16] | None = None
        self._last_time = 0.0

    def set_zones(self, zones: Sequence[Zone]) -> None:
        """Watch only the union of these zones (all of the frame when empty)."""
        self._mask = zones_mask(zones, self.width, self.height)
        watched = int(self._mask.sum()) if self._mask is not None else self.width * self.height
        self._watched = max(watched, 1)

    def reset(self) -> None:
        """Forget the background (a new connection, a jump in time)."""
        self._background = None
        self._previous = None

    def analyze(self, gray: Gray, when: float) -> MotionResult:
        """Analyse one frame taken at `when` (seconds, any monotonic clock)."""
        frame = gray.astype(np.int16)
        background, previous = self._background, self._previous
        dt = when - self._last_time
        self._last_time = when
        if background is None or previous is None or not 0 < dt < 30:
            self._background = frame.astype(np.float32)
            self._previous = frame
            return NO_MOTION
        from_background = np.abs(frame - background) > PIXEL_THRESHOLD
        from_previous = np.abs(frame - previous) > PIXEL_THRESHOLD
        alpha = 1.0 - math.exp(-dt / BACKGROUND_SECONDS)
        background += np.float32(alpha) * (frame - background)
        self._previous = frame
        moving = from_background & from_previous
        if moving.mean() > GLOBAL_CHANGE:
            self._background = frame.astype(np.float32)
            return NO_MOTION
        if self._mask is not None:
            moving &= self._mask
        changed = float(moving.sum()) / self._watched
        if changed == 0.0:
            return NO_MOTION
        boxes = _boxes(moving)
        if not boxes:
            return NO_MOTION
        return MotionResult(min(1.0, changed / FULL_SCALE), changed, boxes)


def _boxes(moving: BoolMask) -> tuple[Box, ...]:
    """Group changed pixels into boxes: 8-connected components of CELL×CELL cells."""
    h, w = moving.shape
    gh, gw = h // CELL, w // CELL
    counts = moving[: gh * CELL, : gw * CELL].reshape(gh, CELL, gw, CELL).sum(axis=(1, 3))
    active = counts >= max(1, CELL * CELL // 4)
    min_pixels = MIN_BLOB_SHARE * h * w
    seen = np.zeros_like(active)
    found: list[tuple[int, Box]] = []
    for start in zip(*np.nonzero(active), strict=True):
        r0, c0 = int(start[0]), int(start[1])
        if seen[r0, c0]:
            continue
        seen[r0, c0] = True
        queue = deque([(r0, c0)])
        top, left, bottom, right, pixels = r0, c0, r0, c0, 0
        while queue:
            r, c = queue.popleft()
            pixels += int(counts[r, c])
            top, bottom = min(top, r), max(bottom, r)
            left, right = min(left, c), max(right, c)
            for nr in (r - 1, r, r + 1):
                for nc in (c - 1, c, c + 1):
                    if 0 <= nr < gh and 0 <= nc < gw and active[nr, nc] and not seen[nr, nc]:
                        seen[nr, nc] = True
                        queue.append((nr, nc))
        if pixels < min_pixels:
            continue
        box = (
            left * CELL / w,
            top * CELL / h,
            (right - left + 1) * CELL / w,
            (bottom - top + 1) * CELL / h,
        )
        found.append((pixels, box))
    found.sort(key=lambda item: -item[0])
    return tuple(box for _, box in found[:MAX_BOXES])
