"""Benchmark live view: time to first frame, glass-to-glass latency, CPU per viewer, HLS latency.

A real hub (`create_app`, SQLite) listens on 127.0.0.1. The demo camera's frames are
stamped with the wall clock (a 40-bit barcode of milliseconds drawn into the picture),
so a viewer that decodes a frame reads when it was drawn: that is glass-to-glass
latency, encode and decode included. CPU per viewer uses a 1080p25 ~4 Mbit/s High
profile clip from a local GStreamer RTSP server (tests/rtsp_server.py); the viewers run
in another process with their decoder replaced by a counter, so only the hub's CPU
(this process) is measured, and the server's is not.

    .venv/bin/python bench/live.py                    # all figures, ~2 minutes
    .venv/bin/python bench/live.py --viewers 5 --window 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import psutil
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from nvr_hub import keys  # noqa: E402
from nvr_hub.app import create_app  # noqa: E402
from nvr_hub.config import parse_config  # noqa: E402
from nvr_hub.media import demo, quiet_libav_logging  # noqa: E402
from tests.live.helpers import Viewer  # noqa: E402
from tests.rtsp_server import RtspServer, make_test_clip  # noqa: E402

BITS, BLOCK = 40, 16
MASK = (1 << BITS) - 1
PASSWORD = "bench-password-1"


def _stamp_demo_frames() -> None:
    """Draw the wall clock into every demo frame, top-left, as black and white blocks."""
    original = demo._Pattern.frame

    def frame(self: demo._Pattern, t: float) -> np.ndarray:
        img = original(self, t)
        now = int(time.time() * 1000) & MASK
        for bit in range(BITS):
            img[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 235 if now >> bit & 1 else 16
        return img

    demo._Pattern.frame = frame  # type: ignore[method-assign]


def latency_ms(frame: av.VideoFrame) -> float:
    """Now minus the time stamped into the frame."""
    now = int(time.time() * 1000) & MASK
    luma = frame.to_ndarray(format="gray")
    stamp = sum(1 << bit for bit in range(BITS) if luma[BLOCK // 2, bit * BLOCK + BLOCK // 2] > 128)
    return float((now - stamp) & MASK)


@contextlib.asynccontextmanager
async def running_hub(folder: Path) -> AsyncIterator[tuple[web.Application, str, str]]:
    """A hub on 127.0.0.1; yields (app, base URL, API key)."""
    config = parse_config(
        {
            "storage": {"path": str(folder / "data")},
            "database": {"url": f"sqlite+aiosqlite:///{folder / 'hub.db'}"},
            "streams": [],
            "first_run_admin": False,
            "logging": {"level": "WARNING"},
        }
    )
    app = create_app(config, setup_logs=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    user = await app[keys.AUTH].create_user("bench", PASSWORD, role="admin")
    key = await app[keys.AUTH].create_api_key(user.id)
    await app[keys.SETTINGS].update(
        {
            "webrtc_host_addresses": ["127.0.0.1"],
            "webrtc_max_peers_per_stream": 100,
            "webrtc_max_peers": 100,
        }
    )
    try:
        yield app, f"http://127.0.0.1:{port}", key
    finally:
        await runner.cleanup()


async def add_stream(app: web.Application, name: str, url: str) -> None:
    await app[keys.STREAMS].add({"name": name, "url": url, "record": False})
    for _ in range(400):
        feed = app[keys.LIVE].feed(name)
        if feed is not None and feed.last_frame_time is not None:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"stream {name} did not start")


async def whep(http: aiohttp.ClientSession, base: str, stream: str, viewer: Viewer) -> str:
    offer = await viewer.offer()
    resp = await http.post(
        f"{base}/api/webrtc?src={stream}",
        data=offer,
        headers={"Content-Type": "application/sdp"},
    )
    if resp.status != 201:
        raise RuntimeError(f"offer refused: {resp.status} {await resp.text()}")
    await viewer.accept(await resp.text())
    return resp.headers["Location"]


async def first_frames(base: str, key: str, stream: str, runs: int) -> dict[str, float]:
    """Offer (client start) → first decoded frame, one fresh viewer at a time."""
    totals, posts = [], []
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as http:
        for _ in range(runs):
            started = time.monotonic()
            viewer = Viewer()
            offer = await viewer.offer()
            posted = time.monotonic()
            resp = await http.post(
                f"{base}/api/webrtc?src={stream}",
                data=offer,
                headers={"Content-Type": "application/sdp"},
            )
            await viewer.accept(await resp.text())
            await viewer.frames(1)
            done = time.monotonic()
            totals.append((done - started) * 1000)
            posts.append((done - posted) * 1000)
            await http.delete(f"{base}{resp.headers['Location']}")
            await viewer.close()
            await asyncio.sleep(0.3)  # a new viewer lands anywhere in the GOP
    return {
        "first_frame_ms_p50": statistics.median(totals),
        "first_frame_ms_max": max(totals),
        "post_to_frame_ms_p50": statistics.median(posts),
    }


async def glass_to_glass(base: str, key: str, stream: str, frames: int) -> dict[str, float]:
    """Stamped frames read back by one aiortc viewer, after a 1 s warm-up."""
    viewer = Viewer()
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as http:
        location = await whep(http, base, stream, viewer)
        await viewer.frames(25)  # past the replayed GOP
        samples = []
        for _ in range(frames):
            (frame,) = await viewer.frames(1)
            samples.append(latency_ms(frame))  # read the moment it is decoded
        await http.delete(f"{base}{location}")
    await viewer.close()
    samples.sort()
    return {
        "webrtc_latency_ms_p50": statistics.median(samples),
        "webrtc_latency_ms_p95": samples[int(len(samples) * 0.95) - 1],
    }


def hls_latency(url: str, key: str, seconds: float) -> dict[str, float]:
    """FFmpeg's HLS reader on the live playlist, after a warm-up.

    A whole segment arrives at once, so its first frame is the oldest: a player that
    plays at the stream's pace is at least that far behind (plus its own buffer).
    """
    samples: list[float] = []
    options = {"headers": f"X-API-Key: {key}\r\n", "rw_timeout": "10000000"}
    started = time.monotonic()
    with av.open(url, options=options) as container:
        for frame in container.decode(video=0):
            elapsed = time.monotonic() - started
            if elapsed > seconds:
                break
            if elapsed > seconds / 2 and frame.key_frame:
                samples.append(latency_ms(frame))
    return {"hls_latency_ms_p50": statistics.median(samples), "hls_latency_ms_max": max(samples)}


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


async def measure_cpu(window: float) -> float:
    """Percent of one core this process used over `window` seconds."""
    before, started = cpu_seconds(), time.monotonic()
    await asyncio.sleep(window)
    return 100 * (cpu_seconds() - before) / (time.monotonic() - started)


async def cpu_per_viewer(base: str, key: str, stream: str, viewers: int, window: float) -> Any:
    """The hub's CPU with 0..N viewers (each in a helper process that does not decode)."""
    rows = [{"viewers": 0, "cpu_percent": await measure_cpu(window)}]
    procs: list[asyncio.subprocess.Process] = []
    try:
        for count in range(1, viewers + 1):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "viewer",
                base,
                key,
                stream,
                stdout=asyncio.subprocess.PIPE,
                cwd=ROOT,
            )
            procs.append(proc)
            assert proc.stdout is not None
            line = await proc.stdout.readline()
            if line.strip() != b"READY":
                raise RuntimeError(f"viewer failed: {line!r}")
            await asyncio.sleep(1.0)
            rows.append({"viewers": count, "cpu_percent": await measure_cpu(window)})
    finally:
        for proc in procs:
            proc.kill()
            await proc.wait()
    slope = (rows[-1]["cpu_percent"] - rows[1]["cpu_percent"]) / max(viewers - 1, 1)
    return {"by_viewers": rows, "cpu_percent_per_extra_viewer": slope}


