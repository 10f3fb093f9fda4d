"""`kill -9` while recording: the partial segment plays and its row is repaired on restart."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from pathlib import Path

import av

from tests.e2e.hubproc import free_port, start_hub, wait_healthy


def _get(port: int, path: str) -> dict[str, object]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    req.add_header("Authorization", "Basic " + _basic())
    with urllib.request.urlopen(req, timeout=10) as r:
        return dict(json.loads(r.read()))


def _basic() -> str:
    import base64

    return base64.b64encode(b"ops:ops-password").decode()


def test_kill_9_loses_at_most_the_last_fragment(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        "first_run_admin: false\n"
        "streams:\n"
        "  - name: cam\n"
        "    url: demo://cam?width=320&height=240&fps=10\n"
        "    segment_duration: 300\n"
    )
    import subprocess

    from tests.e2e.hubproc import NVR_HUB, hub_env

    subprocess.run(
        [
            NVR_HUB,
            "--config",
            str(config),
            "user",
            "add",
            "ops",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="ops-password\n",
        env=hub_env(tmp_path, 1),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    port = free_port()
    proc = start_hub(tmp_path, port, "--config", str(config))
    try:
        wait_healthy(port)
        deadline = time.monotonic() + 20
        rows: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            rows = list(_get(port, "/api/recordings?stream=cam")["recordings"])  # type: ignore[arg-type]
            if rows:
                break
            time.sleep(0.2)
        assert rows and rows[0]["is_complete"] is False
        time.sleep(5)  # 5 s into the 300 s segment: 20 fragments, 2.5 GOPs
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    files = sorted((tmp_path / "recordings").rglob("*.mp4"))
    assert len(files) == 1
    with av.open(str(files[0])) as container:
        frames = sum(1 for _ in container.decode(video=0))
    # All but the fragment in memory (FRAGMENT_SECONDS), with slack for a busy machine.
    assert frames >= 40

    proc = start_hub(tmp_path, port, "--config", str(config))
    try:
        wait_healthy(port)
        body = _get(port, f"/api/recordings/{rows[0]['id']}")
        assert body["is_complete"] is True
        assert float(str(body["duration"])) >= 4.0
        assert body["end_time"] != body["start_time"]
        assert int(str(body["size_bytes"])) == files[0].stat().st_size
        # And it still plays through the API.
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/recordings/play/{rows[0]['id']}")
        req.add_header("Authorization", "Basic " + _basic())
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["Content-Type"] == "video/mp4" and r.read(8)[4:8] == b"ftyp"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()
