"""Detection zones: normalised polygons, their raster masks and which zone a detection is in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Box = tuple[float, float, float, float]  # x, y, width, height, normalised 0–1
BoolMask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Zone:
    """One enabled zone: the area it covers and what it lets through."""

    id: str
    name: str
    polygon: tuple[tuple[float, float], ...]
    classes: frozenset[str]  # empty: every label
    min_confidence: float

    @classmethod
    def from_json(cls, zone: Mapping[str, Any]) -> Zone:
        """A zone as `StreamService.zones` returns it."""
        return cls(
            id=str(zone["id"]),
            name=str(zone["name"]),
            polygon=tuple((float(p["x"]), float(p["y"])) for p in zone["polygon"]),
            classes=frozenset(str(c).strip().lower() for c in zone["filter_classes"] or ()),
            min_confidence=float(zone["min_confidence"]),
        )

    def contains(self, x: float, y: float) -> bool:
        """Whether a normalised point lies inside the polygon (even-odd rule)."""
        inside = False
        pts = self.polygon
        j = len(pts) - 1
        for i, (xi, yi) in enumerate(pts):
            xj, yj = pts[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def accepts(self, label: str, confidence: float) -> bool:
        """Whether this zone's class filter and confidence floor let a detection through."""
        if self.classes and label.lower() not in self.classes:
            return False
        return confidence >= self.min_confidence


def enabled_zones(zones: Iterable[Mapping[str, Any]]) -> tuple[Zone, ...]:
    """The enabled zones of a stream's zone list, in order."""
    return tuple(Zone.from_json(z) for z in zones if z.get("enabled", True))


def polygon_mask(polygon: Sequence[tuple[float, float]], width: int, height: int) -> BoolMask:
    """Rasterise a normalised polygon onto a width×height grid (pixel centres, even-odd)."""
    xs = (np.arange(width, dtype=np.float64) + 0.5) / width
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    px, py = np.meshgrid(xs, ys)
    inside = np.zeros((height, width), dtype=np.bool_)
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[i - 1]
        if y1 == y2:
            continue  # a horizontal edge never crosses a horizontal ray
        crosses = (y1 > py) != (y2 > py)
        x_at = (x2 - x1) * (py - y1) / (y2 - y1) + x1
        inside ^= crosses & (px < x_at)
    return inside


def zones_mask(zones: Sequence[Zone], width: int, height: int) -> BoolMask | None:
    """The union of the zones as a mask; None when there are no zones (the whole frame)."""
    if not zones:
        return None
    mask = np.zeros((height, width), dtype=np.bool_)
    for zone in zones:
        mask |= polygon_mask(zone.polygon, width, height)
    return mask


def zone_of(zones: Sequence[Zone], box: Box, label: str, confidence: float) -> str | None:
    """The id of the first zone holding the box's centre that accepts the detection.

    Returns "" when the stream has no zones (everything counts) and None when zones
    exist but none accepts it (the detection is filtered out).
    """
    if not zones:
        return ""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    for zone in zones:
        if zone.contains(cx, cy) and zone.accepts(label, confidence):
            return zone.id
    return None


def motion_zone_of(zones: Sequence[Zone], box: Box) -> str:
    """The zone a motion box belongs to (centre first, else the first it overlaps)."""
    if not zones:
        return ""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    for zone in zones:
        if zone.contains(cx, cy):
            return zone.id
    for zone in zones:
        xs = [p[0] for p in zone.polygon]
        ys = [p[1] for p in zone.polygon]
        if box[0] < max(xs) and box[0] + box[2] > min(xs):
            if box[1] < max(ys) and box[1] + box[3] > min(ys):
                return zone.id
    return zones[0].id
