"""Headless Chromium plays the live page over WebRTC and HLS (Playwright, Debian's chromium)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

from tests.conftest import ADMIN_PASSWORD, Hub
from tests.rtsp_server import RtspServer

from .conftest import HEIGHT, WIDTH
from .helpers import DEMO_URL, add_stream, allow_loopback

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FOUND = Path(CHROMIUM).exists()
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The hub listens on 127.0.0.1 only here; Chromium leaves loopback out of ICE
    # unless told, and would hide its addresses behind mDNS names (multicast lookups).
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium; a missing binary fails the test (never skipped)."""
    assert CHROMIUM_FOUND, "install Debian's chromium (see .ci/apt-packages.txt)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


async def open_live_page(hub: Hub, browser: Browser, query: str) -> Page:
    """Log in within a fresh browser context and open /live.html?query."""
    base = str(hub.client.make_url("")).rstrip("/")
    context = await browser.new_context(base_url=base)
    login = await context.request.post(
        "/api/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert login.status == 200
    page = await context.new_page()

    async def loopback_only(route: Route) -> None:
        # Keep the test's traffic on 127.0.0.1: drop the browser's other candidates.
        body = route.request.post_data or ""
        lines = [
            line
            for line in body.split("\r\n")
            if not line.startswith("a=candidate:") or " 127.0.0.1 " in line
        ]
        await route.continue_(post_data="\r\n".join(lines))

    await page.route("**/api/webrtc?*", loopback_only)
    await page.goto(f"/live.html?{query}")
    return page


async def playback(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate(
        """() => { const v = document.getElementById('video');
          return {width: v.videoWidth, height: v.videoHeight, time: v.currentTime,
                  status: window.liveState.status, error: window.liveState.error}; }"""
    )
    return state


async def assert_plays(page: Page, within: float) -> dict[str, Any]:
    """Wait for a picture, then check that the video clock moves on."""
    end = time.monotonic() + within
    state = await playback(page)
    while state["width"] == 0 or state["time"] <= 0:
        assert state["error"] is None, state["error"]
        assert time.monotonic() < end, f"no picture in {within} s: {state}"
        await asyncio.sleep(0.1)
        state = await playback(page)
    first = state["time"]
    await asyncio.sleep(1.5)
    later = await playback(page)
    assert later["time"] - first > 0.8, (state, later)
    return later


# The browser tests exercise the media path, not the database: SQLite is enough.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_chromium_plays_webrtc(hub: Hub, browser: Browser, camera: RtspServer) -> None:
    await hub.login()
    await allow_loopback(hub)
    await add_stream(hub, "cam", camera.url)  # High profile, as most cameras send
    page = await open_live_page(hub, browser, "src=cam")
    started = time.monotonic()
    state = await assert_plays(page, 10)
    assert (state["width"], state["height"]) == (WIDTH, HEIGHT)
    assert state["status"] == "connected"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_chromium_plays_live_hls(hub: Hub, browser: Browser) -> None:
    await hub.login()
    await add_stream(hub, "demo", DEMO_URL)
    page = await open_live_page(hub, browser, "src=demo&mode=hls")
    state = await assert_plays(page, 20)
    assert (state["width"], state["height"]) == (WIDTH, HEIGHT)
