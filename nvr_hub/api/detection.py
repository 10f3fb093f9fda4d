"""Detection (contract: Detection): recent results of a stream and the available models."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest
from nvr_hub.services.auth import iso
from nvr_hub.services.recording_queries import parse_time
from nvr_hub.storage.models import Detection, utcnow

# Without `start`, results cover this much recent time (as LightNVR: one minute).
RECENT = timedelta(seconds=60)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def detection_json(det: Detection) -> dict[str, Any]:
    """One stored detection; the box is normalised to 0–1."""
    return {
        "id": det.id,
        "label": det.label,
        "confidence": det.confidence,
        "x": round(det.x, 4),
        "y": round(det.y, 4),
        "width": round(det.width, 4),
        "height": round(det.height, 4),
        "zone_id": det.zone_id,
        "recording_id": det.recording_id,
        "time": iso(det.time),
        "timestamp": int(det.time.timestamp()),
    }


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"invalid field 'limit': must be between 1 and {MAX_LIMIT}")
    return int(raw)


async def results(request: web.Request) -> web.Response:
    """Detections of a stream, newest first: the last minute, or `start`..`end`."""
    name = request.match_info["name"]
    motion = request.app[keys.MOTION]
    await motion.streams.get(name)
    now = utcnow()
    query = request.query
    end = parse_time(query["end"], "end") if "end" in query else now
    start = parse_time(query["start"], "start") if "start" in query else end - RECENT
    if end < start:
        raise BadRequest("invalid field 'end': must not be before start")
    rows = await motion.store.results(name, start, end, _limit(query.get("limit")))
    return json_response(
        {
            "stream": name,
            "timestamp": int(now.timestamp()),
            "count": len(rows),
            "detections": [detection_json(d) for d in rows],
        }
    )


async def models(request: web.Request) -> web.Response:
    """The detection backends this hub can run and whether each is ready to use."""
    url = str(request.app[keys.SETTINGS].get("detection_api_url"))
    found = [
        {
            "name": "motion",
            "type": "builtin",
            "supported": True,
            "configured": True,
            "description": "Built-in motion detection (background difference, boxes)",
        },
        {
            "name": "api",
            "type": "api",
            "supported": True,
            # A stream may also name its own detector URL (`detection_api_url`).
            "configured": bool(url),
            "url": url,
            "description": "LightNVR HTTP detection API: a JPEG POSTed as multipart 'file'",
        },
    ]
    return json_response({"models": found, "count": len(found)})


def add_routes(table: RouteTable) -> None:
    """Declare the detection routes."""
    table.add("GET", "/api/detection/results/{name}", results, Access.VIEW, "Recent detections")
    table.add("GET", "/api/detection/models", models, Access.VIEW, "Detection models")
