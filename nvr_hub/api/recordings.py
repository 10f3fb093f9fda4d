"""Recordings (contract: Recordings): list, get, play, download, protect, batch, files, sync."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import voluptuous as vol
from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response, path_id, principal, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest, Forbidden, NotFound
from nvr_hub.services.recording_queries import parse_list_query
from nvr_hub.services.recordings import RecordingService, recording_json
from nvr_hub.storage.models import Recording
from nvr_hub.validation import int_range, strict_bool, text, validate

_IDS = vol.All([int_range(1, 2**62)], vol.Length(min=1, max=100_000))
_FILTER = vol.Schema(
    {
        vol.Optional("stream"): vol.Any(text(4096), [text(64)]),
        vol.Optional("start"): vol.Any(text(64), int_range(0, 2**40)),
        vol.Optional("end"): vol.Any(text(64), int_range(0, 2**40)),
        vol.Optional("has_detection"): strict_bool,
        vol.Optional("protected"): strict_bool,
        vol.Optional("capture_method"): text(16),
    },
    extra=vol.PREVENT_EXTRA,
)


def _ids_or_filter(body: dict[str, Any]) -> dict[str, Any]:
    if "ids" not in body and "filter" not in body:
        raise vol.Invalid("give 'ids' or 'filter'")
    return body


BATCH_DELETE_SCHEMA = vol.Schema(
    vol.All(
        vol.Schema(
            {
                vol.Exclusive("ids", "what"): _IDS,
                vol.Exclusive("filter", "what"): _FILTER,
                vol.Optional("force"): strict_bool,
            },
            extra=vol.PREVENT_EXTRA,
        ),
        _ids_or_filter,
    )
)
BATCH_PROTECT_SCHEMA = vol.Schema(
    {vol.Required("ids"): _IDS, vol.Required("protected"): strict_bool}, extra=vol.PREVENT_EXTRA
)
PROTECT_SCHEMA = vol.Schema({vol.Required("protected"): strict_bool}, extra=vol.PREVENT_EXTRA)
RETENTION_SCHEMA = vol.Schema(
    {vol.Required("retention_days"): int_range(-1, 36_500)}, extra=vol.PREVENT_EXTRA
)


def _rec_id(request: web.Request) -> int:
    return path_id(request)


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"invalid field '{name}': expected true or false")
    return raw in ("true", "1")


async def list_recordings(request: web.Request) -> web.Response:
    """Filtered, sorted, paginated recordings."""
    query = parse_list_query(request.query)
    rows, total = await request.app[keys.RECORDINGS].page(query)
    return json_response(
        {
            "recordings": [recording_json(r) for r in rows],
            "pagination": {
                "page": query.page,
                "pages": max(1, math.ceil(total / query.limit)),
                "total": total,
                "limit": query.limit,
            },
        }
    )


async def get_recording(request: web.Request) -> web.Response:
    """One recording."""
    return json_response(recording_json(await request.app[keys.RECORDINGS].get(_rec_id(request))))


async def delete_recording(request: web.Request) -> web.Response:
    """Delete file and row; protected → 409 unless `?force=true` by an admin."""
    force = _flag(request, "force")
    if force and principal(request).role != "admin":
        raise Forbidden("only an admin may force-delete a protected recording")
    await request.app[keys.RECORDINGS].delete(_rec_id(request), force=force)
    return json_response({"success": True})


async def _file_response(request: web.Request, *, attachment: bool) -> web.StreamResponse:
    service = request.app[keys.RECORDINGS]
    rec = await service.get(_rec_id(request))
    path = service.absolute(rec)
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"the file of recording {rec.id} is missing; run a sync")
    headers = {"Content-Type": "video/mp4", "Cache-Control": "private, max-age=0"}
    if attachment:
        stamp = rec.start_time.strftime("%Y%m%dT%H%M%SZ")
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in rec.stream_name)
        headers["Content-Disposition"] = f'attachment; filename="{safe}_{stamp}.mp4"'
    return web.FileResponse(path, headers=headers)


async def play_recording(request: web.Request) -> web.StreamResponse:
    """The MP4 for a `<video>` element, with Range and ETag support."""
    return await _file_response(request, attachment=False)


async def download_recording(request: web.Request) -> web.StreamResponse:
    """The MP4 as an attachment."""
    return await _file_response(request, attachment=True)


async def protect(request: web.Request) -> web.Response:
    """Protect or unprotect one recording."""
    body = validate(PROTECT_SCHEMA, await read_json(request))
    service = request.app[keys.RECORDINGS]
    rec_id = _rec_id(request)
    if not await service.set_protected([rec_id], body["protected"]):
        raise NotFound(f"recording {rec_id} not found")
    return json_response(recording_json(await service.get(rec_id)))


async def set_retention(request: web.Request) -> web.Response:
    """Per-recording retention override in days (−1 clears it)."""
    days = validate(RETENTION_SCHEMA, await read_json(request))["retention_days"]
    rec = await request.app[keys.RECORDINGS].set_retention(
        _rec_id(request), None if days < 0 else days
    )
    return json_response(recording_json(rec))


async def batch_delete(request: web.Request) -> web.Response:
    """Start deleting many recordings; poll the job for progress."""
    body = validate(BATCH_DELETE_SCHEMA, await read_json(request))
    force = bool(body.get("force"))
    if force and principal(request).role != "admin":
        raise Forbidden("only an admin may force-delete protected recordings")
    service = request.app[keys.RECORDINGS]
    if "ids" in body:
        ids = list(dict.fromkeys(body["ids"]))
    else:
        raw = {
            k: (
                ",".join(v)
                if isinstance(v, list)
                else str(v).lower()
                if isinstance(v, bool)
                else str(v)
            )
            for k, v in body["filter"].items()
        }
        ids = await service.matching_ids(parse_list_query(raw))
    job = request.app[keys.JOBS].start(ids, lambda part: service.delete_ids(part, force=force))
    return json_response({"job_id": job.job_id, "total": job.total}, status=202)


async def batch_progress(request: web.Request) -> web.Response:
    """Progress of a batch delete."""
    job = request.app[keys.JOBS].get(request.match_info["job_id"])
    if job is None:
        raise NotFound("job not found")
    return json_response(job.as_json())


async def batch_protect(request: web.Request) -> web.Response:
    """Protect or unprotect many recordings."""
    body = validate(BATCH_PROTECT_SCHEMA, await read_json(request))
    ids = list(dict.fromkeys(body["ids"]))
    done = await request.app[keys.RECORDINGS].set_protected(ids, body["protected"])
    return json_response({"success_count": done, "fail_count": len(ids) - done})


async def protected_list(request: web.Request) -> web.Response:
    """Every protected recording."""
    rows = await request.app[keys.RECORDINGS].protected()
    return json_response({"recordings": [recording_json(r) for r in rows], "count": len(rows)})


async def _file_target(request: web.Request) -> tuple[str, Recording | None]:
    service = request.app[keys.RECORDINGS]
    raw_id = request.query.get("id")
    if raw_id is not None:
        if not raw_id.isdigit():
            raise BadRequest("invalid field 'id': expected a recording id")
        rec = await service.get(int(raw_id))
        return rec.path, rec
    raw_path = request.query.get("path")
    if raw_path is None:
        raise BadRequest("missing field 'id' or 'path'")
    # Resolving follows symlinks on disk: off the loop.
    relative = await asyncio.to_thread(_confined_relative, service, raw_path)
    return relative, await service.by_path(relative)


def _confined_relative(service: RecordingService, raw_path: str) -> str:
    return service.confine(raw_path).relative_to(service.root.resolve()).as_posix()


def _file_size(path: Path) -> int | None:
    """The size of a regular file, None if there is none."""
    return path.stat().st_size if path.is_file() else None


async def files_check(request: web.Request) -> web.Response:
    """Whether a recording's file exists on disk."""
    relative, rec = await _file_target(request)
    service = request.app[keys.RECORDINGS]
    size = await asyncio.to_thread(_file_size, service.root / relative)
    return json_response(
        {
            "exists": size is not None,
            "path": relative,
            "size": size or 0,
            "recording_id": rec.id if rec else None,
        }
    )


