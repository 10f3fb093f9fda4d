"""The `nvr-hub` command as a user runs it: first run, users, db, config check, restart."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from tests.e2e.hubproc import NVR_HUB, free_port, hub_env, start_hub, wait_healthy


def _run(data: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NVR_HUB, *args],
        env=hub_env(data, 1, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _request(
    port: int, method: str, path: str, body: object = None, cookie: str = ""
) -> tuple[int, dict[str, object], str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}"), r.headers.get("Set-Cookie", "")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}"), ""


def test_config_check_names_the_bad_key(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("server:\n  port: 8081\n")
    result = _run(tmp_path, "--config", str(good), "config", "check")
    assert result.returncode == 0 and "configuration OK" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("storage:\n  retention_dayz: 3\n")
    result = _run(tmp_path, "--config", str(bad), "config", "check")
    assert result.returncode == 2
    assert "unknown field 'storage.retention_dayz'" in result.stderr


def test_db_and_user_commands(tmp_path: Path) -> None:
    # A storage folder not made yet (first look before any `serve`): made, not an error.
    result = _run(tmp_path / "not-yet", "db", "current")
    assert result.returncode == 0 and "revision None" in result.stdout
    result = _run(tmp_path, "db", "upgrade")
    assert result.returncode == 0 and re.search(r"revision \w+ \(newest \w+\)", result.stdout)
    result = _run(
        tmp_path,
        "user",
        "add",
        "ops",
        "--role",
        "admin",
        "--password-stdin",
        stdin="ops-password\n",
    )
    assert result.returncode == 0, result.stderr
    result = _run(tmp_path, "user", "add", "ops", "--password-stdin", stdin="ops-password\n")
    assert result.returncode == 2 and "already exists" in result.stderr
    result = _run(tmp_path, "user", "add", "x", "--password-stdin", stdin="short\n")
    assert result.returncode == 2 and "at least 8" in result.stderr
    result = _run(tmp_path, "user", "passwd", "ops", "--password-stdin", stdin="ops-password-2\n")
    assert result.returncode == 0
    listing = _run(tmp_path, "user", "list").stdout
    assert re.search(r"^1\tops\tadmin\tactive", listing, re.M)
    assert "ops-password" not in listing


def _drain(proc: subprocess.Popen[str], lines: list[str]) -> threading.Thread:
    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def test_first_run_prints_password_once_then_restart_and_shutdown(tmp_path: Path) -> None:
    port = free_port()
    proc = start_hub(tmp_path, port)
    lines: list[str] = []
    pump = _drain(proc, lines)
    try:
        wait_healthy(port)
        output = "".join(lines)
        match = re.search(r"password: (\S+)", output)
        assert match, output
        password = match.group(1)
        assert password != "admin" and len(password) >= 12
        # The password is printed, never logged to the file.
        log_text = (tmp_path / "logs" / "nvr-hub.log").read_text()
        assert password not in log_text

        status, body, cookie = _request(
            port, "POST", "/api/auth/login", {"username": "admin", "password": password}
        )
        assert status == 200, body
        session = cookie.split(";")[0]
        status, body, _ = _request(port, "GET", "/api/streams", cookie=session)
        streams = body["streams"]
        assert isinstance(streams, list) and [s["url"][:7] for s in streams] == ["demo://"]

        pid = proc.pid
        status, _, _ = _request(port, "POST", "/api/system/restart", {}, cookie=session)
        assert status == 200
        time.sleep(0.5)
        health = wait_healthy(port)
        assert proc.poll() is None and proc.pid == pid  # re-executed in place
        assert int(str(health["uptime"])) <= 3
        # The session survived (it lives in the database) and no new password was printed.
        status, _, _ = _request(port, "GET", "/api/auth/verify", cookie=session)
        assert status == 200
        assert len(re.findall(r"password: ", "".join(lines))) == 1

        status, _, _ = _request(port, "POST", "/api/system/shutdown", {}, cookie=session)
        assert status == 200
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pump.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
