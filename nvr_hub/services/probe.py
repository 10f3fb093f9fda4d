"""Probe a camera URL with PyAV: codec, size, fps and audio, within a deadline."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av

from nvr_hub.errors import BadRequest, Unavailable
from nvr_hub.media.logs import redact_url

PROBE_TIMEOUT = 10.0


def _probe_demo(url: str) -> dict[str, Any]:
    query = parse_qs(urlsplit(url).query)

    def num(key: str, default: int) -> int:
        try:
            return int(query.get(key, [default])[0])
        except ValueError as err:
            raise BadRequest(f"invalid field 'url': {key} must be a number") from err

    return {
        "codec": "h264",
        "width": num("width", 640),
        "height": num("height", 360),
        "fps": num("fps", 10),
        "audio_codec": None,
    }


def _probe_blocking(url: str, protocol: int, timeout: float) -> dict[str, Any]:
    options = {
        "rtsp_transport": "udp" if protocol == 1 else "tcp",
        "timeout": str(int(timeout * 1e6)),
    }
    try:
        container = av.open(url, options=options, timeout=timeout)
    except av.error.FFmpegError as err:
        raise Unavailable(f"cannot open {redact_url(url)}: {err.strerror or err}") from err
    try:
        video = next(iter(container.streams.video), None)
        if video is None:
            raise Unavailable(f"{redact_url(url)} carries no video")
        audio = next(iter(container.streams.audio), None)
        rate = video.average_rate or video.guessed_rate or Fraction(0)
        return {
            "codec": video.codec_context.name,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "fps": round(float(rate), 2),
            "audio_codec": audio.codec_context.name if audio is not None else None,
        }
    finally:
        container.close()


async def probe_url(url: str, protocol: int = 0, deadline: float = PROBE_TIMEOUT) -> dict[str, Any]:
    """Report what a URL carries, or raise Unavailable with the reason."""
    if urlsplit(url).scheme.lower() == "demo":
        return _probe_demo(url)
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_probe_blocking, url, protocol, deadline), deadline + 1
        )
    except TimeoutError as err:
        raise Unavailable(f"no answer from {redact_url(url)} within {deadline:.0f} s") from err