async def files_delete(request: web.Request) -> web.Response:
    """Delete a recording file (and its row) from disk (admin)."""
    relative, rec = await _file_target(request)
    service = request.app[keys.RECORDINGS]
    if rec is not None:
        await service.delete(rec.id, force=True)
    else:
        path = service.root / relative
        if not await asyncio.to_thread(path.is_file):
            raise NotFound("no such file")
        await service.unlink_orphan(relative)
    return json_response({"success": True, "path": relative})


async def sync(request: web.Request) -> web.Response:
    """Reconcile rows and files: add rows for new files, drop rows whose file vanished."""
    return json_response({"success": True, **await request.app[keys.PIPELINES].sync_recordings()})


def add_routes(table: RouteTable) -> None:
    """Declare the recording routes (fixed paths before `{id}` ones)."""
    base = "/api/recordings"
    one = base + r"/{id:\d+}"
    table.add("GET", base, list_recordings, Access.VIEW, "List recordings")
    table.add("GET", base + "/protected", protected_list, Access.VIEW, "Protected recordings")
    table.add(
        "POST",
        base + "/batch-delete",
        batch_delete,
        Access.OPERATE,
        "Delete many recordings",
        BATCH_DELETE_SCHEMA,
    )
    table.add(
        "GET",
        base + "/batch-delete/progress/{job_id}",
        batch_progress,
        Access.VIEW,
        "Batch delete progress",
    )
    table.add(
        "POST",
        base + "/batch-protect",
        batch_protect,
        Access.OPERATE,
        "Protect many recordings",
        BATCH_PROTECT_SCHEMA,
    )
    table.add("GET", base + "/files/check", files_check, Access.VIEW, "Check a recording file")
    table.add("DELETE", base + "/files", files_delete, Access.ADMIN, "Delete a recording file")
    table.add("POST", base + "/sync", sync, Access.OPERATE, "Sync rows with files")
    table.add(
        "GET",
        base + r"/play/{id:\d+}{ext:(?:\.mp4)?}",
        play_recording,
        Access.VIEW,
        "Play a recording",
    )
    table.add(
        "GET",
        base + r"/download/{id:\d+}",
        download_recording,
        Access.VIEW,
        "Download a recording",
    )
    table.add("GET", one, get_recording, Access.VIEW, "Get a recording")
    table.add("DELETE", one, delete_recording, Access.OPERATE, "Delete a recording")
    table.add(
        "PUT", one + "/protect", protect, Access.OPERATE, "Protect a recording", PROTECT_SCHEMA
    )
    table.add(
        "PUT",
        one + "/retention",
        set_retention,
        Access.OPERATE,
        "Set recording retention",
        RETENTION_SCHEMA,
    )
