"""Benchmark recording: N RTSP cameras remuxed by nvr-hub in one process vs the ffmpeg CLI.

A local GStreamer RTSP server (tests/rtsp_server.py) loops a pre-encoded 1080p H.264
clip (~4 Mbit/s) to every client. First StreamSource + SegmentRecorder record all N
streams in one worker process, then N `ffmpeg -c copy -f segment` processes do the
same against fresh servers. Only the recorders' CPU is counted (never the servers'),
over a steady-state window after every stream is connected.

    .venv/bin/python bench/record.py                       # 4 streams, 60 s
    .venv/bin/python bench/record.py --streams 64 --duration 60
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import psutil

from nvr_hub.media import SegmentInfo, SegmentRecorder, StreamSource, quiet_libav_logging
from nvr_hub.media.heap import TRIM_INTERVAL, HeapTrimmer
from nvr_hub.media.recorder import MUX_OPTIONS
from nvr_hub.tuning import tune_malloc

ROOT = Path(__file__).resolve().parents[1]

CLIENTS_PER_SERVER = 16  # spread clients over a few server processes


@dataclass
class Result:
    """What one recorder achieved over the measured window and in its files."""

    cpu_seconds: float
    window: float
    switches: int  # context switches (voluntary + involuntary) in the window
    peak_rss_mb: float
    gap_ms: float
    missing_frames: int
    frames: int
    segments: int


def timeline(path: Path) -> tuple[float, float, int]:
    """(first pts, end of last frame, frames) of a file, in seconds; demux only."""
    first = end = None
    frames = 0
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        tb = float(video.time_base or 0)
        for packet in container.demux(video):
            if packet.pts is None or not packet.size or packet.is_corrupt:
                continue
            frames += 1
            start = packet.pts * tb
            stop = start + (packet.duration or 0) * tb
            first = start if first is None else min(first, start)
            end = stop if end is None else max(end, stop)
    return first or 0.0, end or 0.0, frames


def gaps_and_missing(files: list[tuple[float, Path]], fps: int) -> tuple[float, int, int]:
    """Largest hole between consecutive files, frames missing over the span, frames."""
    spans = []
    for offset, path in files:
        first, end, frames = timeline(path)
        spans.append((offset + first, offset + end, frames))
    spans.sort()
    gap = max((b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)), default=0.0)
    frames = sum(s[2] for s in spans)
    expected = round((spans[-1][1] - spans[0][0]) * fps) if spans else 0
    return max(gap, 0.0), max(expected - frames, 0), frames


# -- the hub, in a worker process of its own so that its CPU and RSS are clean -----------


def hub_worker(args: argparse.Namespace) -> None:
    """Record every URL with StreamSource + SegmentRecorder; print results as JSON."""
    if args.tune_malloc:
        tune_malloc()  # first thing, before any thread starts
    quiet_libav_logging()
    stop = threading.Event()
    if not args.no_trim:
        # What the hub's PipelineManager does on its event loop, here in a thread.
        heap = HeapTrimmer()
        trimmer = threading.Thread(target=_trim_every, args=(heap, stop), daemon=True)
        trimmer.start()
    urls: list[str] = json.loads(args.urls)
    out = Path(args.out)
    segments: dict[str, list[SegmentInfo]] = {f"cam{i}": [] for i in range(len(urls))}
    lock = threading.Lock()

    def closed(info: SegmentInfo) -> None:
        with lock:
            segments[info.stream_name].append(info)

    sources = []
    for index, url in enumerate(urls):
        name = f"cam{index}"
        recorder = SegmentRecorder(
            name, out, segment_duration=args.segment, on_segment_close=closed
        )
        source = StreamSource(name, url)
        source.add_consumer(recorder)
        sources.append((source, recorder))
        source.start()
    deadline = time.monotonic() + 120
    while not all(s.status == "connected" and r.current for s, r in sources):
        if time.monotonic() > deadline:
            sys.exit("streams did not all connect")
        time.sleep(0.2)
    time.sleep(args.warmup)
    packets0 = sum(s.stats.packets for s, _ in sources)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    time.sleep(args.duration)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    switches = sum(getattr(usage1, f) - getattr(usage0, f) for f in ("ru_nvcsw", "ru_nivcsw"))
    window = time.monotonic() - t0
    packets = sum(s.stats.packets for s, _ in sources) - packets0
    stop.set()
    for source, _ in sources:
        source.stop()
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    files = {
        name: [
            (
                (info.start_time - infos[0].start_time).total_seconds(),
                str(info.path),
            )
            for info in sorted(infos, key=lambda i: i.start_time)
        ]
        for name, infos in segments.items()
    }
    json.dump(
        {
            "cpu": cpu,
            "window": window,
            "switches": switches,
            # Not ru_maxrss: across fork+exec it keeps the parent's peak.
            "maxrss_kb": _vm_hwm_kb(os.getpid()),
            "packets": packets,
            "dropped_by_source": sum(s.stats.dropped for s, _ in sources),
            "files": files,
        },
        sys.stdout,
    )


def _trim_every(heap: HeapTrimmer, stop: threading.Event) -> None:
    while not stop.wait(TRIM_INTERVAL):
        heap.trim()


def run_hub(urls: list[str], out: Path, args: argparse.Namespace) -> Result:
    cmd = [sys.executable, __file__, "--worker", "--urls", json.dumps(urls), "--out", str(out)]
    cmd += ["--segment", str(args.segment), "--duration", str(args.duration)]
    cmd += ["--warmup", str(args.warmup)]
    if args.tune_malloc:
        cmd.append("--tune-malloc")
    if args.no_trim:
        cmd.append("--no-trim")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"hub worker failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout)
    gap, missing, frames, count = 0.0, 0, 0, 0
    for entries in data["files"].values():
        files = [(offset, Path(path)) for offset, path in entries]
        g, m, f = gaps_and_missing(files, args.fps)
        gap, missing, frames, count = max(gap, g), missing + m, frames + f, count + len(files)
    expected = args.fps * data["window"] * len(urls)
    print(
        f"  hub: {data['packets']} packets in the window, {expected:.0f} expected; "
        f"{data['dropped_by_source']} dropped before keyframes"
    )
    return Result(
        data["cpu"],
        data["window"],
        data["switches"],
        data["maxrss_kb"] / 1024,
        gap * 1000,
        missing,
        frames,
        count,
    )


# -- the ffmpeg CLI, one process per stream ----------------------------------------------


def run_ffmpeg(urls: list[str], out: Path, args: argparse.Namespace) -> Result:
    procs: list[subprocess.Popen[bytes]] = []
    for index, url in enumerate(urls):
        folder = out / f"cam{index}"
        folder.mkdir(parents=True)
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp"]
        cmd += ["-i", url, "-c", "copy", "-f", "segment", "-segment_time", str(args.segment)]
        # The hub's own muxer options (fragmenting, flushing), so both write the same files.
        options = ":".join(f"{k}={v}" for k, v in MUX_OPTIONS.items())
        cmd += ["-segment_format", "mp4", "-segment_format_options", options]
        cmd += [str(folder / "%05d.mp4")]
        procs.append(subprocess.Popen(cmd, stderr=subprocess.DEVNULL))
    deadline = time.monotonic() + 120
    while not all(
        any(f.stat().st_size for f in (out / f"cam{i}").glob("*.mp4")) for i in range(len(urls))
    ):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            sys.exit("ffmpeg did not start recording every stream")
        time.sleep(0.2)
    time.sleep(args.warmup)
    handles = [psutil.Process(p.pid) for p in procs]

    def cpu() -> float:
        return sum(h.cpu_times().user + h.cpu_times().system for h in handles)

    def switches() -> int:
        return sum(sum(h.num_ctx_switches()) for h in handles)

    cpu0, sw0, t0 = cpu(), switches(), time.monotonic()
    time.sleep(args.duration)
    cpu1, sw1, window = cpu(), switches(), time.monotonic() - t0
    peak_kb = sum(_vm_hwm_kb(p.pid) for p in procs)
    for proc in procs:
        proc.send_signal(signal.SIGINT)  # ffmpeg finalizes its file on SIGINT
    for proc in procs:
        proc.wait(30)
    gap, missing, frames, count = 0.0, 0, 0, 0
    for index in range(len(urls)):
        # ffmpeg keeps the stream's timestamps across segment files (no reset).
        files = [(0.0, f) for f in sorted((out / f"cam{index}").glob("*.mp4"))]
        g, m, f = gaps_and_missing(files, args.fps)
        gap, missing, frames, count = max(gap, g), missing + m, frames + f, count + len(files)
    return Result(
        cpu1 - cpu0, window, sw1 - sw0, peak_kb / 1024, gap * 1000, missing, frames, count
    )


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# -- driver --------------------------------------------------------------------------------


def serve(clip: Path, streams: int) -> tuple[list[Any], list[str]]:
    from rtsp_server import RtspServer

    servers = [RtspServer(clip) for _ in range(-(-streams // CLIENTS_PER_SERVER))]
    for server in servers:
        server.start()
    return servers, [servers[i % len(servers)].url for i in range(streams)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--segment", type=float, default=10.0, help="segment seconds")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--bitrate", type=int, default=4_000_000)
    parser.add_argument("--gop", type=float, default=2.0, help="keyframe interval, seconds")
    parser.add_argument("--clip-seconds", type=float, default=20.0)
    parser.add_argument("--clip", type=Path, help="reuse/keep the encoded clip here")
    parser.add_argument("--skip-ffmpeg", action="store_true")
    parser.add_argument(
        "--tune-malloc",
        action="store_true",
        help="call nvr_hub.tuning.tune_malloc() first thing in the hub worker",
    )
    parser.add_argument(
        "--no-trim",
        action="store_true",
        help="do not give free heap back every TRIM_INTERVAL as the hub does",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        hub_worker(args)
        return

    sys.path.insert(0, str(ROOT / "tests"))  # the RTSP server helper; not for the worker
    from rtsp_server import make_test_clip

    work = Path(tempfile.mkdtemp(prefix="nvr-bench-"))
    clip = args.clip or work / "clip.mp4"
    try:
        if not clip.exists():
            print(
                f"encoding {args.clip_seconds:.0f} s of 1080p{args.fps} at "
                f"{args.bitrate / 1e6:.1f} Mbit/s ...",
                flush=True,
            )
            make_test_clip(
                clip,
                args.clip_seconds,
                1920,
                1080,
                args.fps,
                bitrate=args.bitrate,
                gop_seconds=args.gop,
            )
        with av.open(str(clip)) as c:
            rate = c.bit_rate / 1e6 if c.bit_rate else 0.0
        print(f"clip: {clip} ({rate:.2f} Mbit/s)", flush=True)
        results: dict[str, Result] = {}
        for tool in ("hub", "ffmpeg"):
            if tool == "ffmpeg" and args.skip_ffmpeg:
                continue
            servers, urls = serve(clip, args.streams)
            try:
                print(f"{tool}: {args.streams} streams, {args.duration:.0f} s ...", flush=True)
                runner = run_hub if tool == "hub" else run_ffmpeg
                results[tool] = runner(urls, work / tool, args)
            finally:
                for server in servers:
                    server.close()
            shutil.rmtree(work / tool, ignore_errors=True)
        report(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # an explicit --clip lives outside it


def report(results: dict[str, Result], args: argparse.Namespace) -> None:
    def per_stream_minute(r: Result) -> float:
        return r.cpu_seconds / args.streams / (r.window / 60)

    rows: list[tuple[str, Any]] = [
        ("CPU s per stream-minute", per_stream_minute),
        ("CPU % of one core, all streams", lambda r: 100 * r.cpu_seconds / r.window),
        ("context switches per second", lambda r: r.switches / r.window),
        ("peak RSS MB (ffmpeg: sum)", lambda r: r.peak_rss_mb),
        ("largest inter-segment gap ms", lambda r: r.gap_ms),
        ("frames missing from timeline", lambda r: r.missing_frames),
        ("frames recorded / segments", lambda r: f"{r.frames} / {r.segments}"),
    ]
    print(
        f"\n{args.streams} streams x {args.duration:.0f} s, 1080p{args.fps} "
        f"{args.bitrate / 1e6:.0f} Mbit/s, GOP {args.gop:.0f} s, segments {args.segment:.0f} s, "
        f"{os.cpu_count()} cores"
    )
    hub, ff = results.get("hub"), results.get("ffmpeg")
    print("| metric | nvr-hub | ffmpeg | hub/ffmpeg |\n| --- | ---: | ---: | ---: |")
    for label, get in rows:
        a = get(hub) if hub else None
        b = get(ff) if ff else None
        ratio = f"{a / b:.2f}" if isinstance(a, float) and isinstance(b, float) and b else ""
        print(f"| {label} | {_fmt(a)} | {_fmt(b)} | {ratio} |")


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


if __name__ == "__main__":
    main()
