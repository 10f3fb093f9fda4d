"""Streams, stream retention and detection zones (contract: Streams, Detection Zones)."""

from __future__ import annotations

import voluptuous as vol
from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response, principal, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest
from nvr_hub.services.streams import ZONES_SCHEMA, stream_json
from nvr_hub.storage.models import Stream
from nvr_hub.stream_fields import ADD_SCHEMA, RETENTION_SCHEMA, UPDATE_SCHEMA, stream_url
from nvr_hub.validation import validate

TEST_SCHEMA = vol.Schema(
    {vol.Required("url"): stream_url, vol.Optional("protocol", default=0): vol.In((0, 1))},
    extra=vol.ALLOW_EXTRA,  # the UI sends the whole stream form; only url/protocol matter
)


def _name(request: web.Request) -> str:
    return request.match_info["name"]


def _reveal(request: web.Request) -> bool:
    return principal(request).role != "viewer"


async def list_streams(request: web.Request) -> web.Response:
    """Every stream, credentials masked for everyone."""
    streams = await request.app[keys.STREAMS].all()
    pipelines = request.app[keys.PIPELINES]
    return json_response(
        {"streams": [stream_json(s, pipelines.status(s), reveal=False) for s in streams]}
    )


async def get_stream(request: web.Request) -> web.Response:
    """One stream; credentials shown to admin, user and api roles."""
    stream = await request.app[keys.STREAMS].get(_name(request))
    status = request.app[keys.PIPELINES].status(stream)
    return json_response(stream_json(stream, status, reveal=_reveal(request)))


async def get_stream_full(request: web.Request) -> web.Response:
    """The stream with its zones, retention and live pipeline figures."""
    streams = request.app[keys.STREAMS]
    stream = await streams.get(_name(request))
    pipelines = request.app[keys.PIPELINES]
    out = stream_json(stream, pipelines.status(stream), reveal=_reveal(request))
    out["zones"] = await streams.zones(stream.name)
    out["stats"] = pipelines.stats(stream.name)
    return json_response(out)


async def add_stream(request: web.Request) -> web.Response:
    """Add a stream → 201; its pipeline starts right away."""
    stream = await request.app[keys.STREAMS].add(await read_json(request))
    status = request.app[keys.PIPELINES].status(stream)
    return json_response(stream_json(stream, status, reveal=True), status=201)


async def update_stream(request: web.Request) -> web.Response:
    """Partial update; the running pipeline picks it up."""
    stream = await request.app[keys.STREAMS].update(_name(request), await read_json(request))
    status = request.app[keys.PIPELINES].status(stream)
    return json_response(stream_json(stream, status, reveal=True))


async def delete_stream(request: web.Request) -> web.Response:
    """Delete a stream; its recordings stay unless `?delete_recordings=true`."""
    raw = request.query.get("delete_recordings", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest("invalid field 'delete_recordings': expected true or false")
    name = _name(request)
    await request.app[keys.STREAMS].delete(name)
    deleted = 0
    if raw in ("true", "1"):
        deleted = await request.app[keys.PIPELINES].delete_recordings(name)
    return json_response({"success": True, "deleted_recordings": deleted})


async def test_stream(request: web.Request) -> web.Response:
    """Probe a URL with PyAV (10 s at most): codec, size, fps, audio."""
    body = validate(TEST_SCHEMA, await read_json(request))
    result = await request.app[keys.PIPELINES].probe(body["url"], body["protocol"])
    return json_response({"success": True, **result})


async def refresh_stream(request: web.Request) -> web.Response:
    """Force the stream's camera connection to reconnect."""
    stream = await request.app[keys.STREAMS].get(_name(request))
    await request.app[keys.PIPELINES].refresh(stream.name)
    return json_response({"success": True})


async def snapshot(request: web.Request) -> web.Response:
    """The latest frame as JPEG (decoded from the newest keyframe); `?h=` scales it."""
    stream = await request.app[keys.STREAMS].get(_name(request))
    raw = request.query.get("h")
    height = None
    if raw is not None:
        if not raw.isdigit() or not 16 <= int(raw) <= 4320:
            raise BadRequest("invalid field 'h': must be a height between 16 and 4320")
        height = int(raw)
    data = await request.app[keys.SNAPSHOTS].jpeg(stream.name, height)
    return web.Response(
        body=data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=1"}
    )


def _retention_json(stream: Stream) -> dict[str, int]:
    return {
        "retention_days": stream.retention_days,
        "detection_retention_days": stream.detection_retention_days,
        "max_storage_mb": stream.max_storage_mb,
    }


async def get_retention(request: web.Request) -> web.Response:
    """The stream's retention settings."""
    stream = await request.app[keys.STREAMS].get(_name(request))
    return json_response(_retention_json(stream))


async def put_retention(request: web.Request) -> web.Response:
    """Change the stream's retention settings."""
    streams = request.app[keys.STREAMS]
    stream = await streams.update_retention(_name(request), await read_json(request))
    return json_response({"success": True, **_retention_json(stream)})


async def list_zones(request: web.Request) -> web.Response:
    """The stream's detection zones."""
    return json_response({"zones": await request.app[keys.STREAMS].zones(_name(request))})


async def replace_zones(request: web.Request) -> web.Response:
    """Replace the stream's zone set."""
    zones = await request.app[keys.STREAMS].replace_zones(_name(request), await read_json(request))
    return json_response({"success": True, "zones": zones})


async def delete_zones(request: web.Request) -> web.Response:
    """Remove every zone of the stream."""
    await request.app[keys.STREAMS].delete_zones(_name(request))
    return json_response({"success": True})


def add_routes(table: RouteTable) -> None:
    """Declare the stream routes (fixed paths before `{name}` ones)."""
    one = "/api/streams/{name}"
    table.add("GET", "/api/streams", list_streams, Access.VIEW, "List streams")
    table.add("POST", "/api/streams", add_stream, Access.OPERATE, "Add a stream", ADD_SCHEMA)
    table.add(
        "POST",
        "/api/streams/test",
        test_stream,
        Access.OPERATE,
        "Test a stream URL",
        TEST_SCHEMA,
    )
    table.add("GET", one, get_stream, Access.VIEW, "Get a stream")
    table.add("GET", one + "/full", get_stream_full, Access.VIEW, "Get a stream with everything")
    table.add("PUT", one, update_stream, Access.OPERATE, "Update a stream", UPDATE_SCHEMA)
    table.add("DELETE", one, delete_stream, Access.OPERATE, "Delete a stream")
    table.add("GET", one + "/snapshot.jpg", snapshot, Access.VIEW, "Latest frame as JPEG")
    table.add("POST", one + "/refresh", refresh_stream, Access.OPERATE, "Reconnect a stream")
    table.add("GET", one + "/retention", get_retention, Access.VIEW, "Get stream retention")
    table.add(
        "PUT",
        one + "/retention",
        put_retention,
        Access.OPERATE,
        "Set stream retention",
        RETENTION_SCHEMA,
    )
    table.add("GET", one + "/zones", list_zones, Access.VIEW, "List detection zones")
    table.add(
        "POST",
        one + "/zones",
        replace_zones,
        Access.OPERATE,
        "Replace detection zones",
        ZONES_SCHEMA,
    )
    table.add("DELETE", one + "/zones", delete_zones, Access.OPERATE, "Delete detection zones")
