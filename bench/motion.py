"""Benchmark motion analysis: CPU per stream next to the decoding it needs, in one run.

Clips made with PyAV (a box crossing a noisy gradient, as `tests/rtsp_server.py` makes
them) are demuxed into memory once, then one feeder thread paces their packets in real
time into N consumers per scenario: the hub's `AnalysisWorker` (decode + analysis, in its
own thread) and, beside it, decode-only consumers (the same private decoder, no analysis;
and PyAV's default decoder). Each consumer's CPU is its thread's own CPU time
(`time.thread_time`), so the feeder and the other scenarios never count.

    .venv/bin/python bench/motion.py                 # 4 streams per scenario, 20 s each
    .venv/bin/python bench/motion.py --streams 8 --duration 30 --scale 32
    .venv/bin/python bench/motion.py --rtsp 32      # whole process: RTSP, recording, analysis

`--rtsp N` instead serves the clips over a local GStreamer RTSP server and runs N cameras
three ways, measuring this process's whole CPU (getrusage) after a warm-up: recording only;
recording plus keyframe analysis of the 1080p stream; recording plus analysis of a
640x360 sub-stream over a second connection per camera.
"""

from __future__ import annotations

import argparse
import heapq
import json
import queue
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from av.packet import Packet
from av.stream import Stream

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from rtsp_server import RtspServer, make_test_clip  # noqa: E402

from nvr_hub.media import (  # noqa: E402
    SegmentRecorder,
    StreamInfo,
    StreamSource,
    quiet_libav_logging,
)
from nvr_hub.motion import worker as worker_module  # noqa: E402
from nvr_hub.motion.analyzer import MotionResult  # noqa: E402
from nvr_hub.motion.frames import make_decoder  # noqa: E402
from nvr_hub.motion.settings import MotionSettings  # noqa: E402
from nvr_hub.motion.worker import Analysis, AnalysisWorker  # noqa: E402

FPS = 15
CLIPS = {  # name: (width, height, bit/s); GOP 1 s as most cameras ship
    "1080p": (1920, 1080, 4_000_000),
    "360p": (640, 360, 500_000),
}


@dataclass
class Clip:
    """A clip's packets in memory and the stream they belong to."""

    info: StreamInfo
    packets: list[Packet[Stream]]
    container: Any  # kept open: the packets' stream lives in it


def load(path: Path, name: str) -> Clip:
    container = av.open(str(path))
    video = container.streams.video[0]
    packets = [p for p in container.demux(video) if p.size]
    return Clip(StreamInfo.from_streams(name, video), packets, container)


class DecodeOnly:
    """A consumer that decodes (all frames or keyframes) in its own thread, nothing else."""

    def __init__(self, keyframes_only: bool, tuned: bool) -> None:
        self.keyframes_only, self.tuned = keyframes_only, tuned
        self.queue: queue.Queue[Packet[Stream] | None] = queue.Queue(64)
        self.cpu = 0.0
        self.frames = 0
        self.thread: threading.Thread | None = None

    def on_open(self, info: StreamInfo) -> None:
        self.thread = threading.Thread(target=self._run, args=(info,))
        self.thread.start()

    def on_packet(self, packet: Packet[Stream]) -> None:
        if self.keyframes_only and not packet.is_keyframe:
            return
        try:
            self.queue.put_nowait(packet)
        except queue.Full:
            pass

    def on_close(self, reason: str) -> None:
        self.queue.put(None)
        assert self.thread is not None
        self.thread.join()

    def _run(self, info: StreamInfo) -> None:
        if self.tuned:  # exactly the worker's decoder
            decoder = make_decoder(info, fast=True)
        else:  # PyAV's defaults: threads = cores, loop filter on
            decoder = av.CodecContext.create(info.codec, "r")
            extradata = info.video_stream.codec_context.extradata
            if extradata:
                decoder.extradata = extradata
        start = time.thread_time()
        while (packet := self.queue.get()) is not None:
            frames = decoder.decode(packet)
            if self.keyframes_only and not frames:
                frames = decoder.decode(None)
                decoder.flush_buffers()
            self.frames += len(frames)
        self.cpu = time.thread_time() - start


