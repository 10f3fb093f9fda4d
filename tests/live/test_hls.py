"""Live HLS from the hub: remuxed from the shared connection, read back by PyAV (FFmpeg)."""

from __future__ import annotations

import asyncio
import time

import av
import pytest

from nvr_hub import keys
from nvr_hub.live.hls_service import IDLE_SECONDS
from tests.conftest import ADMIN_PASSWORD, Hub, basic

from .conftest import HEIGHT, WIDTH
from .helpers import DEMO_URL, add_stream, wait_until


def read_live(url: str, headers: dict[str, str], frames: int) -> list[av.VideoFrame]:
    """Play the live playlist with FFmpeg's HLS demuxer (blocking: run in a thread)."""
    header_text = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    out: list[av.VideoFrame] = []
    with av.open(url, options={"headers": header_text, "rw_timeout": "10000000"}) as container:
        for frame in container.decode(video=0):
            out.append(frame)
            if len(out) >= frames:
                break
    return out


async def test_live_hls_plays_in_a_pyav_reader(hub: Hub) -> None:
    await hub.login()
    await add_stream(hub, "demo", DEMO_URL)
    assert (await (await hub.client.get("/api/health/hls")).json())["streams"] == []
    started = time.monotonic()
    resp = await hub.client.get("/hls/demo/index.m3u8")
    first_playlist = time.monotonic() - started
    assert resp.status == 200, await resp.text()
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.content_type == "application/vnd.apple.mpegurl"
    playlist = await resp.text()
    assert playlist.startswith("#EXTM3U") and "#EXT-X-TARGETDURATION:" in playlist
    # The kept GOP starts the first segment: no wait for two keyframes (GOP is 2 s).
    assert first_playlist < 3.5, first_playlist
    segment = next(line for line in playlist.splitlines() if line.endswith(".ts"))
    resp = await hub.client.get(f"/hls/demo/{segment}")
    assert resp.status == 200 and resp.content_type == "video/mp2t"
    assert (await resp.read())[:1] == b"\x47"  # an MPEG-TS sync byte

    url = str(hub.client.make_url("/hls/demo/index.m3u8"))
    frames = await asyncio.to_thread(read_live, url, basic("admin", ADMIN_PASSWORD), 25)
    assert len(frames) == 25
    assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}

    health = await (await hub.client.get("/api/health/hls")).json()
    (entry,) = health["streams"]
    assert entry["name"] == "demo" and entry["running"] is True and entry["segments"] >= 1
    assert 0 <= entry["newest_segment_age"] < 5
    # Still one camera connection for recording, snapshots and live view.
    assert hub.app[keys.PIPELINES].stats("demo")["reconnects"] == 0


async def test_hls_refuses_unknown_streams_and_path_tricks(hub: Hub) -> None:
    await hub.login()
    await add_stream(hub, "demo", DEMO_URL)
    for url in ("/hls/nope/index.m3u8", "/hls/nope/segment0.ts"):
        resp = await hub.client.get(url)
        assert resp.status == 404, url
        assert "nope" in (await resp.json())["error"]
    for url in (
        "/hls/demo/..%2F..%2Fhub.db",
        "/hls/demo/..%5C..%5Chub.db",
        "/hls/demo/.hidden",
        "/hls/demo/segment0.ts%2F..",
        "/hls/nope/..%2Fsecret",
    ):
        resp = await hub.client.get(url)
        assert resp.status == 400, (url, resp.status)
        assert "error" in await resp.json()
    assert (await hub.client.get("/hls/demo/index.m3u8")).status == 200
    for url in ("/hls/demo/segment999999.ts", "/hls/demo/other.txt"):
        assert (await hub.client.get(url)).status == 404, url
    # A stream that exists but is not running has no live view.
    await hub.client.put("/api/streams/demo", json={"enabled": False})
    await wait_until(lambda: hub.app[keys.LIVE].feed("demo") is None, 5, "the stream to stop")
    await hub.app[keys.LIVE].hls.reap()
    resp = await hub.client.get("/hls/demo/index.m3u8")
    assert resp.status == 503 and "not running" in (await resp.json())["error"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_live_hls_stops_without_viewers(hub: Hub) -> None:
    await hub.login()
    await add_stream(hub, "demo", DEMO_URL)
    hls = hub.app[keys.LIVE].hls
    assert IDLE_SECONDS == 60  # a minute without requests, by default
    assert (await hub.client.get("/hls/demo/index.m3u8")).status == 200
    await hls.reap()
    assert hls.running() == ["demo"]  # just asked for: kept
    hls.idle_seconds = 0.2
    await asyncio.sleep(0.3)
    await hls.reap()
    assert hls.running() == []
    assert (await (await hub.client.get("/api/health/hls")).json())["streams"] == []
    # Asking again starts it again.
    assert (await hub.client.get("/hls/demo/index.m3u8")).status == 200
    assert hls.running() == ["demo"]
