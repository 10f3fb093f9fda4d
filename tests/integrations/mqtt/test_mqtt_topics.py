"""What a subscriber sees: availability, retained state, events, snapshots, stats, discovery."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema

from nvr_hub import keys
from nvr_hub.bus import (
    MotionEnded,
    MotionStarted,
    ObjectDetected,
    RecordingFinished,
    RecordingStarted,
)
from tests.conftest import Hub
from tests.integrations.mqtt.brokers import MACHINE_BROKER, Watcher, retained
from tests.integrations.mqtt.conftest import DEMO, Names, enable
from tests.integrations.mqtt.ha_schema import schema_for

PORT = MACHINE_BROKER[1]
TIME_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
EVENT_SCHEMA = {
    "type": "object",
    "required": ["type", "id", "stream", "time"],
    "properties": {
        "type": {
            "enum": [
                "motion_start",
                "motion_end",
                "detection",
                "recording_start",
                "recording_end",
                "stream_status",
            ]
        },
        "id": {"type": "string", "minLength": 8},
        "stream": {"type": "string"},
        "time": {"type": "string", "pattern": TIME_Z.pattern},
    },
}
STREAM_ENTITIES = {
    ("camera", "camera"),
    ("binary_sensor", "motion"),
    ("binary_sensor", "connected"),
    ("switch", "recording"),
    ("switch", "detection"),
    ("sensor", "last_detection"),
    ("sensor", "recordings_size"),
}
HUB_ENTITIES = {
    ("sensor", "cpu"),
    ("sensor", "memory"),
    ("sensor", "storage_used"),
    ("sensor", "recordings_size"),
    ("sensor", "uptime"),
    ("button", "restart"),
}


def events(watcher: Watcher, names: Names, kind: str) -> list[dict[str, object]]:
    """Decoded `{prefix}/events` messages of one type, schema-checked."""
    out = []
    for message in watcher.on(f"{names.prefix}/events"):
        body = json.loads(message.payload)
        jsonschema.validate(body, EVENT_SCHEMA)
        assert not message.retain
        if body["type"] == kind:
            out.append(body)
    return out


def check_discovery(configs: dict[str, bytes], names: Names) -> dict[str, dict[str, object]]:
    """Validate every config against its component's schema; returns them by (kind, key)."""
    by_key: dict[str, dict[str, object]] = {}
    pattern = re.compile(rf"^{names.discovery}/(\w+)/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/config$")
    for topic, raw in configs.items():
        match = pattern.match(topic)
        assert match, topic
        component = match.group(1)
        body = json.loads(raw)
        jsonschema.validate(body, schema_for(component))
        by_key[f"{component}:{match.group(3)}"] = body
    return by_key


