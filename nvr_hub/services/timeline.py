"""Timeline helpers: recorded ranges, detection intervals and an HLS VOD playlist."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nvr_hub.media.probe import mp4_boxes
from nvr_hub.services.auth import iso
from nvr_hub.storage.models import Detection, Recording

# Detections closer together than this belong to one interval on the timeline.
DETECTION_MERGE_GAP = timedelta(seconds=10)


def mp4_init_length(path: Path) -> int | None:
    """Bytes before the first `moof`: the init segment (ftyp + moov) of a fragmented MP4."""
    return next((offset for offset, kind, _ in mp4_boxes(path) if kind == b"moof"), None)


def detection_intervals(detections: Sequence[Detection]) -> list[dict[str, Any]]:
    """Merge time-ordered detections into intervals with their labels."""
    out: list[dict[str, Any]] = []
    start: datetime | None = None
    end: datetime | None = None
    labels: set[str] = set()
    count = 0
    for det in detections:
        if start is not None and end is not None and det.time - end <= DETECTION_MERGE_GAP:
            end = det.time
        else:
            if start is not None and end is not None:
                out.append(_interval(start, end, labels, count))
            start, end, labels, count = det.time, det.time, set(), 0
        labels.add(det.label)
        count += 1
    if start is not None and end is not None:
        out.append(_interval(start, end, labels, count))
    return out


def _interval(start: datetime, end: datetime, labels: set[str], count: int) -> dict[str, Any]:
    return {
        "start_time": iso(start),
        "end_time": iso(end),
        "labels": sorted(labels),
        "count": count,
    }


def vod_playlist(entries: Sequence[tuple[Recording, int]], uri: str) -> str:
    """An HLS VOD playlist over recordings with their init lengths.

    Each recording is its own fMP4 whose timestamps start near zero, so every file starts
    with a discontinuity and its own init section; PROGRAM-DATE-TIME carries wall time, so a
    player (and a person) sees gaps where nothing was recorded.
    """
    target = max((math.ceil(rec.duration) for rec, _ in entries), default=1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXT-X-TARGETDURATION:{max(target, 1)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for i, (rec, init) in enumerate(entries):
        url = uri.format(id=rec.id)
        if i:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f'#EXT-X-MAP:URI="{url}",BYTERANGE="{init}@0"')
        wall = rec.start_time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{wall}")
        lines.append(f"#EXTINF:{rec.duration:.3f},")
        lines.append(f"#EXT-X-BYTERANGE:{rec.size_bytes - init}@{init}")
        lines.append(url)
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
