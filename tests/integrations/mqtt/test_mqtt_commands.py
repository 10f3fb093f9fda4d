"""Commands over MQTT, bad payloads, Home Assistant's birth message, renames and deletions."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from nvr_hub import keys
from tests.conftest import Hub
from tests.integrations.mqtt.brokers import MACHINE_BROKER, Watcher, retained
from tests.integrations.mqtt.conftest import DEMO, Names, enable, until

PORT = MACHINE_BROKER[1]
IDLE = {**DEMO, "enabled": False}  # no camera work: commands only touch settings


async def stream_json(hub: Hub, name: str) -> dict[str, object]:
    resp = await hub.client.get(f"/api/streams/{name}")
    assert resp.status == 200
    body: dict[str, object] = await resp.json()
    return body


async def test_commands_switch_recording_and_detection_and_bad_ones_are_ignored(
    names: Names, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="integrations.mqtt")
    async with Watcher(PORT, f"{names.prefix}/#") as w:
        await hub.login()
        assert (await hub.client.post("/api/streams", json=IDLE)).status == 201
        # A command the broker kept would flip the switch on every reconnect: refused.
        await w.publish(names.stream("cam", "recording/set"), "OFF", retain=True)
        await enable(hub, names)
        await w.wait_payload(names.stream("cam", "status"), b"disabled")
        await w.wait_payload(names.stream("cam", "recording"), b"ON")
        await until(lambda: "Ignoring retained MQTT command" in caplog.text)
        assert (await stream_json(hub, "cam"))["record"] is True
        await w.publish(names.stream("cam", "recording/set"), "", retain=True)  # tidy up

        await w.publish(names.stream("cam", "recording/set"), "OFF")
        await w.wait_payload(names.stream("cam", "recording"), b"OFF")
        assert (await stream_json(hub, "cam"))["record"] is False
        await w.publish(names.stream("cam", "detection/set"), "on")  # case does not matter
        await w.wait_payload(names.stream("cam", "detection"), b"ON")
        assert (await stream_json(hub, "cam"))["detection_enabled"] is True

        # Nonsense: ignored with a log line, nothing changes, nothing crashes.
        bad = [
            (names.stream("cam", "recording/set"), b"maybe"),
            (names.stream("cam", "recording/set"), b'{"state": "ON"}'),
            (names.stream("cam", "recording/set"), b"\xff\xfe\x00"),
            (names.stream("cam", "recording/set"), b""),
            (names.stream("ghost", "recording/set"), b"ON"),
            (names.stream("cam", "zoom/set"), b"ON"),
            (f"{names.prefix}/restart", b"now"),
        ]
        for topic, payload in bad:
            await w.publish(topic, payload)
        await until(lambda: "unknown stream ghost" in caplog.text)
        await until(lambda: caplog.text.count("payload must be ON or OFF") == 5)
        assert "payload must be PRESS" in caplog.text
        body = await stream_json(hub, "cam")
        assert body["record"] is False and body["detection_enabled"] is True
        assert not hub.app[keys.STOP_EVENT].is_set()
        assert "Traceback" not in caplog.text

        # Still listening after all that.
        await w.publish(names.stream("cam", "recording/set"), "ON")
        await w.wait_payload(names.stream("cam", "recording"), b"ON")
        assert (await stream_json(hub, "cam"))["record"] is True

        # The restart button stops the hub asking for a restart.
        await w.publish(f"{names.prefix}/restart", "PRESS")
        await until(hub.app[keys.STOP_EVENT].is_set)
        assert hub.app[keys.SYSTEM].stop_request.restart is True
        hub.app[keys.STOP_EVENT].clear()


async def test_home_assistant_birth_republishes_after_a_short_delay(names: Names, hub: Hub) -> None:
    async with Watcher(PORT, f"{names.prefix}/#", f"{names.discovery}/#") as w:
        await enable(hub, names)
        assert (await hub.client.post("/api/streams", json=IDLE)).status == 201
        await w.wait_payload(names.stream("cam", "status"), b"disabled")
        config_count = len(await retained(PORT, f"{names.discovery}/#"))
        assert config_count == 13
        await asyncio.sleep(0.3)
        w.clear()
        born = time.monotonic()
        await w.publish(f"{names.discovery}/status", "online")  # not retained, as HA does
        await w.wait(
            lambda: (
                len({m.topic for m in w.messages if m.topic.endswith("/config")}) == config_count
            )
        )
        first = min(m.at for m in w.messages if m.topic.endswith("/config"))
        assert 0.4 < first - born < 5.0
        await w.wait_payload(names.stream("cam", "status"), b"disabled")
        await w.wait_payload(names.stream("cam", "recording"), b"ON")
        assert w.latest(f"{names.prefix}/availability") == b"online"
        # Its last will (`offline`) changes nothing on our side.
        w.clear()
        await w.publish(f"{names.discovery}/status", "offline")
        await asyncio.sleep(2.6)  # longer than the longest birth delay
        assert not [m for m in w.messages if m.topic.endswith("/config")]


async def test_rename_keeps_entities_and_delete_removes_them(names: Names, hub: Hub) -> None:
    async with Watcher(PORT, f"{names.prefix}/#", f"{names.discovery}/#") as w:
        await enable(hub, names)
        assert (await hub.client.post("/api/streams", json=IDLE)).status == 201
        await w.wait_payload(names.stream("cam", "status"), b"disabled")
        stream_id = (await hub.app[keys.STREAMS].get("cam")).id
        motion_topic = (
            f"{names.discovery}/binary_sensor/{names.prefix}/stream_{stream_id}_motion/config"
        )
        before = json.loads((await retained(PORT, f"{names.discovery}/#"))[motion_topic])

        resp = await hub.client.put("/api/streams/cam", json={"name": "Front Door"})
        assert resp.status == 200
        await w.wait_payload(names.stream("Front Door", "status"), b"disabled")
        configs = await retained(PORT, f"{names.discovery}/#")
        after = json.loads(configs[motion_topic])
        assert after["unique_id"] == before["unique_id"]  # same entity in Home Assistant
        assert after["device"]["name"] == "Front Door"
        assert after["state_topic"] == names.stream("Front Door", "motion")
        state = await retained(PORT, f"{names.prefix}/#")
        assert not [t for t in state if t.startswith(f"{names.prefix}/cam/")]
        assert state[names.stream("Front Door", "recording")] == b"ON"

        assert (await hub.client.delete("/api/streams/Front%20Door")).status == 200
        stream_configs = [t for t in configs if f"/stream_{stream_id}_" in t]
        assert len(stream_configs) == 7
        await w.wait(lambda: all(w.latest(t) == b"" for t in stream_configs))
        configs = await retained(PORT, f"{names.discovery}/#")
        assert len(configs) == 6 and all(f"/{names.prefix}/hub_" in t for t in configs)
        state = await retained(PORT, f"{names.prefix}/#")
        assert not [t for t in state if "Front Door" in t]
