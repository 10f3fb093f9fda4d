"""A WebRTC viewer in its own process, to be killed without hanging up (a vanished peer).

Usage: python -m tests.live.viewer_process HUB_URL API_KEY STREAM
Prints ``FRAME`` once the first frame decodes, then watches until killed.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from tests.live.helpers import Viewer


async def main(url: str, api_key: str, stream: str) -> None:
    viewer = Viewer()
    offer = await viewer.offer()
    async with aiohttp.ClientSession(headers={"X-API-Key": api_key}) as http:
        resp = await http.post(
            f"{url}/api/webrtc?src={stream}",
            data=offer,
            headers={"Content-Type": "application/sdp"},
        )
        if resp.status != 201:
            sys.exit(f"offer refused: {resp.status} {await resp.text()}")
        await viewer.accept(await resp.text())
    await viewer.frames(1)
    print("FRAME", flush=True)
    while True:
        await viewer.track.recv()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