def settings(name: str, interval: int) -> MotionSettings:
    return MotionSettings(
        stream=name, model="motion", api_url="", threshold=0.5, interval=interval, zones=(),
        sub_stream_url="", continuous=True, event_recording=False, pre_buffer=0.0,
        post_buffer=1.0, max_file_duration=300, record_audio=False, requested_model="motion",
    )  # fmt: skip


def feed(consumers: list[tuple[Any, Clip]], duration: float) -> float:
    """Pace every consumer's clip in real time (looped) for `duration` s; feeder CPU back."""
    for consumer, clip in consumers:
        consumer.on_open(clip.info)
    start = time.monotonic()
    cpu = time.thread_time()
    heap = [(start + i * 0.003, i, 0) for i in range(len(consumers))]  # staggered starts
    heapq.heapify(heap)
    while heap:
        due, index, n = heapq.heappop(heap)
        if due - start > duration:
            continue
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        consumer, clip = consumers[index]
        consumer.on_packet(clip.packets[n % len(clip.packets)])
        heapq.heappush(heap, (due + 1.0 / FPS, index, n + 1))
    feeder = time.thread_time() - cpu
    for consumer, _ in consumers:
        consumer.on_close("done")
    return feeder


def run(
    label: str,
    make: Callable[[], Any],
    clip: Clip,
    streams: int,
    duration: float,
    cpu_of: Callable[[Any], float],
) -> dict[str, Any]:
    consumers = [(make(), clip) for _ in range(streams)]
    feeder = feed(consumers, duration)
    per_stream = [cpu_of(c) / duration * 100 for c, _ in consumers]
    row = {
        "scenario": label,
        "streams": streams,
        "core_pct_per_stream": round(sum(per_stream) / streams, 2),
        "core_pct_all": round(sum(per_stream), 1),
        "feeder_core_pct": round(feeder / duration * 100, 2),
    }
    first = consumers[0][0]
    if isinstance(first, AnalysisWorker):
        row.update(
            mode=first.stats.mode,
            analysed_per_s=round(first.stats.analysed / duration, 2),
            skipped=first.stats.skipped,
            events=sum(len(getattr(c, "hits", [])) for c, _ in consumers),
        )
    print(json.dumps(row), flush=True)
    return row


def worker(name: str, interval: int) -> AnalysisWorker:
    hits: list[MotionResult] = []

    def sink(analysis: Analysis) -> None:
        if analysis.motion is not None:
            hits.append(analysis.motion)
            w.event_active = True  # as the motion service does: one JPEG per event

    w = AnalysisWorker(settings(name, interval), sink)
    w.hits = hits  # type: ignore[attr-defined]
    return w


