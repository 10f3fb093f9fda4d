"""The web UI in a real browser: what a user sees and does, checked through the API too."""

from __future__ import annotations

import time
import uuid

import pyotp
from playwright.async_api import BrowserContext, Page, Route, expect

from tests.ui.conftest import CAMERA, UiHub, login, wait_playing

# Reads what the tile shows: a playing <video> (size and advancing time) or the JPEG
# snapshot, fingerprinted from its pixels so "it changes" means the picture changed.
LIVE_TILE_SHOWS = """(name) => {
  const tile = document.querySelector(`article.tile[data-stream="${name}"]`);
  if (!tile) return null;
  const media = tile.querySelector('.media'), video = tile.querySelector('video');
  const img = tile.querySelector('img');
  const seen = (window.__seen ||= {times: [], prints: new Set()});
  if (media.dataset.show === 'video' && video.videoWidth > 0) {
    seen.times.push(video.currentTime);
    const t = seen.times;
    return t.length >= 3 && t[t.length - 1] > t[0] + 0.5 ? 'video' : null;
  }
  if (media.dataset.show === 'img' && img.complete && img.naturalWidth > 0) {
    const c = document.createElement('canvas');
    c.width = 32; c.height = 18;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0, 32, 18);
    const px = g.getImageData(0, 0, 32, 18).data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 1) sum = (sum * 31 + px[i]) % 1000000007;
    seen.prints.add(sum);
    return seen.prints.size >= 3 ? 'snapshot' : null;
  }
  return null;
}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def test_login_and_live_tile_shows_the_camera(page: Page) -> None:
    await login(page)
    await expect(page.locator("#who")).to_have_text("admin")
    tile = page.locator(f'article.tile[data-stream="{CAMERA}"]')
    await expect(tile).to_be_visible()
    await expect(tile.locator(".badge")).to_have_text("connected")
    shows = await page.wait_for_function(LIVE_TILE_SHOWS, arg=CAMERA, polling=500, timeout=60_000)
    assert await shows.json_value() in ("video", "snapshot")
    # The layout switch re-draws the grid with the same live tile.
    await page.select_option("#layout", "1")
    await expect(page.locator(".live-grid")).to_have_attribute("data-layout", "1")
    await expect(tile).to_be_visible()


async def refuse(route: Route) -> None:
    await route.fulfill(status=404, json={"error": "not found"})


async def test_live_tile_falls_back_to_hls_then_to_snapshots(context: BrowserContext) -> None:
    # The hub offers WebRTC; a browser or network without it gets live HLS instead...
    page = await context.new_page()
    await page.route("**/api/webrtc**", refuse)
    await login(page)
    tile = page.locator(f'article.tile[data-stream="{CAMERA}"]')
    shows = await page.wait_for_function(LIVE_TILE_SHOWS, arg=CAMERA, polling=500, timeout=60_000)
    assert await shows.json_value() == "video"
    await expect(tile.locator(".mode")).to_have_text("HLS")
    await page.close()
    # ...and without either, a JPEG snapshot that keeps refreshing.
    page = await context.new_page()
    await page.route("**/api/webrtc**", refuse)
    await page.route("**/hls/**", refuse)
    await page.goto("/#/live")
    shows = await page.wait_for_function(LIVE_TILE_SHOWS, arg=CAMERA, polling=500, timeout=60_000)
    assert await shows.json_value() == "snapshot"
    await expect(page.locator(f'article.tile[data-stream="{CAMERA}"] .mode')).to_have_text("JPEG")


async def test_wrong_password_shows_the_api_error(page: Page) -> None:
    await page.goto("/login.html")
    await page.fill("#username", "admin")
    await page.fill("#password", "not-the-password")
    await page.click("#submit")
    await expect(page.locator("#error")).to_be_visible()
    await expect(page.locator("#error")).not_to_be_empty()
    assert "login.html" in page.url


async def test_totp_enrolment_and_two_step_login(page: Page, ui_hub: UiHub) -> None:
    username, password = unique("totp"), "totp-password-1"
    user = await ui_hub.call(
        "POST", "/api/auth/users", {"username": username, "password": password, "role": "user"}
    )
    await login(page, username, password)
    await page.click("#user-button")
    await page.get_by_role("menuitem", name="Two-factor authentication").click()
    dialog = page.locator("dialog[open]")
    await dialog.get_by_role("button", name="Set up").click()
    await expect(dialog.locator(".qr svg")).to_be_visible()
    secret = (await dialog.locator('[data-testid="totp-secret"]').inner_text()).strip()
    totp = pyotp.TOTP(secret)
    await dialog.locator('input[name="code"]').fill(totp.now())
    await dialog.get_by_role("button", name="Verify and turn on").click()
    await expect(dialog).to_be_hidden()
    status = await ui_hub.call("GET", f"/api/auth/users/{user['id']}/totp/status")
    assert status["totp_enabled"] is True

    await page.click("#user-button")
    await page.get_by_role("menuitem", name="Log out").click()
    await page.wait_for_url("**/login.html")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#submit")
    await expect(page.locator("#totp_code")).to_be_visible()
    # Each code is accepted once: the next step's code (the hub allows ±1 step).
    await page.fill("#totp_code", totp.at(time.time() + totp.interval))
    await page.click("#submit")
    await page.wait_for_url("**/#/live**")
    await expect(page.locator("#who")).to_have_text(username)


async def test_add_and_edit_a_stream_through_the_form(page: Page, ui_hub: UiHub) -> None:
    name = unique("porch")
    await login(page)
    await page.goto("/#/streams")
    await page.get_by_role("button", name="+ Add stream").click()
    form = page.locator("dialog.stream-form")
    await form.locator('input[name="name"]').fill(name)
    await form.locator('input[name="url"]').fill("demo://porch?width=320&height=180&fps=5")
    await form.get_by_role("button", name="Test URL").click()
    await expect(form.locator(".test-result")).to_contain_text("OK: h264 320×180")
    await form.locator('input[name="segment_duration"]').fill("30")
    await form.locator('input[name="record_audio"]').uncheck()
    await form.locator('select[name="protocol"]').select_option("1")
    await form.locator('input[name="retention_days"]').fill("9")
    await form.get_by_role("button", name="Add stream").click()
    await expect(form).to_be_hidden()
    await expect(page.locator(f'tr[data-stream="{name}"]')).to_be_visible()
    stream = await ui_hub.call("GET", f"/api/streams/{name}")
    assert stream["url"] == "demo://porch?width=320&height=180&fps=5"
    assert (stream["segment_duration"], stream["record_audio"], stream["protocol"]) == (
        30,
        False,
        1,
    )
    assert stream["retention_days"] == 9

    # Edit: only the changed field goes to the hub.
    await page.get_by_role("button", name=f"Edit {name}").click()
    await expect(form.locator('input[name="url"]')).to_have_value(stream["url"])
    await form.locator('input[name="priority"]').fill("8")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_be_hidden()
    stream = await ui_hub.call("GET", f"/api/streams/{name}")
    assert stream["priority"] == 8 and stream["segment_duration"] == 30

    # A bad value shows the API's error in the form.
    await page.get_by_role("button", name=f"Edit {name}").click()
    await form.locator('input[name="url"]').fill("ftp://nowhere/stream")
    await form.get_by_role("button", name="Save").click()
    await expect(form.locator(".error")).to_contain_text("url")
    await form.get_by_role("button", name="Cancel").click()

    await page.get_by_role("button", name=f"Delete {name}").click()
    await page.locator("dialog[open]").get_by_role("button", name="Delete stream").click()
    await expect(page.locator(f'tr[data-stream="{name}"]')).to_have_count(0)
    assert await ui_hub.status(f"/api/streams/{name}") == 404


async def complete_recordings(ui_hub: UiHub, count: int) -> list[dict[str, object]]:
    def check() -> list[dict[str, object]] | None:
        data = ui_hub.api("GET", f"/api/recordings?stream={CAMERA}&limit=50&protected=false")
        done = [r for r in data["recordings"] if r["is_complete"] and r["size_bytes"] > 0]
        return done if len(done) >= count else None

    found: list[dict[str, object]] = await ui_hub.wait_for(
        f"{count} complete recordings", check, within=90
    )
    return found


async def test_find_play_protect_and_delete_a_recording(page: Page, ui_hub: UiHub) -> None:
    rec = (await complete_recordings(ui_hub, 1))[0]
    rid = rec["id"]
    await login(page)
    await page.goto(f"/#/recordings?stream={CAMERA}")
    row = page.locator(f'tr[data-id="{rid}"]')
    await expect(row).to_be_visible()

    await row.locator('[data-action="play"]').click()
    video = page.locator("dialog.player-modal video")
    await expect(video).to_be_visible()
    await wait_playing(page, "dialog.player-modal video", advance=1.0)
    await page.keyboard.press("Escape")
    await expect(page.locator("dialog.player-modal")).to_have_count(0)

    await row.locator('[data-action="protect"]').click()
    await expect(row.locator(".badge", has_text="protected")).to_be_visible()
    assert (await ui_hub.call("GET", f"/api/recordings/{rid}"))["protected"] is True

    # Protected: the admin is asked again, then it is force-deleted.
    await row.locator('[data-action="delete"]').click()
    confirm = page.locator("dialog[open]")
    await expect(confirm).to_contain_text("protected")
    await confirm.get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    assert await ui_hub.status(f"/api/recordings/{rid}") == 404


async def test_batch_delete_shows_progress(page: Page, ui_hub: UiHub) -> None:
    recs = await complete_recordings(ui_hub, 2)
    ids = [r["id"] for r in recs[:2]]
    await login(page)
    await page.goto(f"/#/recordings?stream={CAMERA}")
    for rid in ids:
        await page.locator(f'tr[data-id="{rid}"] input[type="checkbox"]').check()
    await page.get_by_role("button", name="Delete selected").click()
    await page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    progress = page.locator("dialog[open] progress")
    await expect(progress).to_be_visible()
    await expect(page.locator("dialog[open]")).to_contain_text("2 of 2: 2 deleted, 0 failed")
    await page.locator("dialog[open]").get_by_role("button", name="Close", exact=True).click()
    for rid in ids:
        assert await ui_hub.status(f"/api/recordings/{rid}") == 404


async def test_timeline_click_plays_from_that_instant(page: Page, ui_hub: UiHub) -> None:
    await complete_recordings(ui_hub, 1)
    await login(page)
    await page.goto(f"/#/timeline?stream={CAMERA}")
    # The zoomed bar (an hour around the newest recording) makes a 5 s segment clickable.
    segment = page.locator(".timeline.zoom .seg").first
    await expect(segment).to_be_attached()
    seg_box = await segment.bounding_box()
    assert seg_box is not None
    await page.mouse.click(
        seg_box["x"] + seg_box["width"] / 3, seg_box["y"] + seg_box["height"] / 2
    )
    video = page.locator("video.timeline-player")
    await wait_playing(page, "video.timeline-player")
    assert await video.get_attribute("data-recording-id")
    await expect(page.locator(".timeline-time")).not_to_have_text("–")


async def test_change_settings(page: Page, ui_hub: UiHub) -> None:
    await login(page)
    await page.goto("/#/settings")
    await page.locator('input[name="retention_days"]').fill("12")
    await page.locator('input[name="session_idle_minutes"]').fill("600")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator(".notice")).to_contain_text("restart")
    settings = await ui_hub.call("GET", "/api/settings")
    assert settings["retention_days"] == 12 and settings["session_idle_minutes"] == 600

    # The hub's refusal is shown, nothing else is changed.
    await page.locator('input[name="web_port"]').fill("70000")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("form.settings .error")).to_contain_text("web_port")
    assert (await ui_hub.call("GET", "/api/settings"))["web_port"] == ui_hub.port


async def test_create_edit_and_lock_a_user(page: Page, ui_hub: UiHub) -> None:
    username = unique("viewer")
    await login(page)
    await page.goto("/#/users")
    await page.get_by_role("button", name="+ Add user").click()
    dialog = page.locator("dialog[open]")
    await dialog.locator('input[name="username"]').fill(username)
    await dialog.locator('input[name="password"]').fill("viewer-password")
    await dialog.locator('select[name="role"]').select_option("viewer")
    await dialog.get_by_role("button", name="Add user").click()
    row = page.locator(f'tr[data-user="{username}"]')
    await expect(row).to_be_visible()
    users = {u["username"]: u for u in (await ui_hub.call("GET", "/api/auth/users"))["users"]}
    assert users[username]["role"] == "viewer"

    await page.get_by_role("button", name=f"Edit {username}").click()
    await dialog.locator('select[name="role"]').select_option("user")
    await dialog.get_by_role("button", name="Save").click()
    await expect(row.locator(".badge").first).to_have_text("user")
    await page.get_by_role("button", name=f"Lock password of {username}").click()
    await expect(row).to_contain_text("password locked")
    user = await ui_hub.call("GET", f"/api/auth/users/{users[username]['id']}")
    assert user["role"] == "user" and user["password_change_locked"] is True


async def test_phone_width_every_page_fits(context: BrowserContext) -> None:
    page = await context.new_page()
    await page.set_viewport_size({"width": 360, "height": 740})
    await login(page)
    loaded = {
        "live": ".tile",
        "recordings": "table.recordings tbody tr",
        "timeline": ".timeline .tick",
        "streams": "tr[data-stream]",
        "system": ".card",
        "settings": "fieldset",
        "users": "tr[data-user]",
    }
    for name, content in loaded.items():
        await page.goto(f"/#/{name}")
        await expect(
            page.locator(f'section.page[data-page="{name}"] {content}').first
        ).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{name} is {width}px wide at 360px"
    # The page menu folds behind a button on a phone.
    await expect(page.locator("#nav")).to_be_hidden()
    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("link", name="Recordings").click()
    await page.wait_for_url("**/#/recordings**")
    await expect(page.locator("#nav")).to_be_hidden()