async def viewer_process(base: str, key: str, stream: str) -> None:
    """One viewer that receives and counts frames but never decodes them."""
    import aiortc.rtcrtpreceiver

    counted = threading.Event()

    class Counter:
        def decode(self, _frame: object) -> list[object]:
            counted.set()
            return []

    aiortc.rtcrtpreceiver.get_decoder = lambda _codec: Counter()  # type: ignore[assignment]
    viewer = Viewer()
    async with aiohttp.ClientSession(headers={"X-API-Key": key}) as http:
        await whep(http, base, stream, viewer)
    await asyncio.to_thread(counted.wait, 20)
    print("READY" if counted.is_set() else "NO-FRAMES", flush=True)
    await asyncio.Event().wait()


async def main(args: argparse.Namespace) -> None:
    quiet_libav_logging()
    _stamp_demo_frames()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        folder = Path(tmp)
        clip = make_test_clip(
            folder / "1080p.mp4", 10, 1920, 1080, 25, bitrate=4_000_000, gop_seconds=2
        )
        async with running_hub(folder) as (app, base, key):
            await add_stream(app, "stamped", "demo://bench?width=640&height=360&fps=25")
            results |= await first_frames(base, key, "stamped", args.runs)
            results |= await glass_to_glass(base, key, "stamped", 200)
            url = f"{base}/hls/stamped/index.m3u8"
            results |= await asyncio.to_thread(hls_latency, url, key, args.hls_seconds)
            await app[keys.STREAMS].delete("stamped")
            with RtspServer(clip) as camera:
                await add_stream(app, "cam1080", camera.url)
                results["cpu"] = await cpu_per_viewer(
                    base, key, "cam1080", args.viewers, args.window
                )
                await app[keys.STREAMS].delete("cam1080")
    for name, value in results.items():
        print(f"{name}: {value if not isinstance(value, float) else round(value, 1)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["viewer"]:
        asyncio.run(viewer_process(*sys.argv[2:5]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="first-frame runs")
    parser.add_argument("--viewers", type=int, default=4, help="most viewers for the CPU part")
    parser.add_argument("--window", type=float, default=10.0, help="seconds per CPU sample")
    parser.add_argument("--hls-seconds", type=float, default=30.0)
    asyncio.run(main(parser.parse_args()))