def forced_full(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `body` with the worker decoding every frame whatever the picture size."""
    saved = worker_module.FULL_DECODE_MAX_PIXELS
    worker_module.FULL_DECODE_MAX_PIXELS = 10**9
    try:
        return body()
    finally:
        worker_module.FULL_DECODE_MAX_PIXELS = saved


CLIENTS_PER_SERVER = 16


def rtsp_run(n: int, paths: dict[str, Path], out: Path, duration: float, interval: int) -> None:
    """N cameras over RTSP: recording alone, with keyframe analysis, with sub-stream analysis."""
    servers: dict[str, list[RtspServer]] = {}
    for name, path in paths.items():
        servers[name] = [RtspServer(path) for _ in range((n - 1) // CLIENTS_PER_SERVER + 1)]
        for server in servers[name]:
            server.start()
    try:
        for label in ("record only", "record + 1080p keyframe motion", "record + 360p sub-stream"):
            sources: list[StreamSource] = []
            workers: list[AnalysisWorker] = []
            for i in range(n):
                main = StreamSource(f"cam{i}", servers["1080p"][i // CLIENTS_PER_SERVER].url)
                main.add_consumer(SegmentRecorder(f"cam{i}", out / label, segment_duration=60))
                sources.append(main)
                if "keyframe" in label:
                    workers.append(worker(f"cam{i}", interval))
                    main.add_consumer(workers[-1])
                elif "sub-stream" in label:
                    sub = StreamSource(f"cam{i}s", servers["360p"][i // CLIENTS_PER_SERVER].url)
                    workers.append(worker(f"cam{i}", interval))
                    sub.add_consumer(workers[-1])
                    sources.append(sub)
            for source in sources:
                source.start()
            deadline = time.monotonic() + 60
            while not all(s.status == "connected" for s in sources):
                if time.monotonic() > deadline:
                    sys.exit("streams did not all connect")
                time.sleep(0.2)
            time.sleep(5)  # warm-up: probing, first keyframes, thread start
            before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            skipped0 = sum(w.stats.skipped for w in workers)
            time.sleep(duration)
            after, window = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - t0
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            analysed = sum(w.stats.analysed for w in workers)
            for source in sources:
                source.stop()
            row = {
                "rtsp": label,
                "cameras": n,
                "process_core_pct": round(cpu / window * 100, 1),
                "per_camera_core_pct": round(cpu / window * 100 / n, 2),
                "analysed_total": analysed,
                "skipped_in_window": sum(w.stats.skipped for w in workers) - skipped0,
            }
            print(json.dumps(row), flush=True)
    finally:
        for group in servers.values():
            for server in group:
                server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4, help="streams per scenario")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario")
    parser.add_argument("--scale", type=int, default=32, help="sub-streams in the scale run")
    parser.add_argument("--interval", type=int, default=10, help="detection_interval (frames)")
    parser.add_argument("--rtsp", type=int, default=0, help="cameras for the RTSP run instead")
    args = parser.parse_args()
    quiet_libav_logging()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {
            name: make_test_clip(Path(tmp) / f"{name}.mp4", 8, w, h, FPS, bitrate=rate)
            for name, (w, h, rate) in CLIPS.items()
        }
        if args.rtsp:
            rtsp_run(args.rtsp, paths, Path(tmp), args.duration, args.interval)
            return
        clips = {name: load(path, name) for name, path in paths.items()}
        n, d = args.streams, args.duration
        hd, sub = clips["1080p"], clips["360p"]

        def cpu_worker(c: Any) -> float:
            return float(c.stats.cpu_seconds)

        def cpu_decode(c: Any) -> float:
            return float(c.cpu)

        rows = [
            run("1080p decode all, PyAV defaults", lambda: DecodeOnly(False, False), hd, n, d,
                cpu_decode),
            run("1080p decode all, worker decoder", lambda: DecodeOnly(False, True), hd, n, d,
                cpu_decode),
            run("1080p decode keyframes, worker decoder", lambda: DecodeOnly(True, True), hd, n,
                d, cpu_decode),
            run("1080p motion (keyframes)", lambda: worker("hd", args.interval), hd, n, d,
                cpu_worker),
            forced_full(lambda: run("1080p motion (every frame decoded, forced)",
                lambda: worker("hd", args.interval), hd, n, d, cpu_worker)),
            run("360p decode all, PyAV defaults", lambda: DecodeOnly(False, False), sub, n, d,
                cpu_decode),
            run("360p decode all, worker decoder", lambda: DecodeOnly(False, True), sub, n, d,
                cpu_decode),
            run("360p motion (full decode)", lambda: worker("sub", args.interval), sub, n, d,
                cpu_worker),
            run(f"360p motion x{args.scale} (scale run)", lambda: worker("sub", args.interval),
                sub, args.scale, d, cpu_worker),
        ]  # fmt: skip
        for clip in clips.values():
            clip.container.close()
    print(json.dumps({"summary": rows}, indent=1))


if __name__ == "__main__":
    main()
