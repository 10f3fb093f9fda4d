"""The composition root: `create_app(config)` builds every service and the route table."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from nvr_hub import keys
from nvr_hub.api import (
    auth_routes,
    detection,
    live,
    motion,
    openapi,
    recordings,
    streams,
    system,
    timeline,
    users,
)
from nvr_hub.api.http import auth_middleware, error_middleware
from nvr_hub.api.routing import RouteTable
from nvr_hub.bus import EventBus
from nvr_hub.config import DEFAULT_STREAMS, Config
from nvr_hub.errors import NotFound
from nvr_hub.integration import HubServices, Integration, load_integrations
from nvr_hub.live import LiveService
from nvr_hub.logs import remove_logging, setup_logging
from nvr_hub.services.auth import AuthService
from nvr_hub.services.jobs import JobRunner
from nvr_hub.services.motion import MotionService
from nvr_hub.services.pipelines import PipelineManager
from nvr_hub.services.recordings import RecordingService
from nvr_hub.services.retention import RetentionWorker
from nvr_hub.services.settings import SettingsService
from nvr_hub.services.snapshots import SnapshotService
from nvr_hub.services.streams import StreamService
from nvr_hub.services.system import SystemService
from nvr_hub.storage import migrate
from nvr_hub.storage.db import make_engine, make_sessionmaker

_LOGGER = logging.getLogger(__name__)
WEB_ROOT = Path(__file__).parent / "web"


def create_app(config: Config, *, setup_logs: bool = True) -> web.Application:
    """Build the whole hub for `config`; resources start and stop with the app."""
    app = web.Application(
        middlewares=[error_middleware, auth_middleware],
        client_max_size=config.server.max_body_bytes,
    )
    engine = make_engine(config.database_url)
    sessionmaker = make_sessionmaker(engine)
    bus = EventBus()
    stream_service = StreamService(sessionmaker, bus)
    settings = SettingsService(sessionmaker, config, bus)
    recording_service = RecordingService(sessionmaker, config.storage.recordings)
    app[keys.CONFIG] = config
    app[keys.ENGINE] = engine
    app[keys.SESSIONS] = sessionmaker
    app[keys.BUS] = bus
    app[keys.AUTH] = AuthService(sessionmaker, config.auth)
    app[keys.SETTINGS] = settings
    app[keys.RECORDINGS] = recording_service
    app[keys.JOBS] = JobRunner()
    app[keys.RETENTION] = RetentionWorker(
        sessionmaker, settings, recording_service, config.storage.path
    )
    app[keys.STREAMS] = stream_service
    app[keys.STOP_EVENT] = asyncio.Event()
    app[keys.SYSTEM] = SystemService(config, sessionmaker, engine)
    snapshots = SnapshotService()
    app[keys.SNAPSHOTS] = snapshots
    app[keys.PIPELINES] = PipelineManager(
        config, sessionmaker, bus, stream_service, recording_service, snapshots
    )
    app[keys.MOTION] = MotionService(
        config,
        sessionmaker,
        bus,
        stream_service,
        settings,
        app[keys.PIPELINES],
        recording_service,
        snapshots,
    )
    app[keys.HUB] = HubServices(
        config=config,
        bus=bus,
        sessionmaker=sessionmaker,
        settings=settings,
        streams=stream_service,
        recordings=recording_service,
        pipelines=app[keys.PIPELINES],
        snapshots=snapshots,
        system=app[keys.SYSTEM],
        auth=app[keys.AUTH],
        stop_event=app[keys.STOP_EVENT],
    )
    app[keys.INTEGRATIONS] = load_integrations(config.integrations)
    app[keys.LIVE] = LiveService(app[keys.PIPELINES], settings)

    table = RouteTable()
    for module in (
        auth_routes,
        users,
        streams,
        recordings,
        timeline,
        system,
        live,
        detection,
        motion,
        openapi,
    ):
        module.add_routes(table)
    for integration in app[keys.INTEGRATIONS]:
        integration.add_routes(table)
    app[keys.ROUTES] = table
    table.register(app)
    _add_web_ui(app, table)

    if setup_logs:
        app.cleanup_ctx.append(_logging_ctx)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_services_ctx)
    app.cleanup_ctx.append(_live_ctx)
    return app


def _add_web_ui(app: web.Application, table: RouteTable) -> None:
    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_ROOT / "index.html")

    async def login_page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_ROOT / "login.html")

    for path, handler, summary in (("/", index, "Web UI"), ("/login.html", login_page, "Login")):
        route = app.router.add_get(path, handler)
        for sibling in route.resource or ():
            table.mark_public(sibling, summary)
    route = app.router.add_get(r"/static/{filename:.+}", _static)
    for sibling in route.resource or ():
        table.mark_public(sibling, "Web UI assets")


async def _static(request: web.Request) -> web.FileResponse:
    """A file under web/static; anything else (or outside it) is a JSON 404."""
    # Resolving follows symlinks on disk: off the loop.
    target = await asyncio.to_thread(_static_file, request.match_info["filename"])
    if target is None:
        raise NotFound("not found")
    return web.FileResponse(target)


def _static_file(filename: str) -> Path | None:
    root = (WEB_ROOT / "static").resolve()
    target = (root / filename).resolve()
    return target if root in target.parents and target.is_file() else None


async def _live_ctx(app: web.Application) -> AsyncIterator[None]:
    # After the pipelines start; closes every viewer before they stop.
    live_view = app[keys.LIVE]
    live_view.start()
    yield
    await live_view.stop()


async def _logging_ctx(app: web.Application) -> AsyncIterator[None]:
    # Both touch the disk; removing also waits for the queued records to be written.
    handler = await asyncio.to_thread(setup_logging, app[keys.CONFIG].logging)
    yield
    await asyncio.to_thread(remove_logging, handler)


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    # Disk work and Alembic (synchronous) both stay off the event loop.
    await asyncio.to_thread(config.storage.path.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(migrate.upgrade, config.database_url)
    yield
    await app[keys.ENGINE].dispose()


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    await asyncio.to_thread(app[keys.SYSTEM].prime)
    await app[keys.SETTINGS].load()
    # First start of a database: seed the configured streams (default: one demo camera).
    if await app[keys.SETTINGS].claim_first_run():
        for values in DEFAULT_STREAMS if config.streams is None else config.streams:
            await app[keys.STREAMS].add_values(values)
    password = await app[keys.AUTH].ensure_first_admin() if config.first_run_admin else None
    if password is not None:
        _LOGGER.warning("First run: created the 'admin' account (password printed once)")
        print(_first_run_banner(password), flush=True)
    pipelines = app[keys.PIPELINES]
    # Motion first: it hands pipelines their detection consumers as they start.
    await app[keys.MOTION].start()
    await pipelines.start()
    app[keys.RETENTION].start()
    started: list[Integration] = []
    try:
        for integration in app[keys.INTEGRATIONS]:
            await integration.start(app[keys.HUB])
            started.append(integration)
        _LOGGER.info("nvr-hub ready on port %d", config.server.port)
        yield
    finally:
        for integration in reversed(started):
            try:
                await integration.stop()
            except Exception:
                _LOGGER.exception("Integration %s failed to stop cleanly", integration.name)
    await app[keys.RETENTION].stop()
    await app[keys.JOBS].close()
    await pipelines.stop()
    await app[keys.MOTION].stop()  # after the pipelines: their last event clips are in
    await app[keys.BUS].close()


def _first_run_banner(password: str) -> str:
    line = "=" * 64
    return (
        f"\n{line}\n nvr-hub first run: an admin account was created.\n"
        f"   username: admin\n   password: {password}\n"
        f" This is shown only once. Change it after logging in.\n{line}\n"
    )
