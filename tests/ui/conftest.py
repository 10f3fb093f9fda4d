"""Browser tests: a real `nvr-hub serve` with a demo camera, driven by Debian's Chromium."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.e2e.hubproc import NVR_HUB, free_port, hub_env, wait_healthy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
ADMIN_PASSWORD = "ui-admin-password"
CAMERA = "cam"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The UI waits on a loaded machine (2 shared cores): generous, never a fixed sleep.
WAIT_MS = 30_000

# `expect` has its own 5 s default; on a shared 2-core machine give it the same margin.
expect.set_options(timeout=WAIT_MS)

if not Path(CHROMIUM).exists():  # make test installs it; a missing browser fails loudly
    raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (.ci/apt-packages.txt)")


@dataclass
class UiHub:
    """A running hub process: its base URL and an admin API client."""

    url: str
    port: int
    log: Path

    def api(
        self, method: str, path: str, body: Any = None, auth: tuple[str, str] | None = None
    ) -> Any:
        """Call the API as admin (HTTP Basic); returns the JSON answer (raises on HTTP errors)."""
        user, password = auth or ("admin", ADMIN_PASSWORD)
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=15) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    async def status(self, path: str) -> int:
        """The HTTP status of an admin GET."""
        try:
            await self.call("GET", path)
        except urllib.error.HTTPError as err:
            err.close()
            return err.code
        return 200

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """`api()` off the event loop."""
        return await asyncio.to_thread(self.api, method, path, body)

    async def wait_for(self, what: str, check: Any, within: float = 60.0) -> Any:
        """Poll the blocking `check()` (in a thread) until it returns something truthy."""
        end = time.monotonic() + within
        while time.monotonic() < end:
            value = await asyncio.to_thread(check)
            if value:
                return value
            await asyncio.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def ui_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiHub]:
    """One hub for every UI test: SQLite, one demo camera cutting 5 s segments."""
    root = tmp_path_factory.mktemp("ui-hub")
    config = root / "hub.yaml"
    config.write_text(
        "integrations: []\n"
        "first_run_admin: false\n"
        "streams:\n"
        f"  - name: {CAMERA}\n"
        "    url: demo://ui?width=320&height=180&fps=10\n"
        "    segment_duration: 5\n"
    )
    port = free_port()
    env = hub_env(root / "data", port)
    subprocess.run(
        [
            NVR_HUB,
            "--config",
            str(config),
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input=ADMIN_PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    log = root / "hub.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [NVR_HUB, "--config", str(config), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(port, deadline=60)
        yield UiHub(url=f"http://127.0.0.1:{port}", port=port, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium (never a downloaded browser build)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(
    browser: Browser, request: pytest.FixtureRequest, ui_hub: UiHub
) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile; on failure, a screenshot of each open page and the hub log."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, base_url=ui_hub.url)
    ctx.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    ctx.on("weberror", lambda err: errors.append(str(err.error)))
    try:
        yield ctx
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            for i, page in enumerate(ctx.pages):
                try:
                    await page.screenshot(
                        path=str(ARTIFACTS / f"ui-{name}-{i}.png"), full_page=True
                    )
                except Exception as err:  # a crashed page must not hide the real failure
                    print(f"screenshot of page {i} failed: {err}")
            shutil.copy(ui_hub.log, ARTIFACTS / f"ui-{name}-hub.log")
            if errors:
                (ARTIFACTS / f"ui-{name}-js-errors.txt").write_text("\n".join(errors))
        await ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    """A page in the fresh context."""
    return await context.new_page()


async def login(page: Page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Log in through the form and land on the Live page."""
    await page.goto("/")
    await page.wait_for_url(re.compile(r"/login\.html"))
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#submit")
    await page.wait_for_url(re.compile(r"#/live"))


async def wait_playing(page: Page, selector: str, advance: float = 0.5) -> None:
    """Wait until the <video> at `selector` shows frames and its time moves on by `advance` s."""
    shown = "s => (v => v?.videoWidth > 0 && v.readyState >= 2)(document.querySelector(s))"
    await page.wait_for_function(shown, arg=selector, polling=200)
    start = await page.locator(selector).evaluate("v => v.currentTime")
    moved = "([s, t]) => document.querySelector(s).currentTime > t"
    await page.wait_for_function(moved, arg=[selector, start + advance], polling=200)
