"""Small real H.264 clips made with PyAV, for tests that need recording files."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from nvr_hub.storage.models import Recording


def write_fmp4(
    path: Path, seconds: float = 2.0, fps: int = 10, size: tuple[int, int] = (160, 96)
) -> int:
    """Encode a fragmented MP4 (moov first, a fragment per keyframe); returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    with av.open(
        str(path),
        "w",
        format="mp4",
        options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
    ) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = fps
        stream.codec_context.options = {"preset": "ultrafast"}
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            img = np.full((height, width, 3), 40, dtype=np.uint8)
            x = (i * 7) % (width - 16)
            img[20:40, x : x + 16] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.stat().st_size


def recording_row(
    root: Path,
    stream: str,
    start: datetime,
    *,
    seconds: float = 2.0,
    make_file: bool = True,
    **fields: object,
) -> Recording:
    """A complete recording row whose file (under `root`) really exists."""
    rel = f"{stream}/{start:%Y/%m/%d/%H%M%S}.mp4"
    size = write_fmp4(root / rel, seconds) if make_file else 1000
    values: dict[str, object] = {
        "stream_name": stream,
        "path": rel,
        "start_time": start,
        "end_time": start + timedelta(seconds=seconds),
        "duration": seconds,
        "size_bytes": size,
        "width": 160,
        "height": 96,
        "codec": "h264",
        "is_complete": True,
    }
    values.update(fields)
    return Recording(**values)
