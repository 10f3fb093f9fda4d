"""A real RTSP camera for tests and benchmarks, plus the clips it serves.

The server is GStreamer's RTSP server (`gst_rtsp_server.py` beside this file), run
by Debian's `/usr/bin/python3`, which has PyGObject; the venv does not. It loops an
MP4 made here with PyAV. `stop()` kills it like a camera losing power, and
`start()` brings it back on the same port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
MOUNT = "/stream"
# The first GStreamer start on a machine builds its plugin registry (~11 s here).
READY_TIMEOUT = 60.0


class RtspServer:
    """One GStreamer RTSP server process serving `clip` at rtsp://127.0.0.1:PORT/stream."""

    def __init__(self, clip: Path | str, port: int = 0, *, udp: bool = False) -> None:
        self.clip = Path(clip)
        self.port = port  # 0: a free port, chosen at the first start and kept after
        self.udp = udp
        self.clients = 0  # RTSP connections accepted since the last start()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as self
            prefix="rtsp-server-", suffix=".log", delete=False
        )

    @property
    def url(self) -> str:
        """The stream's URL (valid once started)."""
        return f"rtsp://127.0.0.1:{self.port}{MOUNT}"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server and wait until its port accepts connections."""
        if self.running:
            return
        args = [SYSTEM_PYTHON, str(SERVER_SCRIPT), str(self.clip), str(self.port)]
        if self.udp:
            args.append("--udp")
        self.clients = 0
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._log, text=True, start_new_session=True
        )
        self._proc = proc
        ready = threading.Event()
        self._reader = threading.Thread(
            target=self._read_stdout, args=(proc, ready), name="rtsp-server-stdout", daemon=True
        )
        self._reader.start()
        # READY comes after attach(), which has the socket listening already: probing it
        # with a connection of our own would only count as a client.
        if not ready.wait(READY_TIMEOUT) or not self.running:
            self.stop()
            raise RuntimeError(f"RTSP server did not start: {self._log_tail()}")

    def _read_stdout(self, proc: subprocess.Popen[str], ready: threading.Event) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "READY":
                self.port = int(rest)
                ready.set()
            elif word == "CLIENT":
                self.clients += 1
        ready.set()  # the process ended; start() sees it is not running

    def stop(self) -> None:
        """Kill the server at once (SIGKILL), as a camera that loses power."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if self._reader is not None:
            self._reader.join(5.0)
        if proc.stdout is not None:
            proc.stdout.close()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but no data flows."""
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Undo pause()."""
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove its log."""
        self.stop()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def _log_tail(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-2000:]

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _yuv_frame(width: int, height: int, t: float, noise: np.ndarray | None) -> np.ndarray:
    """A gradient with a white box crossing it, as one (h * 3/2, w) yuv420p array."""
    img = np.empty((height * 3 // 2, width), np.uint8)
    img[:height] = np.linspace(30, 140, width, dtype=np.uint8)[None, :]
    img[height:] = 128
    bw, bh = width // 6 // 2 * 2, height // 4 // 2 * 2
    x = int((t * 0.25 % 1.0) * (width - bw)) // 2 * 2
    y = (height - bh) // 2 // 2 * 2
    img[y : y + bh, x : x + bw] = 220
    if noise is not None:
        img[:height] += noise
    return img


def make_test_clip(
    path: Path | str,
    seconds: float = 4.0,
    width: int = 320,
    height: int = 240,
    fps: int = 10,
    *,
    audio: bool = False,
    audio_codec: str = "aac",
    video_codec: str = "libx264",
    bitrate: int | None = None,
    gop_seconds: float = 1.0,
    audio_seconds: float | None = None,
) -> Path:
    """Encode a camera-like clip with PyAV: a moving box, GOP `gop_seconds`, no B-frames.

    `bitrate` (bit/s) asks for that rate; noise in the picture makes the encoder
    really spend it, as a real scene would. Audio is a 16 kHz mono tone, `seconds`
    long unless `audio_seconds` says otherwise (a camera whose video dies first).
    """
    path = Path(path)
    gop = str(max(int(fps * gop_seconds), 1))
    rng = np.random.default_rng(1)
    noises = [rng.integers(0, 24, (height, width), np.uint8) for _ in range(8)] if bitrate else []
    with av.open(str(path), "w") as out:
        video = out.add_stream(video_codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # Frame threads, not slice threads: one slice per frame, as most cameras send. With
        # several, GStreamer's config-interval repeats SPS/PPS before each IDR slice and
        # FFmpeg's parser then splits the keyframe into two packets.
        video.codec_context.thread_type = "FRAME"
        options = {"preset": "veryfast", "g": gop, "keyint_min": gop, "bf": "0"}
        if video_codec == "libx264":
            options["sc_threshold"] = "0"
        else:
            options["x265-params"] = (
                f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:log-level=error"
            )
        if bitrate:
            video.bit_rate = bitrate
            options.update(maxrate=str(bitrate), bufsize=str(bitrate))
        video.options = options
        sound = None
        if audio:
            sound = out.add_stream(audio_codec, rate=16000)
            sound.layout = "mono"
        for index in range(int(seconds * fps)):
            noise = noises[index % len(noises)] if noises else None
            frame = av.VideoFrame.from_ndarray(
                _yuv_frame(width, height, index / fps, noise), format="yuv420p"
            )
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _write_tone(out, sound, seconds if audio_seconds is None else audio_seconds)
    return path


def _write_tone(
    out: av.container.OutputContainer, stream: av.audio.AudioStream, seconds: float
) -> None:
    rate = 16000
    total = int(seconds * rate)
    fmt = stream.codec_context.format.name if stream.codec_context.format else "s16"
    for start in range(0, total, 1024):
        count = min(1024, total - start)
        t = np.arange(start, start + count) / rate
        tone = 0.3 * np.sin(2 * np.pi * 440 * t)
        if fmt == "fltp":
            samples = tone.astype(np.float32)[None, :]
        else:
            samples = (tone * 32767).astype(np.int16)[None, :]
            fmt = "s16"
        frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
