"""Benchmark the MQTT integration: motion latency bus → subscriber, and CPU per 16 streams.

A real hub (`create_app` on a scratch SQLite database, streams disabled so no camera work
competes) connects to a private `mosquitto` on a free port. A subscriber in another process
stamps every message with CLOCK_MONOTONIC, the clock the hub stamps `bus.publish` with.

1. Latency: motion ON/OFF events for the streams in turn, at `--rate` per second, alone and
   while every stream also publishes a `--jpeg-kb` snapshot every `--load-interval` s.
2. CPU: `--cycles` cycles of what 16 streams cost every `snapshot_interval` = 10 s (a status,
   a snapshot of each stream and the stats message) back to back; hub and broker CPU
   seconds per cycle give the share of one core at one cycle per 10 s. Making the JPEGs is
   measured apart: the hub decodes one 1280x720 H.264 keyframe per stream and interval.

    .venv/bin/python bench/mqtt.py
    .venv/bin/python bench/mqtt.py --streams 16 --events 4000 --cycles 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integrations.mqtt.connection import Connection  # noqa: E402
from integrations.mqtt.integration import MqttIntegration  # noqa: E402
from nvr_hub import keys  # noqa: E402
from nvr_hub.app import create_app  # noqa: E402
from nvr_hub.bus import MotionEnded, MotionStarted, SnapshotTaken, StreamStatusChanged  # noqa: E402
from nvr_hub.config import parse_config  # noqa: E402

MOSQUITTO = "/usr/sbin/mosquitto"
PREFIX = "bench"
# Measured 2026-11 on the 2-core development VM (see bench/README.md, MQTT).
REFERENCE = {
    "idle p50": 0.403,
    "idle p99": 2.717,
    "idle max": 9.176,
    "load p50": 0.551,
    "load p99": 6.095,
    "load max": 38.682,
    "hub ms/cycle": 13.111,
    "broker ms/cycle": 1.6,
    "hub %core": 0.131,
    "broker %core": 0.016,
    "jpeg ms": 5.348,
    "jpeg %core": 0.856,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"{user}listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mosquitto did not start")


def subscriber_main(port: int) -> None:
    """Subscriber process: after `ready`, print `ns topic` per live motion message at the end."""
    import paho.mqtt.client as mqtt

    seen: list[str] = []  # printed only at the end: a full pipe would stall the client

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic_ns()
        if not msg.retain:
            seen.append(f"{now} {msg.topic}")

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(f"{PREFIX}/+/motion", qos=1)
    client.loop_start()
    time.sleep(0.5)
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes stdin
    client.loop_stop()
    client.disconnect()
    print("\n".join(seen), flush=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def connected(app: web.Application) -> None:
    mqtt = next(i for i in app[keys.INTEGRATIONS] if isinstance(i, MqttIntegration))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        bridge = mqtt.bridge
        if bridge and bridge.conn and bridge.conn.connected.is_set():
            await asyncio.sleep(0.5)  # the full publish after connecting
            return
        await asyncio.sleep(0.05)
    raise SystemExit("the hub did not connect to the broker")


async def latency(
    app: web.Application, port: int, args: argparse.Namespace, load: bool
) -> list[float]:
    """Milliseconds from `bus.publish` to arrival, one per motion message."""
    sub = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--subscriber",
        str(port),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert sub.stdout is not None
    assert (await sub.stdout.readline()).strip() == b"ready"
    bus = app[keys.BUS]
    names = [f"cam{i:02d}" for i in range(args.streams)]
    jpeg = b"\xff\xd8" + os.urandom(args.jpeg_kb * 1024 - 4) + b"\xff\xd9"
    stop = asyncio.Event()

    async def snapshots() -> None:
        while not stop.is_set():
            for name in names:
                bus.publish(SnapshotTaken(stream=name, jpeg=jpeg))
            try:
                await asyncio.wait_for(stop.wait(), args.load_interval)
            except TimeoutError:
                pass

    loader = asyncio.get_running_loop().create_task(snapshots()) if load else None
    sent: dict[tuple[str, int], int] = {}
    counts: dict[str, int] = {}
    for k in range(args.events):
        name = names[k % len(names)]
        on = (k // len(names)) % 2 == 0
        topic = f"{PREFIX}/{name}/motion"
        seq = counts.get(topic, 0)
        counts[topic] = seq + 1
        sent[(topic, seq)] = time.monotonic_ns()
        bus.publish(MotionStarted(stream=name) if on else MotionEnded(stream=name))
        await asyncio.sleep(1 / args.rate)
    await asyncio.sleep(1.0)
    stop.set()
    if loader:
        await loader
    out, _ = await sub.communicate(b"")
    received: dict[str, int] = {}
    result = []
    for line in out.decode().splitlines():
        if not line:
            continue
        ns, topic = line.split()
        seq = received.get(topic, 0)
        received[topic] = seq + 1
        if (topic, seq) in sent:
            result.append((int(ns) - sent[(topic, seq)]) / 1e6)
    lost = args.events - len(result)
    if lost:
        print(f"  warning: {lost} motion messages did not arrive")
    return result


async def drained(conn: Connection) -> None:
    """Until the connection's writer has sent everything queued."""
    for _ in range(1000):
        if not conn._queue.qsize():  # noqa: SLF001 - a benchmark may look inside
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)


