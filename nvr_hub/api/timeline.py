"""Timeline (contract: Timeline): recorded segments, a VOD manifest, play at an instant."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import select

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest, NotFound
from nvr_hub.services.auth import iso
from nvr_hub.services.recording_queries import parse_time, select_overlapping
from nvr_hub.services.timeline import detection_intervals, mp4_init_length, vod_playlist
from nvr_hub.storage.models import Detection, Recording, utcnow

MAX_RANGE = timedelta(days=31)


def _range(request: web.Request) -> tuple[str, datetime, datetime]:
    stream = request.query.get("stream", "")
    if not stream:
        raise BadRequest("missing field 'stream'")
    now = utcnow()
    raw_start, raw_end = request.query.get("start"), request.query.get("end")
    start = (
        parse_time(raw_start, "start")
        if raw_start
        else now.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    end = parse_time(raw_end, "end") if raw_end else start + timedelta(days=1)
    if raw_start and len(raw_start) == 10 and not raw_end:
        end = start + timedelta(days=1)  # a bare date means that whole day
    if end <= start:
        raise BadRequest("invalid field 'end': must be after start")
    if end - start > MAX_RANGE:
        raise BadRequest("invalid field 'end': the range may span at most 31 days")
    return stream, start, end


async def _recordings(
    request: web.Request, stream: str, start: datetime, end: datetime
) -> list[Recording]:
    async with request.app[keys.SESSIONS]() as s:
        return list((await s.scalars(select_overlapping(stream, start, end))).all())


async def segments(request: web.Request) -> web.Response:
    """Recorded ranges of one stream and the detection intervals in them."""
    stream, start, end = _range(request)
    recs = await _recordings(request, stream, start, end)
    async with request.app[keys.SESSIONS]() as s:
        dets = (
            await s.scalars(
                select(Detection)
                .where(
                    Detection.stream_name == stream, Detection.time >= start, Detection.time < end
                )
                .order_by(Detection.time)
                .limit(100_000)
            )
        ).all()
    return json_response(
        {
            "stream": stream,
            "start_time": iso(start),
            "end_time": iso(end),
            "segments": [
                {
                    "id": r.id,
                    "start_time": iso(r.start_time),
                    "end_time": iso(r.end_time or r.start_time),
                    "duration": round(r.duration, 3),
                    "has_detection": r.has_detection,
                }
                for r in recs
            ],
            "detection_intervals": detection_intervals(list(dets)),
        }
    )


async def manifest(request: web.Request) -> web.Response:
    """An HLS VOD playlist over the complete recordings in the range."""
    stream, start, end = _range(request)
    service = request.app[keys.RECORDINGS]
    recs = [r for r in await _recordings(request, stream, start, end) if r.is_complete]

    def inits() -> list[tuple[Recording, int]]:
        out = []
        for rec in recs:
            path = service.absolute(rec)
            try:
                init = mp4_init_length(path)
            except OSError:
                continue
            if init is not None and rec.size_bytes > init:
                out.append((rec, init))
        return out

    entries = await asyncio.to_thread(inits)
    if not entries:
        raise NotFound(f"no recordings of '{stream}' in that range")
    # Relative to /api/timeline/manifest, so it works behind a path prefix too; the `.mp4`
    # suffix is for players (FFmpeg's HLS demuxer) that insist on segment extensions.
    body = vod_playlist(entries, "../recordings/play/{id}.mp4")
    return web.Response(
        text=body,
        content_type="application/vnd.apple.mpegurl",
        headers={"Cache-Control": "no-cache"},
    )


async def play(request: web.Request) -> web.StreamResponse:
    """The recording holding an instant, with the offset into it in `X-Start-Offset`."""
    stream = request.query.get("stream", "")
    if not stream:
        raise BadRequest("missing field 'stream'")
    raw = request.query.get("time")
    if not raw:
        raise BadRequest("missing field 'time'")
    at = parse_time(raw, "time")
    recs = await _recordings(request, stream, at, at + timedelta(microseconds=1))
    holding = [r for r in recs if r.start_time <= at]
    if not holding:
        raise NotFound(f"nothing of '{stream}' was recorded at {iso(at)}")
    rec = holding[-1]
    service = request.app[keys.RECORDINGS]
    path = service.absolute(rec)
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"the file of recording {rec.id} is missing; run a sync")
    offset = (at - rec.start_time).total_seconds()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "video/mp4",
            "X-Start-Offset": f"{offset:.3f}",
            "X-Recording-Id": str(rec.id),
        },
    )


def add_routes(table: RouteTable) -> None:
    """Declare the timeline routes."""
    table.add("GET", "/api/timeline/segments", segments, Access.VIEW, "Timeline segments")
    table.add("GET", "/api/timeline/manifest", manifest, Access.VIEW, "Timeline HLS manifest")
    table.add("GET", "/api/timeline/play", play, Access.VIEW, "Play the timeline at an instant")
