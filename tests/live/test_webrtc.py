"""WebRTC live view through the running hub, with aiortc as the viewer, over 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import av
import pytest
from aiortc import RTCPeerConnection

from nvr_hub import keys
from tests.conftest import Hub
from tests.rtsp_server import RtspServer

from .conftest import HEIGHT, WIDTH
from .helpers import DEMO_URL, Viewer, add_stream, allow_loopback, negotiate, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_two_viewers_share_one_camera_connection(hub: Hub, camera: RtspServer) -> None:
    await hub.login()
    await allow_loopback(hub)
    await add_stream(hub, "cam", camera.url)
    viewers = [Viewer(), Viewer(audio=True)]  # asking for audio the camera lacks is fine
    try:
        for viewer in viewers:
            started = time.monotonic()
            resp = await negotiate(hub, viewer, "cam")
            assert resp.status == 200, await resp.text()
            frames = await viewer.frames(5)
            # The kept GOP plays at once: no wait for the camera's next keyframe.
            assert time.monotonic() - started < 3
            assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
        assert hub.app[keys.LIVE].webrtc.count("cam") == 2
        assert camera.clients == 1  # the recorder, snapshots and both viewers share it
    finally:
        for viewer in viewers:
            await viewer.close()
    # A viewer that hangs up properly is freed at once.
    await wait_until(lambda: hub.app[keys.LIVE].webrtc.count() == 0, 10, "peers to be freed")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_aac_audio_is_sent_as_opus_when_asked_for(
    hub: Hub, camera_with_audio: RtspServer
) -> None:
    await hub.login()
    await allow_loopback(hub)
    await add_stream(hub, "cam", camera_with_audio.url)
    feed = hub.app[keys.LIVE].feed("cam")
    assert feed is not None and feed.audio_codec == "audio/opus"
    with_sound, without = Viewer(audio=True), Viewer()
    try:
        resp = await negotiate(hub, with_sound, "cam")
        assert resp.status == 200
        sound = await with_sound.audio_frames(20)
        assert {f.sample_rate for f in sound} == {48_000}
        tone = sound[-1].to_ndarray()
        assert abs(tone.astype(float)).max() > 1000  # the tone, not silence
        assert len(await with_sound.frames(3)) == 3
        assert (await negotiate(hub, without, "cam")).status == 200
        await without.frames(3)
        assert len(feed._audio_listeners) == 1  # no Opus made for a video-only viewer
        # Live HLS keeps the AAC as it is.
        playlist = await (await hub.client.get("/hls/cam/index.m3u8")).text()
        name = next(line for line in playlist.splitlines() if line.endswith(".ts"))
        data = await (await hub.client.get(f"/hls/cam/{name}")).read()
        with av.open(io.BytesIO(data)) as segment:
            assert [s.codec_context.name for s in segment.streams] == ["h264", "aac"]
    finally:
        await with_sound.close()
        await without.close()
    await hub.client.delete("/api/streams/cam")


async def test_whep_round_trip_and_delete(hub: Hub) -> None:
    await hub.login()
    await allow_loopback(hub)
    await add_stream(hub, "demo", DEMO_URL)
    viewer = Viewer()
    try:
        resp = await hub.client.post(
            "/api/webrtc?src=demo",
            data=await viewer.offer(),
            headers={"Content-Type": "application/sdp"},
        )
        assert resp.status == 201, await resp.text()
        assert resp.content_type == "application/sdp"
        location = resp.headers["Location"]
        assert location.startswith("/api/webrtc/")
        answer = await resp.text()
        assert "a=sendonly" in answer and "H264" in answer and "VP8" not in answer
        await viewer.accept(answer)
        (frame,) = await viewer.frames(1)
        assert (frame.width, frame.height) == (WIDTH, HEIGHT)
        live = hub.app[keys.LIVE].webrtc
        assert live.count("demo") == 1
        resp = await hub.client.delete(location)
        assert resp.status == 200 and (await resp.json())["success"] is True
        assert live.count() == 0
        assert (await hub.client.delete(location)).status == 404
        # The hub hung up: the viewer's connection ends too.
        await wait_until(lambda: viewer.pc.connectionState == "closed", 10, "viewer closed")
    finally:
        await viewer.close()


async def test_offers_need_credentials_and_a_valid_offer(hub: Hub) -> None:
    await allow_loopback(hub)
    await add_stream_direct(hub)
    viewer = Viewer()
    try:
        offer = await viewer.offer()
        anonymous = await hub.client.post(
            "/api/webrtc?src=demo", json={"type": "offer", "sdp": offer}
        )
        assert anonymous.status == 401 and "error" in await anonymous.json()
        whep = await hub.client.post(
            "/api/webrtc?src=demo", data=offer, headers={"Content-Type": "application/sdp"}
        )
        assert whep.status == 401
        viewer_id = await hub.add_user("watcher", "viewer")
        key = {"X-API-Key": await hub.api_key(viewer_id)}
        cases = [
            ("/api/webrtc", {"type": "offer", "sdp": offer}, 400, "src"),
            ("/api/webrtc?src=nope", {"type": "offer", "sdp": offer}, 404, "nope"),
            ("/api/webrtc?src=demo", {"type": "answer", "sdp": offer}, 400, "type"),
            ("/api/webrtc?src=demo", {"type": "offer", "sdp": offer, "x": 1}, 400, "x"),
            ("/api/webrtc?src=demo", {"type": "offer", "sdp": "v=0 garbage"}, 400, "SDP"),
        ]
        for url, body, status, word in cases:
            resp = await hub.client.post(url, json=body, headers=key)
            assert resp.status == status, (url, body, await resp.text())
            assert word in (await resp.json())["error"]
        audio_only = RTCPeerConnection()
        audio_only.addTransceiver("audio", direction="recvonly")
        await audio_only.setLocalDescription(await audio_only.createOffer())
        await audio_only.close()
        resp = await hub.client.post(
            "/api/webrtc?src=demo",
            json={"type": "offer", "sdp": audio_only.localDescription.sdp},
            headers=key,
        )
        assert resp.status == 400
        assert hub.app[keys.LIVE].webrtc.count() == 0  # nothing half-open left behind
        # The viewer role may watch.
        resp = await negotiate(hub, viewer, "demo", headers=key)
        assert resp.status == 200
        await viewer.frames(1)
    finally:
        await viewer.close()


async def add_stream_direct(hub: Hub) -> None:
    """The demo stream, added through the service (the client is still anonymous)."""
    await hub.app[keys.STREAMS].add({"name": "demo", "url": DEMO_URL, "record": False})

    async def running() -> bool:
        feed = hub.app[keys.LIVE].feed("demo")
        return feed is not None and feed.info is not None

    await wait_until(running, 20, "the demo stream")


async def test_peer_caps_answer_503(hub: Hub) -> None:
    await hub.login()
    await allow_loopback(hub)
    await add_stream(hub, "demo", DEMO_URL)
    await add_stream(hub, "demo2", DEMO_URL.replace("live", "other"))
    resp = await hub.client.post(
        "/api/settings", json={"webrtc_max_peers_per_stream": 1, "webrtc_max_peers": 2}
    )
    assert resp.status == 200
    viewers = [Viewer() for _ in range(4)]
    try:
        assert (await negotiate(hub, viewers[0], "demo")).status == 200
        full = await negotiate(hub, viewers[1], "demo")
        assert full.status == 503 and "demo" in (await full.json())["error"]
        assert (await negotiate(hub, viewers[2], "demo2")).status == 200
        resp = await hub.client.post("/api/settings", json={"webrtc_max_peers_per_stream": 5})
        assert resp.status == 200
        over = await negotiate(hub, viewers[3], "demo")
        assert over.status == 503 and "hub" in (await over.json())["error"]
        assert hub.app[keys.LIVE].webrtc.count() == 2
        await viewers[0].frames(1)
        await viewers[2].frames(1)
    finally:
        for viewer in viewers:
            await viewer.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_vanished_viewer_is_freed(hub: Hub) -> None:
    await hub.login()
    await allow_loopback(hub)
    await add_stream(hub, "demo", DEMO_URL)
    webrtc = hub.app[keys.LIVE].webrtc
    # The defaults (15 s without receiver reports, checked every 5 s) free a peer within
    # 20 s; shorter here to keep the test quick. The mechanism is the same.
    assert webrtc.idle_timeout + webrtc.check_interval < 30
    webrtc.idle_timeout, webrtc.check_interval = 2.0, 0.5
    key = await hub.api_key(1)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.live.viewer_process",
        str(hub.client.make_url("")).rstrip("/"),
        key,
        "demo",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line.strip() == b"FRAME"
        assert webrtc.count() == 1
        proc.kill()  # no BYE, no DTLS close: the peer just stops answering
        await proc.wait()
        killed = time.monotonic()
        await wait_until(lambda: webrtc.count() == 0, 15, "the vanished peer to be freed")
        assert time.monotonic() - killed < 10
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
