"""Real Mosquitto for the MQTT tests: the machine's broker, private ones, and a watcher."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

MACHINE_BROKER = ("127.0.0.1", 1883)
MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_machine_broker() -> None:
    """Fail loudly (never skip) when the machine's Mosquitto is not running."""
    assert answers(MACHINE_BROKER[1]), (
        "Mosquitto is not answering on 127.0.0.1:1883: start it (`.ci/run` does) "
        "or install the Debian package `mosquitto`"
    )


class PrivateBroker:
    """A `mosquitto` process of our own on a free port, to stop and restart at will."""

    def __init__(self, workdir: Path, port: int | None = None, extra: str = "") -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        self.log = workdir / f"mosquitto-{self.port}.log"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Write its config, start it and wait until it accepts connections; blocking."""
        assert shutil.which(MOSQUITTO) or Path(MOSQUITTO).exists(), (
            f"{MOSQUITTO} is missing: install the Debian package `mosquitto`"
        )
        # As root, mosquitto would switch to its own user and lose our 0700 temp folder.
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            f"{user}listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"log_dest file {self.log}\n{self.extra}"
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                log = self.log.read_text() if self.log.exists() else ""
                raise AssertionError(f"mosquitto exited: {err}{log}")
            if answers(self.port):
                return
            time.sleep(0.05)
        raise AssertionError(f"mosquitto never listened on {self.port}")

    async def run(self) -> None:
        """`start` off the event loop."""
        await asyncio.to_thread(self.start)

    def kill(self) -> None:
        """Stop it hard (a crash: clients see the connection drop)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None


@dataclass
class Received:
    """One message a watcher saw."""

    topic: str
    payload: bytes
    retain: bool
    at: float = field(default_factory=time.monotonic)


class Watcher:
    """A real MQTT client that records everything on its subscriptions."""

    def __init__(self, port: int, *filters: str, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.filters = filters
        self.messages: list[Received] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Watcher:
        self._client = aiomqtt.Client(self.host, self.port, timeout=5)
        await self._client.__aenter__()
        for topic_filter in self.filters:
            await self._client.subscribe(topic_filter, qos=1)
        self._task = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, aiomqtt.MqttError):
                pass
        if self._client is not None:
            try:
                await self._client.__aexit__(None, None, None)
            except aiomqtt.MqttError:
                pass

    async def _read(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload or "").encode()
            self.messages.append(Received(message.topic.value, data, message.retain))
            self._changed.set()

    async def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """Publish as another client would (Home Assistant, an automation)."""
        assert self._client is not None
        await self._client.publish(topic, payload, qos=1, retain=retain)

    def on(self, topic: str) -> list[Received]:
        """Every message seen on one topic, oldest first."""
        return [m for m in self.messages if m.topic == topic]

    def latest(self, topic: str) -> bytes | None:
        """The newest payload seen on a topic."""
        seen = self.on(topic)
        return seen[-1].payload if seen else None

    def clear(self) -> None:
        """Forget what was seen so far."""
        self.messages.clear()

    async def wait(self, predicate: Callable[[], Any], within: float = 10.0) -> Any:
        """Wait until `predicate()` is truthy; returns its value."""
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [(m.topic, m.payload[:80], m.retain) for m in self.messages[-30:]]
                raise AssertionError(f"MQTT condition not met in {within} s; last seen: {seen}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
            except TimeoutError:
                pass

    async def wait_payload(self, topic: str, payload: bytes, within: float = 10.0) -> Received:
        """Wait for `payload` on `topic`; returns the message."""

        def found() -> Received | None:
            seen = self.on(topic)
            return seen[-1] if seen and seen[-1].payload == payload else None

        result: Received = await self.wait(found, within)
        return result


async def retained(port: int, topic_filter: str, settle: float = 0.5) -> dict[str, bytes]:
    """What a new subscriber gets as retained messages right now."""
    async with Watcher(port, topic_filter) as watcher:
        await asyncio.sleep(settle)
        return {m.topic: m.payload for m in watcher.messages if m.retain}


async def clear_retained(port: int, *filters: str) -> None:
    """Remove every retained message under the filters (tests leave the broker clean)."""
    async with Watcher(port, *filters) as watcher:
        await asyncio.sleep(0.3)
        for topic in {m.topic for m in watcher.messages if m.retain and m.payload}:
            await watcher.publish(topic, b"", retain=True)
