"""Start a real `nvr-hub serve` process on a free port for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

NVR_HUB = str(Path(sys.executable).parent / "nvr-hub")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_env(data: Path, port: int, **extra: str) -> dict[str, str]:
    """Environment for a hub storing everything under `data`, listening on `port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NVR_HUB_")}
    env.update(
        NVR_HUB_STORAGE_PATH=str(data),
        NVR_HUB_SERVER_HOST="127.0.0.1",
        NVR_HUB_SERVER_PORT=str(port),
        **extra,
    )
    return env


def wait_healthy(port: int, deadline: float = 30.0) -> dict[str, object]:
    """Poll /api/health until it answers 200; returns its JSON."""
    import json

    end = time.monotonic() + deadline
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                return dict(json.loads(r.read()))
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            last = err
            time.sleep(0.1)
    raise AssertionError(f"hub on port {port} never became healthy: {last}")


def start_hub(data: Path, port: int, *args: str, **extra: str) -> subprocess.Popen[str]:
    """`nvr-hub serve` with stdout captured as text."""
    return subprocess.Popen(
        [NVR_HUB, *args, "serve"],
        env=hub_env(data, port, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
