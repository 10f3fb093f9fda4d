"""System info, logs, settings, backup, health and ICE servers."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from nvr_hub import keys
from nvr_hub.app import create_app
from tests.conftest import Hub


async def test_system_info_reports_machine_and_versions(hub: Hub) -> None:
    await hub.login()
    await hub.client.post(
        "/api/streams", json={"name": "a", "url": "rtsp://192.0.2.1/s", "enabled": False}
    )
    for path in ("/api/system", "/api/system/info"):
        info = await (await hub.client.get(path)).json()
        assert info["version"] == "0.1.0"
        assert info["uptime"] >= 0
        assert info["memory"]["total"] > info["memory"]["free"] > 0
        assert info["disk"]["total"] > 0 and info["cpu"]["cores"] >= 1
        assert info["streams"]["total"] == 1 and info["streams"]["enabled"] == 0
        assert info["recordings"] == {"count": 0, "size": 0}
        names = {item["name"]: item["version"] for item in info["versions"]["items"]}
        assert {"Python", "PyAV", "FFmpeg (libavformat)", "aiortc", "OS", "Database"} <= set(names)
        assert names["Database"].split()[0] in ("SQLite", "PostgreSQL")
    status = await (await hub.client.get("/api/system/status")).json()
    assert status["status"] in ("ok", "degraded") and isinstance(status["problems"], list)


async def test_logs_filter_limit_and_clear(hub: Hub) -> None:
    await hub.login()
    log = logging.getLogger("nvr_hub.test")
    log.info("hello info line")
    log.warning("camera rtsp://bob:hunter2@192.0.2.5/live went away")
    log.error("an error line")
    logs = (await (await hub.client.get("/api/system/logs?level=warning")).json())["logs"]
    messages = [e["message"] for e in logs]
    assert "an error line" in messages and "hello info line" not in messages
    assert any("rtsp://bob:***@192.0.2.5/live" in m for m in messages)
    assert not any("hunter2" in m for m in messages)
    assert messages.index("an error line") == len(messages) - 1  # newest last
    logs = (await (await hub.client.get("/api/system/logs?limit=1")).json())["logs"]
    assert len(logs) == 1 and logs[0]["level"] in ("info", "warning", "error")
    assert (await hub.client.get("/api/system/logs?level=loud")).status == 400
    assert (await hub.client.get("/api/system/logs?limit=0")).status == 400

    assert (await hub.client.post("/api/system/logs/clear")).status == 200
    logs = (await (await hub.client.get("/api/system/logs?level=error")).json())["logs"]
    assert logs == []


async def test_settings_masked_validated_and_restart_hint(hub: Hub) -> None:
    await hub.login()
    settings = await (await hub.client.get("/api/settings")).json()
    assert settings["retention_days"] == 30 and settings["mqtt_password"] == ""

    resp = await hub.client.post(
        "/api/settings", json={"retention_days": 7, "mqtt_password": "broker-secret"}
    )
    body = await resp.json()
    assert resp.status == 200 and body["restart_required"] is False
    assert body["changed"] == ["mqtt_password", "retention_days"]
    assert body["settings"]["mqtt_password"] == "********"
    assert "broker-secret" not in json.dumps(await (await hub.client.get("/api/settings")).json())

    # Sending the mask back keeps the secret; a port change needs a restart.
    resp = await hub.client.post(
        "/api/settings", json={"mqtt_password": "********", "web_port": 9090}
    )
    body = await resp.json()
    assert body["changed"] == ["web_port"] and body["restart_required"] is True
    assert hub.app[keys.SETTINGS].get("mqtt_password") == "broker-secret"

    for bad in ({"retention_days": "7"}, {"nope": 1}, {"ice_servers": [{"urls": ["http://x"]}]}):
        resp = await hub.client.post("/api/settings", json=bad)
        assert resp.status == 400, bad
    assert (await (await hub.client.get("/api/settings")).json())["retention_days"] == 7


async def test_settings_persist_across_restart(hub: Hub, aiohttp_client: Any) -> None:
    await hub.login()
    ice = [{"urls": ["stun:stun.example.org:3478"]}]
    await hub.client.post("/api/settings", json={"retention_days": 3, "ice_servers": ice})
    await hub.client.close()

    app = create_app(hub.config)
    client = await aiohttp_client(app)
    resp = await client.post(
        "/api/auth/login", json={"username": "admin", "password": "admin-password-1"}
    )
    assert resp.status == 200
    assert (await (await client.get("/api/settings")).json())["retention_days"] == 3
    assert (await (await client.get("/api/ice-servers")).json()) == {"ice_servers": ice}


async def test_backup_is_a_consistent_database_copy(hub: Hub, tmp_path: Path) -> None:
    await hub.login()
    await hub.client.post(
        "/api/streams", json={"name": "cam", "url": "rtsp://192.0.2.1/s", "enabled": False}
    )
    resp = await hub.client.post("/api/system/backup")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="nvr-hub-backup-')
    data = await resp.read()
    if hub.config.database_url.startswith("sqlite"):
        target = tmp_path / "backup.db"
        await asyncio.to_thread(target.write_bytes, data)
        streams, users = await asyncio.to_thread(_streams_and_users, target)
        assert streams == [("cam",)]
        assert users == [("admin",)]
    else:
        dump = json.loads(data)
        assert [s["name"] for s in dump["tables"]["streams"]] == ["cam"]
        assert [u["username"] for u in dump["tables"]["users"]] == ["admin"]


def _streams_and_users(path: Path) -> tuple[list[Any], list[Any]]:
    conn = sqlite3.connect(path)
    try:
        streams = conn.execute("select name from streams").fetchall()
        return streams, conn.execute("select username from users").fetchall()
    finally:
        conn.close()


async def test_health_is_public_and_ice_servers_need_auth(hub: Hub) -> None:
    resp = await hub.client.get("/api/health")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    resp = await hub.client.get("/api/health/hls")
    assert resp.status == 200 and "streams" in await resp.json()
    assert (await hub.client.get("/api/ice-servers")).status == 401
    await hub.login()
    assert (await (await hub.client.get("/api/ice-servers")).json()) == {"ice_servers": []}
