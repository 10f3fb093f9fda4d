"""The seam for integrations: what they get from the hub and what they must provide."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from nvr_hub.bus import EventBus
from nvr_hub.config import Config
from nvr_hub.errors import ConfigError
from nvr_hub.storage.db import SessionMaker

if TYPE_CHECKING:
    from nvr_hub.api.routing import RouteTable
    from nvr_hub.services.auth import AuthService
    from nvr_hub.services.pipelines import PipelineManager
    from nvr_hub.services.recordings import RecordingService
    from nvr_hub.services.settings import SettingsService
    from nvr_hub.services.snapshots import SnapshotService
    from nvr_hub.services.streams import StreamService
    from nvr_hub.services.system import SystemService


@dataclass(frozen=True)
class HubServices:
    """The core services an integration may use (never the aiohttp app itself)."""

    config: Config
    bus: EventBus
    sessionmaker: SessionMaker
    settings: SettingsService
    streams: StreamService
    recordings: RecordingService
    pipelines: PipelineManager
    snapshots: SnapshotService
    system: SystemService
    auth: AuthService
    # Set to stop the hub (after `system.stop_request` says whether to restart).
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)


@runtime_checkable
class Integration(Protocol):
    """An adapter to an outside system, loaded by name from the config's `integrations`."""

    name: str

    def add_routes(self, table: RouteTable) -> None:
        """Declare HTTP routes (called once, before the app starts); may add none."""

    async def start(self, hub: HubServices) -> None:
        """Start background work; must not fail when the outside system is down."""

    async def stop(self) -> None:
        """Stop and wait for everything started."""


def load_integrations(names: tuple[str, ...]) -> list[Integration]:
    """Import `integrations.<name>` for each enabled name and call its `create()`."""
    loaded: list[Integration] = []
    for name in names:
        try:
            module = importlib.import_module(f"integrations.{name}")
        except ModuleNotFoundError as err:
            raise ConfigError(f"integrations: no integration named '{name}'") from err
        integration = module.create()
        if not isinstance(integration, Integration):
            raise ConfigError(f"integrations: '{name}' does not provide an Integration")
        loaded.append(integration)
    return loaded
