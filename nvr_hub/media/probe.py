"""Reading back a recording, possibly cut short by a crash, to learn what it really holds."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av

from .logs import describe_error

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentProbe:
    """What a recording file actually contains."""

    path: Path
    duration: float  # seconds of video, first frame to end of last frame
    size_bytes: int
    codec: str
    width: int
    height: int
    has_audio: bool
    frames: int


def probe_segment(path: Path | str) -> SegmentProbe | None:
    """Measure a (possibly truncated) fragmented MP4; None if it holds no readable video.

    The moov of a fragmented file says nothing about duration, and the last fragment
    of a file left open by a crash may be cut off, so this walks the video packets
    (demux only, no decoding) and stops quietly at the first unreadable one.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        container = av.open(str(path))
    except (OSError, av.FFmpegError) as err:
        _LOGGER.debug("cannot open %s: %s", path, describe_error(err))
        return None
    with container:
        if not container.streams.video:
            return None
        video = container.streams.video[0]
        ctx = video.codec_context
        first: int | None = None
        end: int | None = None
        frames = 0
        try:
            for packet in container.demux(video):
                if packet.is_corrupt:
                    break  # cut off mid-sample: the torn end of the file
                if packet.pts is None or not packet.size:
                    continue
                frames += 1
                first = packet.pts if first is None else min(first, packet.pts)
                packet_end = packet.pts + (packet.duration or 0)
                end = packet_end if end is None else max(end, packet_end)
        except av.FFmpegError as err:
            # A truncated last fragment: everything before it still counts.
            _LOGGER.debug("%s: stopped reading at %s", path, describe_error(err))
        if first is None or end is None or not ctx.width:
            return None
        return SegmentProbe(
            path=path,
            duration=float((end - first) * video.time_base) if video.time_base else 0.0,
            size_bytes=size,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            has_audio=bool(container.streams.audio),
            frames=frames,
        )
