"""The `demo://` camera: a moving test pattern encoded to H.264 in-process, in real time."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
from av.audio.stream import AudioStream
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

SCHEME = "demo"
DEFAULT_WIDTH = 640
DEFAULT_HEIGHT = 360
DEFAULT_FPS = 10
GOP_SECONDS = 2
# A slow machine that falls this far behind real time skips ahead instead of bursting.
_MAX_LAG = 1.0


def is_demo_url(url: str) -> bool:
    """Tell whether `url` names the synthetic demo camera."""
    return url.lower().startswith(f"{SCHEME}://")


@dataclass(frozen=True)
class DemoSettings:
    """Picture size and rate of a demo stream."""

    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    fps: int = DEFAULT_FPS


def parse_demo_url(url: str) -> DemoSettings:
    """Read `demo://name?width=W&height=H&fps=F`; sizes are rounded down to even numbers."""
    query = parse_qs(urlsplit(url).query)

    def number(key: str, default: int, low: int, high: int) -> int:
        try:
            value = int(query[key][0])
        except (KeyError, ValueError):
            return default
        return min(max(value, low), high)

    # yuv420p needs even dimensions.
    width = number("width", DEFAULT_WIDTH, 16, 3840) // 2 * 2
    height = number("height", DEFAULT_HEIGHT, 16, 2160) // 2 * 2
    return DemoSettings(width, height, number("fps", DEFAULT_FPS, 1, 60))


class _Pattern:
    """Draws frames straight in yuv420p: a colour gradient and a white box sweeping across."""

    def __init__(self, width: int, height: int) -> None:
        self._w, self._h = width, height
        luma = np.add.outer(np.linspace(16, 120, height), np.linspace(0, 60, width))
        u = np.tile(np.linspace(90, 166, width // 2), (height // 2, 1))
        v = np.tile(np.linspace(166, 90, height // 2)[:, None], (1, width // 2))
        # `VideoFrame.from_ndarray(..., "yuv420p")` takes one (h * 3/2, w) array: the Y
        # plane, then the U and V planes flattened into the remaining h/2 rows.
        chroma = np.concatenate([u.ravel(), v.ravel()]).reshape(height // 2, width)
        self._base = np.concatenate([luma, chroma]).astype(np.uint8)
        self._box_w = max(width // 6, 2) // 2 * 2
        self._box_h = max(height // 4, 2) // 2 * 2

    def frame(self, t: float) -> np.ndarray:
        """The picture at `t` seconds: the box crosses the frame and back every 8 s."""
        w, h, bw, bh = self._w, self._h, self._box_w, self._box_h
        phase = (t / 4.0) % 2.0
        x = int((phase if phase < 1.0 else 2.0 - phase) * (w - bw)) // 2 * 2
        y = int((0.5 + 0.35 * np.sin(t * 1.3)) * (h - bh)) // 2 * 2
        img = self._base.copy()
        img[y : y + bh, x : x + bw] = 235
        planes = img[h:].reshape(-1)  # a view: writes land in `img`
        n = (h // 2) * (w // 2)
        for plane in (planes[:n], planes[n:]):
            plane.reshape(h // 2, w // 2)[y // 2 : (y + bh) // 2, x // 2 : (x + bw) // 2] = 128
        return img


class DemoInput:
    """An input for StreamSource that encodes the test pattern, paced to real time."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        self.settings = parse_demo_url(url)
        self._stop = stop
        s = self.settings
        # The encoder lives in a throwaway MP4 container only so that its stream carries
        # codec parameters (avcC extradata) that consumers can use as an output template.
        self._host = av.open(io.BytesIO(), "w", format="mp4")
        stream = self._host.add_stream("libx264", rate=s.fps)
        stream.width, stream.height, stream.pix_fmt = s.width, s.height, "yuv420p"
        stream.codec_context.thread_count = 1  # one cheap encoder per demo camera
        gop = str(s.fps * GOP_SECONDS)
        stream.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": "28",
            "g": gop,
            "keyint_min": gop,
            "sc_threshold": "0",
            # SPS/PPS before every keyframe too, as a camera sends them.
            "x264-params": "repeat-headers=1",
        }
        self._host.start_encoding()
        self.video_stream: VideoStream = stream
        self.audio_stream: AudioStream | None = None
        self._pattern = _Pattern(s.width, s.height)
        self._pts = 0

    def packets(self) -> Iterator[Packet[Stream]]:
        """Yield encoded packets, one frame per 1/fps seconds, until the stop event."""
        fps = self.settings.fps
        start = time.monotonic()
        index = 0
        while not self._stop.is_set():
            due = start + index / fps
            delay = due - time.monotonic()
            if delay < -_MAX_LAG:
                start, index = time.monotonic(), 0
                continue
            if delay > 0 and self._stop.wait(delay):
                return
            frame = av.VideoFrame.from_ndarray(self._pattern.frame(due - start), format="yuv420p")
            frame.pts = self._pts
            self._pts += 1
            index += 1
            for packet in self.video_stream.encode(frame):
                packet.duration = 1
                yield packet

    def close(self) -> None:
        """Release the encoder."""
        self._host.close()
