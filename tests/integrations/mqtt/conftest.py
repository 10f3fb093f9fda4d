"""Fixtures for the MQTT tests: unique topic prefixes on the machine's broker, cleaned after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from integrations.mqtt.integration import MqttIntegration
from nvr_hub import keys
from tests.conftest import Hub
from tests.integrations.mqtt.brokers import (
    MACHINE_BROKER,
    PrivateBroker,
    clear_retained,
    require_machine_broker,
)
from tests.polling import wait_until

DEMO = {"name": "cam", "url": "demo://t?width=160&height=120&fps=5", "segment_duration": 60}


@dataclass(frozen=True)
class Names:
    """Topic prefixes of one test, so tests (and both backends) never see each other."""

    prefix: str
    discovery: str

    def stream(self, name: str, leaf: str) -> str:
        return f"{self.prefix}/{name}/{leaf}"


@pytest.fixture
async def names() -> AsyncIterator[Names]:
    """Fresh prefixes; their retained messages are removed from the machine's broker after.

    Request it before `hub` so the hub stops (and says `offline`) before the clean-up.
    """
    await asyncio.to_thread(require_machine_broker)
    tag = uuid.uuid4().hex[:10]
    chosen = Names(prefix=f"nvrtest_{tag}", discovery=f"hatest_{tag}")
    yield chosen
    await clear_retained(MACHINE_BROKER[1], f"{chosen.prefix}/#", f"{chosen.discovery}/#")


@pytest.fixture
def private_brokers(tmp_path: Path) -> Iterator[list[PrivateBroker]]:
    """Private Mosquitto processes started by a test; all killed at teardown."""
    brokers: list[PrivateBroker] = []
    yield brokers
    for broker in brokers:
        broker.kill()


def integration(hub: Hub) -> MqttIntegration:
    """The hub's loaded MQTT integration."""
    found = [i for i in hub.app[keys.INTEGRATIONS] if isinstance(i, MqttIntegration)]
    assert len(found) == 1, "the mqtt integration is not loaded by default"
    return found[0]


def connects(hub: Hub) -> int:
    """How often the current broker connection has connected (0 while there is none)."""
    bridge = integration(hub).bridge
    conn = bridge.conn if bridge else None
    return conn.connects if conn else 0


async def enable(hub: Hub, names: Names, port: int = MACHINE_BROKER[1], **extra: Any) -> None:
    """Turn MQTT on through the settings API, as an admin would."""
    await hub.login()
    body = {
        "mqtt_enabled": True,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": port,
        "mqtt_topic_prefix": names.prefix,
        "mqtt_discovery_prefix": names.discovery,
        "mqtt_base_url": "http://nvr.example:8080",
        **extra,
    }
    resp = await hub.client.post("/api/settings", json=body)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["restart_required"] is False


async def until(predicate: Any, within: float = 10.0) -> Any:
    """Poll an async or plain predicate until it is truthy."""
    return await wait_until(predicate, within)
