"""Live view routes: WebRTC offer/answer (go2rtc JSON and WHEP), live HLS, the test page."""

from __future__ import annotations

from pathlib import Path

import voluptuous as vol
from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response, principal, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest, NotFound
from nvr_hub.live.hls_service import segment_number
from nvr_hub.validation import text, validate

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
SDP_TYPE = "application/sdp"
MAX_SDP = 64 * 1024
OFFER_SCHEMA = vol.Schema(
    {vol.Required("type"): vol.In(("offer",)), vol.Required("sdp"): text(MAX_SDP, min_len=1)},
    extra=vol.PREVENT_EXTRA,
)
PLAYLIST_HEADERS = {"Cache-Control": "no-cache"}
SEGMENT_HEADERS = {"Cache-Control": "private, max-age=60"}


def _source_name(request: web.Request) -> str:
    name = request.query.get("src", "")
    if not name:
        raise BadRequest("missing query parameter 'src' (the stream name)")
    return name


async def webrtc_offer(request: web.Request) -> web.Response:
    """Answer an SDP offer: JSON `{"type":"offer","sdp"}` (go2rtc) or raw SDP (WHEP → 201)."""
    name = _source_name(request)
    whep = request.content_type == SDP_TYPE
    if whep:
        raw = await request.read()
        try:
            offer = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadRequest("the SDP offer is not valid UTF-8") from err
        if not offer.strip() or len(offer) > MAX_SDP:
            raise BadRequest("an SDP offer of at most 64 KiB is required")
    else:
        offer = validate(OFFER_SCHEMA, await read_json(request))["sdp"]
    stream = await request.app[keys.STREAMS].get(name)
    webrtc = request.app[keys.LIVE].webrtc
    session_id, answer = await webrtc.answer(stream.name, offer, principal(request).username)
    if not whep:
        return json_response({"type": "answer", "sdp": answer})
    return web.Response(
        status=201,
        text=answer,
        content_type=SDP_TYPE,
        headers={"Location": f"/api/webrtc/{session_id}"},
    )


async def webrtc_delete(request: web.Request) -> web.Response:
    """End a WebRTC session (the WHEP resource a `Location` named)."""
    if not await request.app[keys.LIVE].webrtc.close(request.match_info["session"]):
        raise NotFound("no such WebRTC session")
    return json_response({"success": True})


async def hls_file(request: web.Request) -> web.Response:
    """`index.m3u8` (starts live HLS on first request) or one of its MPEG-TS segments."""
    name, filename = request.match_info["stream"], request.match_info["filename"]
    hls = request.app[keys.LIVE].hls
    if filename == "index.m3u8":
        if name not in hls.running():
            await request.app[keys.STREAMS].get(name)  # 404 for an unknown stream
        body = await hls.playlist(name)
        return web.Response(
            text=body, content_type="application/vnd.apple.mpegurl", headers=PLAYLIST_HEADERS
        )
    sequence = segment_number(filename)  # 400 for path tricks, before anything else
    if name not in hls.running():
        await request.app[keys.STREAMS].get(name)
    segment = hls.segment(name, sequence)
    return web.Response(body=segment.data, content_type="video/mp2t", headers=SEGMENT_HEADERS)


async def live_page(_request: web.Request) -> web.FileResponse:
    """A minimal live view page (WebRTC or HLS) for browsers and tests."""
    return web.FileResponse(WEB_ROOT / "live.html")


def add_routes(table: RouteTable) -> None:
    """Declare the live view routes."""
    table.add(
        "POST",
        "/api/webrtc",
        webrtc_offer,
        Access.VIEW,
        "WebRTC offer/answer (JSON), or WHEP with an application/sdp body",
        OFFER_SCHEMA,
    )
    table.add("DELETE", "/api/webrtc/{session}", webrtc_delete, Access.VIEW, "End a WebRTC session")
    table.add("GET", "/hls/{stream}/{filename}", hls_file, Access.VIEW, "Live HLS playlist/segment")
    table.add("GET", "/live.html", live_page, Access.PUBLIC, "Live view page")
