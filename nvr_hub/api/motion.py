"""Motion recording (contract: Motion Recording): config, test, stats, clips, storage."""

from __future__ import annotations

from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response, path_id, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest, NotFound
from nvr_hub.services import motion_admin
from nvr_hub.services.motion_admin import CLEANUP_SCHEMA, CONFIG_SCHEMA, TEST_SCHEMA, event_json

MAX_LIMIT = 1000


def _name(request: web.Request) -> str:
    return request.match_info["name"]


def _limit(request: web.Request, default: int) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"invalid field 'limit': must be between 1 and {MAX_LIMIT}")
    return int(raw)


async def get_config(request: web.Request) -> web.Response:
    """A stream's motion recording config."""
    return json_response(await motion_admin.get_config(request.app[keys.MOTION], _name(request)))


async def post_config(request: web.Request) -> web.Response:
    """Create or update a stream's motion recording config."""
    body = await read_json(request)
    motion = request.app[keys.MOTION]
    return json_response(await motion_admin.save_config(motion, _name(request), body))


async def delete_config(request: web.Request) -> web.Response:
    """Delete a stream's motion recording config."""
    motion = request.app[keys.MOTION]
    return json_response(await motion_admin.delete_config(motion, _name(request)))


async def test_event(request: web.Request) -> web.Response:
    """A synthetic motion event through the whole path."""
    body = await read_json(request, optional=True)
    motion = request.app[keys.MOTION]
    return json_response(await motion_admin.test_event(motion, _name(request), body))


async def stats(request: web.Request) -> web.Response:
    """Motion statistics of a stream."""
    return json_response(await motion_admin.stats(request.app[keys.MOTION], _name(request)))


async def list_clips(request: web.Request) -> web.Response:
    """Motion-triggered recordings of a stream, newest first."""
    motion = request.app[keys.MOTION]
    return json_response(await motion_admin.clips(motion, _name(request), _limit(request, 100)))


async def delete_clip(request: web.Request) -> web.Response:
    """Delete one motion recording."""
    motion = request.app[keys.MOTION]
    return json_response(await motion_admin.delete_clip(motion, path_id(request)))


async def cleanup(request: web.Request) -> web.Response:
    """Delete expired motion recordings now."""
    body = await read_json(request, optional=True)
    return json_response(await motion_admin.cleanup_request(request.app[keys.MOTION], body))


async def storage(request: web.Request) -> web.Response:
    """Space used by motion recordings."""
    return json_response(await motion_admin.storage(request.app[keys.MOTION]))


async def events(request: web.Request) -> web.Response:
    """A stream's newest motion events, each with its snapshot link."""
    motion = request.app[keys.MOTION]
    name = _name(request)
    await motion.streams.get(name)
    rows = await motion.store.events(name, _limit(request, 50))
    return json_response({"stream_name": name, "events": [event_json(e) for e in rows]})


async def event_snapshot(request: web.Request) -> web.FileResponse:
    """The JPEG of the frame that started an event."""
    motion = request.app[keys.MOTION]
    event = await motion.store.event(path_id(request))
    if event is None or not event.snapshot:
        raise NotFound("no snapshot for that event")
    path = motion.store.storage / event.snapshot
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})


def add_routes(table: RouteTable) -> None:
    """Declare the motion routes."""
    base = "/api/motion"
    table.add("GET", base + "/config/{name}", get_config, Access.VIEW, "Get motion config")
    table.add(
        "POST",
        base + "/config/{name}",
        post_config,
        Access.OPERATE,
        "Set motion config",
        CONFIG_SCHEMA,
    )
    table.add(
        "DELETE", base + "/config/{name}", delete_config, Access.OPERATE, "Delete motion config"
    )
    table.add(
        "POST", base + "/test/{name}", test_event, Access.OPERATE, "Test motion event", TEST_SCHEMA
    )
    table.add("GET", base + "/stats/{name}", stats, Access.VIEW, "Motion statistics")
    table.add("GET", base + "/recordings/{name}", list_clips, Access.VIEW, "Motion recordings")
    table.add(
        "DELETE",
        base + r"/recordings/{id:\d+}",
        delete_clip,
        Access.OPERATE,
        "Delete a motion recording",
    )
    table.add("POST", base + "/cleanup", cleanup, Access.OPERATE, "Motion cleanup", CLEANUP_SCHEMA)
    table.add("GET", base + "/storage", storage, Access.VIEW, "Motion storage usage")
    table.add("GET", base + "/events/{name}", events, Access.VIEW, "Motion events")
    table.add(
        "GET",
        base + r"/events/{id:\d+}/snapshot.jpg",
        event_snapshot,
        Access.VIEW,
        "Snapshot of a motion event",
    )
