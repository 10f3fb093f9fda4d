"""A broker that is down, goes away, comes back or changes: the hub carries on and catches up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nvr_hub import keys
from nvr_hub.bus import MotionStarted
from tests.conftest import Hub
from tests.integrations.mqtt.brokers import PrivateBroker, Watcher, retained
from tests.integrations.mqtt.conftest import DEMO, Names, enable, integration, until

IDLE = {**DEMO, "enabled": False}


async def test_broker_down_at_start_then_restarted_gets_everything_again(
    names: Names, hub: Hub, tmp_path: Path, private_brokers: list[PrivateBroker]
) -> None:
    broker = PrivateBroker(tmp_path)
    private_brokers.append(broker)
    # MQTT on, broker not running: the API and the pipelines do not care.
    await enable(hub, names, port=broker.port)
    assert (await hub.client.post("/api/streams", json=DEMO)).status == 201
    await until(lambda: hub.app[keys.PIPELINES].connected_count() == 1, 10)
    assert (await hub.client.get("/api/health")).status == 200

    await broker.run()
    async with Watcher(broker.port, f"{names.prefix}/#", f"{names.discovery}/#") as w:
        await w.wait_payload(f"{names.prefix}/availability", b"online", within=10)
        await w.wait_payload(names.stream("cam", "status"), b"connected")
    conn = integration(hub).bridge.conn  # type: ignore[union-attr]
    assert conn is not None and conn.connects == 1

    # The broker crashes; meanwhile a stream is added and motion starts.
    await asyncio.to_thread(broker.kill)
    await until(lambda: not conn.connected.is_set(), 5)
    resp = await hub.client.post("/api/streams", json={**IDLE, "name": "yard"})
    assert resp.status == 201
    hub.app[keys.BUS].publish(MotionStarted(stream="cam"))
    assert (await hub.client.get("/api/streams/cam")).status == 200
    await asyncio.sleep(0.5)

    # Back (empty: no persistence): availability, discovery and every state come again.
    await broker.run()
    async with Watcher(broker.port, f"{names.prefix}/#") as w:
        await w.wait_payload(names.stream("yard", "detection"), b"OFF", within=10)
    assert conn.connects == 2
    state = await retained(broker.port, f"{names.prefix}/#")
    assert state[f"{names.prefix}/availability"] == b"online"
    assert state[names.stream("cam", "status")] == b"connected"
    assert state[names.stream("cam", "motion")] == b"ON"
    assert state[names.stream("yard", "status")] == b"disabled"
    assert state[names.stream("yard", "recording")] == b"ON"
    configs = await retained(broker.port, f"{names.discovery}/#")
    assert len(configs) == 6 + 2 * 7


async def test_settings_changes_reconnect_without_a_restart(
    names: Names, hub: Hub, tmp_path: Path, private_brokers: list[PrivateBroker]
) -> None:
    first, second = PrivateBroker(tmp_path), PrivateBroker(tmp_path)
    private_brokers += [first, second]
    await first.run()
    await second.run()
    await enable(hub, names, port=first.port)
    await hub.client.post("/api/streams", json=IDLE)
    async with (
        Watcher(first.port, "#") as on_first,
        Watcher(second.port, "#") as on_second,
    ):
        await on_first.wait_payload(names.stream("cam", "status"), b"disabled")

        # Another broker: the old one hears a clean goodbye (no last will needed).
        resp = await hub.client.post("/api/settings", json={"mqtt_port": second.port})
        assert (await resp.json())["restart_required"] is False
        await on_first.wait_payload(f"{names.prefix}/availability", b"offline")
        await on_second.wait_payload(f"{names.prefix}/availability", b"online")
        await on_second.wait_payload(names.stream("cam", "status"), b"disabled")
        assert len(await retained(second.port, f"{names.discovery}/#")) == 13

        # Another prefix: old states and entities are cleared, new ones published.
        await hub.client.post("/api/settings", json={"mqtt_topic_prefix": "moved/hub"})
        await on_second.wait_payload("moved/hub/cam/status", b"disabled")
        old_state = await retained(second.port, f"{names.prefix}/#")
        assert old_state == {f"{names.prefix}/availability": b"offline"}
        configs = await retained(second.port, f"{names.discovery}/#")
        assert len(configs) == 13 and all("/moved_hub/" in t for t in configs)

        # Discovery off: the entities go; MQTT off: the hub says offline and goes quiet.
        await hub.client.post("/api/settings", json={"mqtt_discovery": False})
        await on_second.wait(lambda: all(on_second.latest(t) == b"" for t in configs))
        await on_second.wait_payload("moved/hub/availability", b"online")
        assert await retained(second.port, f"{names.discovery}/#") == {}
        await hub.client.post("/api/settings", json={"mqtt_enabled": False})
        await on_second.wait_payload("moved/hub/availability", b"offline")
        assert integration(hub).bridge is None
    # Turned off, not deleted: the last state stays for whoever looks.
    leftover = await retained(second.port, "moved/#")
    assert leftover["moved/hub/cam/status"] == b"disabled"
