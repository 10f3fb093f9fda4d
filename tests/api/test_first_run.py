"""First start of a database: the demo camera is seeded once, and the admin created once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from nvr_hub import keys
from nvr_hub.app import create_app
from nvr_hub.config import parse_config


async def test_demo_stream_seeded_once_and_stays_deleted(
    database_url: str, aiohttp_client: Any, tmp_path: Path, capsys: Any
) -> None:
    raw = {"storage": {"path": str(tmp_path / "data")}, "database": {"url": database_url}}
    app = create_app(await asyncio.to_thread(parse_config, raw))
    client = await aiohttp_client(app)
    banner = capsys.readouterr().out
    assert "username: admin" in banner
    password = banner.split("password: ", 1)[1].split()[0]
    streams = await app[keys.STREAMS].all()
    assert [s.url.split("://")[0] for s in streams] == ["demo"]
    resp = await client.post("/api/auth/login", json={"username": "admin", "password": password})
    assert resp.status == 200
    assert (await client.delete(f"/api/streams/{streams[0].name}")).status == 200
    await client.close()

    app = create_app(await asyncio.to_thread(parse_config, raw))
    await aiohttp_client(app)
    assert await app[keys.STREAMS].all() == []  # a deleted demo camera does not come back
    assert "password:" not in capsys.readouterr().out  # and no second admin
    assert [u.username for u in await app[keys.AUTH].list_users()] == ["admin"]