async def test_state_events_snapshots_stats_and_discovery(names: Names, hub: Hub) -> None:
    async with Watcher(PORT, f"{names.prefix}/#", f"{names.discovery}/#") as w:
        await enable(hub, names, snapshot_interval=1, mqtt_stats_interval=1)
        await w.wait_payload(f"{names.prefix}/availability", b"online")
        assert (await hub.client.post("/api/streams", json=DEMO)).status == 201
        status = names.stream("cam", "status")
        await w.wait_payload(status, b"connected", within=15)
        await w.wait_payload(names.stream("cam", "recording"), b"ON")
        await w.wait_payload(names.stream("cam", "detection"), b"OFF")
        await w.wait_payload(names.stream("cam", "motion"), b"OFF")
        # A picture every snapshot_interval, as a JPEG.
        snap = await w.wait(lambda: w.latest(names.stream("cam", "snapshot")), within=15)
        assert snap[:2] == b"\xff\xd8"

        # Stats every stats_interval, with what the hub sensors read.
        def stats_with_stream() -> dict[str, Any] | None:
            raw = w.latest(f"{names.prefix}/stats")
            body = json.loads(raw) if raw else None
            return body if body and body["streams"]["total"] == 1 else None

        stats = await w.wait(stats_with_stream)
        assert 0 <= stats["cpu"]["usage"] <= 100 and 0 < stats["memory"]["percent"] <= 100
        assert TIME_Z.match(stats["started"])
        assert "path" not in stats["disk"]

        # Motion from the bus: ON, an event and a fresh snapshot; then OFF with the same id.
        bus = hub.app[keys.BUS]
        w.clear()
        bus.publish(MotionStarted(stream="cam", boxes=((0.1, 0.2, 0.3, 0.4),)))
        await w.wait_payload(names.stream("cam", "motion"), b"ON")
        start = (await w.wait(lambda: events(w, names, "motion_start")))[0]
        assert start["stream"] == "cam" and start["boxes"] == [[0.1, 0.2, 0.3, 0.4]]
        await w.wait(lambda: w.latest(names.stream("cam", "snapshot")))
        bus.publish(MotionEnded(stream="cam"))
        await w.wait_payload(names.stream("cam", "motion"), b"OFF")
        end = (await w.wait(lambda: events(w, names, "motion_end")))[0]
        assert end["id"] == start["id"]

        # A detection: the event, LightNVR's payload and the last-detection state.
        bus.publish(
            ObjectDetected(
                stream="cam", label="person", confidence=0.91, box=(0.1, 0.1, 0.2, 0.5), zone="door"
            )
        )
        det = (await w.wait(lambda: events(w, names, "detection")))[0]
        assert det["label"] == "person" and det["confidence"] == 0.91 and det["zone"] == "door"
        assert det["box"] == {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.5}
        lightnvr = json.loads(await w.wait(lambda: w.latest(f"{names.prefix}/detections/cam")))
        assert lightnvr["stream"] == "cam" and lightnvr["count"] == 1
        assert isinstance(lightnvr["timestamp"], int)
        assert lightnvr["detections"] == [
            {
                "label": "person",
                "confidence": 0.91,
                "x": 0.1,
                "y": 0.1,
                "width": 0.2,
                "height": 0.5,
                "zone_id": "door",
            }
        ]
        last = json.loads(await w.wait(lambda: w.latest(names.stream("cam", "last_detection"))))
        assert last["label"] == "person"

        # Recordings: start and end with the recording id, duration and API URLs.
        t0 = datetime.now(UTC)
        bus.publish(RecordingStarted(stream="cam", recording_id=41, start_time=t0))
        bus.publish(
            RecordingFinished(
                stream="cam",
                recording_id=41,
                start_time=t0,
                end_time=t0 + timedelta(seconds=60),
                duration=60.0,
                size_bytes=1234,
            )
        )
        done = (await w.wait(lambda: events(w, names, "recording_end")))[0]
        assert done["recording"]["id"] == 41 and done["recording"]["duration"] == 60.0
        assert done["recording"]["play_url"] == "http://nvr.example:8080/api/recordings/play/41"
        assert done["recording"]["download_url"].endswith("/api/recordings/download/41")
        assert events(w, names, "recording_start")[0]["recording"]["id"] == 41

    # What a newcomer (Home Assistant starting up) gets: all of it, retained.
    state = await retained(PORT, f"{names.prefix}/#")
    assert state[f"{names.prefix}/availability"] == b"online"
    assert state[names.stream("cam", "status")] == b"connected"
    assert state[names.stream("cam", "motion")] == b"OFF"
    assert state[names.stream("cam", "snapshot")][:2] == b"\xff\xd8"
    assert f"{names.prefix}/events" not in state
    assert f"{names.prefix}/detections/cam" not in state
    configs = check_discovery(await retained(PORT, f"{names.discovery}/#"), names)
    kinds = {(k.split(":")[0], k.split("_")[-1]) for k in configs}
    assert len(configs) == len(STREAM_ENTITIES) + len(HUB_ENTITIES), sorted(configs)
    assert {k for k in kinds} >= {("camera", "camera"), ("button", "restart")}

    stream_id = (await hub.app[keys.STREAMS].get("cam")).id
    motion = configs[f"binary_sensor:stream_{stream_id}_motion"]
    assert motion["state_topic"] == names.stream("cam", "motion")
    assert motion["device_class"] == "motion" and motion["default_entity_id"] == (
        "binary_sensor.cam_motion"
    )
    device = motion["device"]
    assert isinstance(device, dict)
    assert device["name"] == "cam" and device["via_device"] == f"{names.prefix}_hub"
    assert device["configuration_url"] == "http://nvr.example:8080/#stream=cam"
    # The camera entity follows the hub and the camera; the switches only the hub.
    camera = configs[f"camera:stream_{stream_id}_camera"]
    assert camera["topic"] == names.stream("cam", "snapshot")
    assert [a["topic"] for a in camera["availability"]] == [  # type: ignore[union-attr,index]
        f"{names.prefix}/availability",
        names.stream("cam", "status"),
    ]
    switch = configs[f"switch:stream_{stream_id}_recording"]
    assert switch["command_topic"] == names.stream("cam", "recording/set")
    assert len(switch["availability"]) == 1  # type: ignore[arg-type]
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)


async def test_motion_off_waits_for_the_off_delay_and_merges_episodes(
    names: Names, hub: Hub
) -> None:
    async with Watcher(PORT, f"{names.prefix}/#") as w:
        await enable(hub, names, mqtt_motion_off_delay=1)
        await hub.client.post("/api/streams", json={**DEMO, "enabled": False})
        motion = names.stream("cam", "motion")
        await w.wait_payload(motion, b"OFF")
        bus = hub.app[keys.BUS]
        bus.publish(MotionStarted(stream="cam"))
        await w.wait_payload(motion, b"ON")
        bus.publish(MotionEnded(stream="cam"))
        await asyncio.sleep(0.3)
        bus.publish(MotionStarted(stream="cam"))  # back within the delay: the same episode
        await asyncio.sleep(0.9)
        assert w.latest(motion) == b"ON"
        ended = time.monotonic()
        bus.publish(MotionEnded(stream="cam"))
        off = await w.wait_payload(motion, b"OFF")
        assert 0.9 < off.at - ended < 3.0
        ends = await w.wait(lambda: events(w, names, "motion_end"))
        starts = events(w, names, "motion_start")
        assert len(starts) == 1 and [e["id"] for e in ends] == [starts[0]["id"]]
