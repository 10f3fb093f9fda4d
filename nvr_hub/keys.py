"""Every typed `web.AppKey` of the application, in one place."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from nvr_hub.api.routing import RouteTable
from nvr_hub.bus import EventBus
from nvr_hub.config import Config
from nvr_hub.integration import HubServices, Integration
from nvr_hub.live import LiveService
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
from nvr_hub.storage.db import SessionMaker

CONFIG = web.AppKey("config", Config)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessionmaker", SessionMaker)
BUS = web.AppKey("bus", EventBus)
AUTH = web.AppKey("auth", AuthService)
SETTINGS = web.AppKey("settings", SettingsService)
STREAMS = web.AppKey("streams", StreamService)
SYSTEM = web.AppKey("system", SystemService)
ROUTES = web.AppKey("routes", RouteTable)
PIPELINES = web.AppKey("pipelines", PipelineManager)
STOP_EVENT = web.AppKey("stop_event", asyncio.Event)
RECORDINGS = web.AppKey("recordings", RecordingService)
JOBS = web.AppKey("jobs", JobRunner)
RETENTION = web.AppKey("retention", RetentionWorker)
SNAPSHOTS = web.AppKey("snapshots", SnapshotService)
MOTION = web.AppKey("motion", MotionService)
LIVE = web.AppKey("live", LiveService)
HUB = web.AppKey("hub", HubServices)
INTEGRATIONS = web.AppKey("integrations", list[Integration])
