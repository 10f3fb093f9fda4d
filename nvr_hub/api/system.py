"""System, settings, health and ICE servers (contract: System, Health, ICE Servers)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from nvr_hub import __version__, keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response, principal, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest
from nvr_hub.logs import LEVELS, clear_logs, read_logs
from nvr_hub.services.settings import UPDATE_SCHEMA as SETTINGS_SCHEMA

_LOGGER = logging.getLogger(__name__)


async def system_info(request: web.Request) -> web.Response:
    """Version, uptime, CPU, memory, disk, stream and recording counts, versions.items."""
    system = request.app[keys.SYSTEM]
    counts = await system.counts()
    counts["streams"]["connected"] = request.app[keys.PIPELINES].connected_count()
    counts["streams"]["active"] = counts["streams"]["connected"]
    machine = await asyncio.to_thread(system.machine)
    return json_response(
        {
            "version": __version__,
            "uptime": system.uptime(),
            **machine,
            **counts,
            "versions": {"items": await system.versions()},
        }
    )


async def system_status(request: web.Request) -> web.Response:
    """Health in one word plus what is wrong, if anything."""
    system = request.app[keys.SYSTEM]
    machine = await asyncio.to_thread(system.machine)
    problems = []
    min_free = request.app[keys.SETTINGS].get("min_free_mb") * 1024 * 1024
    if machine["disk"]["free"] < min_free:
        problems.append("storage below the free-space floor")
    pipelines = request.app[keys.PIPELINES]
    failing = pipelines.failing()
    if failing:
        problems.append("streams not connected: " + ", ".join(sorted(failing)))
    return json_response(
        {
            "status": "ok" if not problems else "degraded",
            "problems": problems,
            "uptime": system.uptime(),
            "version": __version__,
        }
    )


async def system_logs(request: web.Request) -> web.Response:
    """The hub's recent log lines, newest last; `?level=&limit=`."""
    level = request.query.get("level", "debug").upper()
    if level not in LEVELS:
        raise BadRequest("invalid field 'level': must be debug, info, warning or error")
    raw_limit = request.query.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 10_000:
        raise BadRequest("invalid field 'limit': must be between 1 and 10000")
    path = request.app[keys.CONFIG].logging.file
    entries = await asyncio.to_thread(read_logs, path, level, int(raw_limit))
    return json_response({"logs": entries, "count": len(entries)})


async def clear_system_logs(request: web.Request) -> web.Response:
    """Empty the log file."""
    await asyncio.to_thread(clear_logs, request.app[keys.CONFIG].logging.file)
    _LOGGER.info("Logs cleared by %s", principal(request).username)
    return json_response({"success": True})


def _stop_later(request: web.Request, restart: bool) -> None:
    stop = request.app[keys.SYSTEM].stop_request
    stop.requested, stop.restart = True, restart
    request.app[keys.STOP_EVENT].set()


async def restart(request: web.Request) -> web.Response:
    """Stop cleanly, then re-execute the process."""
    _LOGGER.warning("Restart requested through the API")
    _stop_later(request, restart=True)
    return json_response({"success": True, "message": "restarting"})


async def shutdown(request: web.Request) -> web.Response:
    """Stop cleanly and exit."""
    _LOGGER.warning("Shutdown requested through the API")
    _stop_later(request, restart=False)
    return json_response({"success": True, "message": "shutting down"})


async def backup(request: web.Request) -> web.StreamResponse:
    """A consistent database snapshot as a download."""
    path, filename = await request.app[keys.SYSTEM].backup()
    try:
        data = await asyncio.to_thread(Path(path).read_bytes)
    finally:
        await asyncio.to_thread(Path(path).unlink, True)
    ctype = "application/vnd.sqlite3" if filename.endswith(".db") else "application/json"
    return web.Response(
        body=data,
        content_type=ctype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def get_settings(request: web.Request) -> web.Response:
    """Every runtime setting; secrets come back masked."""
    return json_response(request.app[keys.SETTINGS].as_json())


async def post_settings(request: web.Request) -> web.Response:
    """Change settings; says whether a restart is needed for them to apply."""
    changed, restart_needed = await request.app[keys.SETTINGS].update(await read_json(request))
    return json_response(
        {
            "success": True,
            "changed": changed,
            "restart_required": restart_needed,
            "settings": request.app[keys.SETTINGS].as_json(),
        }
    )


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers and the database responds."""
    system = request.app[keys.SYSTEM]
    try:
        await system.db_ping()
    except Exception as err:  # the database is a dependency: say so, do not crash
        _LOGGER.warning("Health check: database unreachable: %s", err)
        return json_response({"status": "error", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "version": __version__, "uptime": system.uptime()})


async def health_hls(request: web.Request) -> web.Response:
    """Which streams have live HLS running and how fresh their newest segment is."""
    return json_response(request.app[keys.LIVE].hls_health())


async def ice_servers(request: web.Request) -> web.Response:
    """The ICE servers WebRTC clients should use."""
    return json_response({"ice_servers": request.app[keys.SETTINGS].get("ice_servers")})


def add_routes(table: RouteTable) -> None:
    """Declare the system routes."""
    table.add("GET", "/api/system", system_info, Access.VIEW, "System information")
    table.add("GET", "/api/system/info", system_info, Access.VIEW, "System information")
    table.add("GET", "/api/system/status", system_status, Access.VIEW, "System health status")
    table.add("GET", "/api/system/logs", system_logs, Access.ADMIN, "Recent log entries")
    table.add("POST", "/api/system/logs/clear", clear_system_logs, Access.ADMIN, "Clear logs")
    table.add("POST", "/api/system/restart", restart, Access.ADMIN, "Restart the hub")
    table.add("POST", "/api/system/shutdown", shutdown, Access.ADMIN, "Shut the hub down")
    table.add("POST", "/api/system/backup", backup, Access.ADMIN, "Download a database backup")
    table.add("GET", "/api/settings", get_settings, Access.VIEW, "Get settings")
    table.add(
        "POST", "/api/settings", post_settings, Access.ADMIN, "Update settings", SETTINGS_SCHEMA
    )
    table.add("GET", "/api/health", health, Access.PUBLIC, "Health check")
    table.add("GET", "/api/health/hls", health_hls, Access.PUBLIC, "HLS health")
    table.add("GET", "/api/ice-servers", ice_servers, Access.VIEW, "WebRTC ICE servers")
