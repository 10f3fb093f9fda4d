"""Reading back a recording, possibly cut short by a crash, to learn what it really holds."""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
from av.container import InputContainer

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


def mp4_boxes(path: Path | str) -> Iterator[tuple[int, bytes, int]]:
    """(offset, type, size) of each whole top-level MP4 box, stopping at a torn one."""
    with open(path, "rb") as fh:
        size = fh.seek(0, io.SEEK_END)
        offset = 0
        while offset < size:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                return
            box, kind = struct.unpack(">I4s", header[:8])
            if box == 1:
                box = struct.unpack(">Q", header[8:16])[0] if len(header) == 16 else 0
            elif box == 0:
                box = size - offset  # "to the end of the file"
            if box < 8 or offset + box > size:
                return
            yield offset, kind, box
            offset += box


def intact_length(path: Path | str) -> int:
    """Bytes of an MP4 up to its last whole fragment: what a crash did not tear.

    A crash can cut the file anywhere, also inside a `moof` header, and libav then gives
    up on the whole file instead of on the torn fragment (and a repair would drop a
    segment that is all but complete).
    """
    end, moof = 0, None
    for offset, kind, box in mp4_boxes(path):
        end, moof = offset + box, offset if kind == b"moof" else None
    if end == Path(path).stat().st_size:
        return end
    # A whole `moof` whose `mdat` is torn is no use either.
    return moof if moof is not None else end


def trim_torn_tail(path: Path | str) -> int:
    """Cut a crashed recording back to its whole fragments; returns the bytes removed.

    Players (libav's among them) may refuse a file that ends inside a fragment header,
    so a segment repaired after a crash keeps everything but the torn fragment.
    """
    intact = intact_length(path)
    with open(path, "r+b") as fh:
        removed = fh.seek(0, io.SEEK_END) - intact
        if removed > 0:
            fh.truncate(intact)
    return max(removed, 0)


class _Prefix(io.RawIOBase):
    """The first `length` bytes of an open file, as a file of its own."""

    def __init__(self, fh: BinaryIO, length: int) -> None:
        self._fh, self._length, self._pos = fh, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = max(min(len(buffer), self._length - self._pos), 0)
        self._fh.seek(self._pos)
        data = self._fh.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def tell(self) -> int:
        return self._pos


def probe_segment(path: Path | str) -> SegmentProbe | None:
    """Measure a (possibly truncated) fragmented MP4; None if it holds no readable video.

    The moov of a fragmented file says nothing about duration, and the last fragment
    of a file left open by a crash may be cut off, so this reads the whole fragments
    (demux only, no decoding) and stops quietly at the first unreadable packet.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        intact = intact_length(path)
        with open(path, "rb") as fh:
            source: io.RawIOBase | str = str(path) if intact == size else _Prefix(fh, intact)
            with av.open(source, "r", format="mp4") as container:
                return _measure(container, path, size)
    except (OSError, av.FFmpegError) as err:
        _LOGGER.debug("cannot open %s: %s", path, describe_error(err))
        return None


def _measure(container: InputContainer, path: Path, size: int) -> SegmentProbe | None:
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
