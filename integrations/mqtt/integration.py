"""The MQTT integration: idle until `mqtt_enabled`, follows the mqtt_* settings at run time."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

from integrations.mqtt.bridge import Bridge
from integrations.mqtt.connection import Connection
from integrations.mqtt.options import MqttOptions, default_client_id, tls_context
from nvr_hub.api.routing import RouteTable
from nvr_hub.bus import SettingsChanged
from nvr_hub.integration import HubServices

_LOGGER = logging.getLogger(__name__)
_WATCHED = ("snapshot_interval",)


class MqttIntegration:
    """Publishes hub state and events to a broker, takes commands, feeds Home Assistant."""

    name = "mqtt"

    def __init__(self) -> None:
        self._hub: HubServices | None = None
        self._bridge: Bridge | None = None
        self._unsubscribe: Callable[[], Awaitable[None]] | None = None
        self._lock = asyncio.Lock()
        self._client_id = ""

    @property
    def bridge(self) -> Bridge | None:
        """The running bridge (None while MQTT is disabled)."""
        return self._bridge

    def add_routes(self, table: RouteTable) -> None:
        """No HTTP routes: everything goes through the broker and /api/settings."""

    async def start(self, hub: HubServices) -> None:
        """Follow settings changes; connect if enabled (a broker that is down is retried)."""
        self._hub = hub
        self._unsubscribe = hub.bus.subscribe((SettingsChanged,), self._on_settings, maxsize=100)
        await self.apply()

    async def stop(self) -> None:
        """Publish `offline`, disconnect and stop everything started."""
        if self._unsubscribe is not None:
            await self._unsubscribe()
            self._unsubscribe = None
        async with self._lock:
            await self._shutdown()

    async def _on_settings(self, event: SettingsChanged) -> None:
        if any(k.startswith("mqtt_") or k in _WATCHED for k in event.keys):
            await self.apply()

    async def apply(self) -> None:
        """Bring the bridge and connection in line with the current settings."""
        assert self._hub is not None
        async with self._lock:
            options = MqttOptions.read(self._hub)
            bridge = self._bridge
            if not options.enabled:
                await self._shutdown()
                return
            if bridge is None:
                bridge = self._bridge = Bridge(self._hub, options)
                await bridge.start()
                await self._connect(bridge, options)
                return
            old = bridge.options
            if old == options:
                return
            conn = bridge.conn
            if conn is not None and old.same_connection(options):
                await bridge.reconfigure(options)
                if old.base_url != options.base_url:
                    conn.republish()  # the configs' links into the web UI changed
                return
            final = bridge.retraction(old, options)
            bridge.conn = None
            if conn is not None:
                await conn.stop(final)
            await bridge.reconfigure(options)
            await self._connect(bridge, options)

    async def _connect(self, bridge: Bridge, options: MqttOptions) -> None:
        try:
            context = await asyncio.to_thread(tls_context, options)
        except (OSError, ssl.SSLError, ValueError) as err:
            _LOGGER.error("MQTT is enabled but its TLS files cannot be used: %s", err)
            return
        if not self._client_id:
            self._client_id = default_client_id(options)
        conn = Connection(options, context, self._client_id, bridge.retained, bridge.on_message)
        bridge.conn = conn
        conn.start()
        _LOGGER.info(
            "MQTT enabled: broker %s:%d, topics under %s/",
            options.host,
            options.port,
            options.topic_prefix,
        )

    async def _shutdown(self) -> None:
        bridge, self._bridge = self._bridge, None
        if bridge is None:
            return
        conn, bridge.conn = bridge.conn, None
        await bridge.stop()
        if conn is not None:
            await conn.stop([])
