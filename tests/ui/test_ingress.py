"""The UI behind a path prefix, as Home Assistant ingress serves it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict
from playwright.async_api import Browser, expect

from tests.e2e.hubproc import free_port
from tests.ui.conftest import ADMIN_PASSWORD, CAMERA, UiHub
from tests.ui.test_ui import LIVE_TILE_SHOWS

PREFIX = "/api/hassio_ingress/t0ken"
_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@pytest.fixture
async def ingress(ui_hub: UiHub) -> AsyncIterator[str]:
    """A reverse proxy like Home Assistant's ingress: strips PREFIX, adds X-Ingress-Path."""
    session = aiohttp.ClientSession(auto_decompress=False)

    async def forward(request: web.Request) -> web.Response:
        url = f"{ui_hub.url}/{request.match_info['tail']}"
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP)
        headers["X-Ingress-Path"] = PREFIX
        headers["X-Forwarded-Host"] = request.host
        async with session.request(
            request.method,
            url,
            params=request.query,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            out = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP)
            return web.Response(status=upstream.status, body=body, headers=out)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", PREFIX + "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{PREFIX}/"
    finally:
        await runner.cleanup()
        await session.close()


async def test_ui_works_behind_an_ingress_prefix(browser: Browser, ingress: str) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    ctx.on("request", lambda req: requests.append(req.url))
    try:
        page = await ctx.new_page()
        await page.goto(ingress)
        await page.wait_for_url(re.compile(re.escape(PREFIX) + r"/login\.html"))
        await page.fill("#username", "admin")
        await page.fill("#password", ADMIN_PASSWORD)
        await page.click("#submit")
        await page.wait_for_url(re.compile(re.escape(PREFIX) + r"/#/live"))
        cookies = await ctx.cookies()
        assert [c["path"] for c in cookies if c["name"] == "session"] == [PREFIX + "/"]
        tile = page.locator(f'article.tile[data-stream="{CAMERA}"]')
        await expect(tile.locator(".badge")).to_have_text("connected")
        await page.wait_for_function(LIVE_TILE_SHOWS, arg=CAMERA, polling=500, timeout=60_000)
        # A write through the proxy passes the cross-site check (X-Forwarded-Host).
        await page.goto(ingress + "#/settings")
        answer = await page.evaluate(
            """async () => (await fetch('api/settings', {method: 'POST',
                 headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({snapshot_interval: 0})})).status"""
        )
        assert answer == 200
        # Every request stayed under the prefix: nothing escaped to the proxy's root.
        escaped = [u for u in requests if u.startswith("http://127.0.0.1") and PREFIX not in u]
        assert escaped == []
    finally:
        await ctx.close()