async def cpu(
    app: web.Application, broker: psutil.Process, args: argparse.Namespace
) -> tuple[float, float]:
    """(hub ms, broker ms) of CPU per 10 s cycle of 16 streams' states and snapshots."""
    bus = app[keys.BUS]
    mqtt = next(i for i in app[keys.INTEGRATIONS] if isinstance(i, MqttIntegration))
    bridge = mqtt.bridge
    assert bridge is not None and bridge.conn is not None
    names = [f"cam{i:02d}" for i in range(args.streams)]
    jpeg = b"\xff\xd8" + os.urandom(args.jpeg_kb * 1024 - 4) + b"\xff\xd9"
    hub0, broker0 = time.process_time(), sum(broker.cpu_times()[:2])
    for _ in range(args.cycles):
        for name in names:
            bus.publish(StreamStatusChanged(stream=name, status="connected"))
            bus.publish(SnapshotTaken(stream=name, jpeg=jpeg))
        await bridge.periodic.stats()
        await asyncio.sleep(0)
    await drained(bridge.conn)
    hub = time.process_time() - hub0
    brk = sum(broker.cpu_times()[:2]) - broker0
    return hub / args.cycles * 1000, brk / args.cycles * 1000


def jpeg_cost(runs: int = 20) -> float:
    """Milliseconds to turn one 1280x720 H.264 keyframe into a JPEG (what a snapshot costs)."""
    from nvr_hub.media.demo import DemoInput
    from nvr_hub.media.keyframes import keyframe_to_jpeg

    demo = DemoInput("demo://bench?width=1280&height=720&fps=25", threading.Event())
    packet = next(iter(demo.packets()))
    extradata = demo.video_stream.codec_context.extradata
    data = bytes(packet)
    demo.close()
    keyframe_to_jpeg("h264", extradata, data)
    start = time.process_time()
    for _ in range(runs):
        keyframe_to_jpeg("h264", extradata, data)
    return (time.process_time() - start) / runs * 1000


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="mqtt-bench-"))
    broker_proc, port = start_broker(workdir)
    runner: web.AppRunner | None = None
    try:
        config = parse_config(
            {"storage": {"path": str(workdir / "data")}, "streams": [], "first_run_admin": False}
        )
        app = create_app(config, setup_logs=False)
        runner = web.AppRunner(app)
        await runner.setup()
        for i in range(args.streams):
            await app[keys.STREAMS].add(
                {"name": f"cam{i:02d}", "url": "demo://x", "enabled": False}
            )
        await app[keys.SETTINGS].update(
            {
                "mqtt_enabled": True,
                "mqtt_port": port,
                "mqtt_topic_prefix": PREFIX,
                "mqtt_stats_interval": 0,
            }
        )
        await connected(app)
        idle = await latency(app, port, args, load=False)
        loaded = await latency(app, port, args, load=True)
        hub_ms, broker_ms = await cpu(app, psutil.Process(broker_proc.pid), args)
    finally:
        if runner is not None:
            await runner.cleanup()
        broker_proc.terminate()
        broker_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    jpeg_ms = await asyncio.to_thread(jpeg_cost)
    figures = {
        "idle p50": statistics.median(idle),
        "idle p99": percentile(idle, 99),
        "idle max": max(idle),
        "load p50": statistics.median(loaded),
        "load p99": percentile(loaded, 99),
        "load max": max(loaded),
        "hub ms/cycle": hub_ms,
        "broker ms/cycle": broker_ms,
        "hub %core": hub_ms / 10_000 * 100,
        "broker %core": broker_ms / 10_000 * 100,
        "jpeg ms": jpeg_ms,
        "jpeg %core": jpeg_ms * args.streams / 10_000 * 100,
    }
    print(
        f"\nMQTT bench: {args.streams} streams, {args.events} motion events at {args.rate}/s, "
        f"{args.jpeg_kb} KiB snapshots (load: all streams every {args.load_interval} s), "
        f"{args.cycles} CPU cycles"
    )
    print(f"{'figure':<18}{'this run':>12}{'reference':>12}")
    for key, value in figures.items():
        print(f"{key:<18}{value:>12.3f}{REFERENCE[key]:>12.3f}")
    print("latencies in ms; %core = share of one core at one cycle per 10 s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200.0, help="motion events per second")
    parser.add_argument("--jpeg-kb", type=int, default=150)
    parser.add_argument("--load-interval", type=float, default=1.0)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--subscriber", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.subscriber:
        subscriber_main(arguments.subscriber)
    else:
        asyncio.run(main(arguments))
