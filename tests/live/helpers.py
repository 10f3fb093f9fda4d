"""Helpers for the live view tests: an aiortc viewer, streams, waiting."""

from __future__ import annotations

import asyncio
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from nvr_hub import keys
from nvr_hub.live import host_addresses
from tests.conftest import Hub
from tests.polling import wait_until as wait_until

LOOPBACK = ["127.0.0.1"]
DEMO_URL = "demo://live?width=320&height=240&fps=10"


async def add_stream(hub: Hub, name: str, url: str, **extra: Any) -> None:
    """Add a stream (not recorded) and wait until its camera is connected."""
    body = {"name": name, "url": url, "record": False, **extra}
    resp = await hub.client.post("/api/streams", json=body)
    assert resp.status == 201, await resp.text()
    pipelines = hub.app[keys.PIPELINES]

    async def connected() -> bool:
        stream = await hub.app[keys.STREAMS].get(name)
        return pipelines.status(stream) == "connected"

    await wait_until(connected, 20, f"stream {name} to connect")


async def allow_loopback(hub: Hub) -> None:
    """Let the hub offer 127.0.0.1 as its ICE host candidate (aioice leaves it out)."""
    await hub.app[keys.SETTINGS].update({"webrtc_host_addresses": LOOPBACK})


class Viewer:
    """An aiortc peer that receives one video track, the way a browser would."""

    def __init__(self, *, audio: bool = False) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver("video", direction="recvonly")
        if audio:
            self.pc.addTransceiver("audio", direction="recvonly")

    async def offer(self) -> str:
        """The SDP offer, host candidates on 127.0.0.1 only."""
        with host_addresses(LOOPBACK):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer: str) -> None:
        """Apply the hub's SDP answer; ICE and DTLS then connect."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    @property
    def track(self) -> MediaStreamTrack:
        track = self.pc.getTransceivers()[0].receiver.track
        assert track is not None
        return track

    async def frames(self, count: int, within: float = 10.0) -> list[av.VideoFrame]:
        """The next `count` decoded frames."""
        out: list[av.VideoFrame] = []
        async with asyncio.timeout(within):
            while len(out) < count:
                frame = await self.track.recv()
                assert isinstance(frame, av.VideoFrame)
                out.append(frame)
        return out

    async def audio_frames(self, count: int, within: float = 10.0) -> list[av.AudioFrame]:
        """The next `count` decoded audio frames (needs `audio=True`)."""
        track = self.pc.getTransceivers()[1].receiver.track
        out: list[av.AudioFrame] = []
        async with asyncio.timeout(within):
            while len(out) < count:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                out.append(frame)
        return out

    async def close(self) -> None:
        await self.pc.close()


async def negotiate(hub: Hub, viewer: Viewer, stream: str, **kwargs: Any) -> Any:
    """POST the viewer's offer as go2rtc JSON; returns the response (answer applied on 200)."""
    resp = await hub.client.post(
        f"/api/webrtc?src={stream}", json={"type": "offer", "sdp": await viewer.offer()}, **kwargs
    )
    if resp.status == 200:
        body = await resp.json()
        assert body["type"] == "answer"
        await viewer.accept(body["sdp"])
    return resp
