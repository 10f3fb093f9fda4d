"""Home Assistant MQTT discovery: one per-entity config per entity, from a table of descriptions.

Per-entity configs (not 2024.11's device discovery) so every release since 2022 reads them.
`device` keeps to the keys Home Assistant 2024.3 knows: one unknown key there (`model_id`)
makes that release reject the whole entity, while unknown top-level keys are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from integrations.mqtt.topics import Message, Topics, slug
from nvr_hub import __version__

ORIGIN = {"name": "nvr-hub", "sw_version": __version__}
_ON_OFF = {"payload_on": "ON", "payload_off": "OFF"}
# A stream's entities are available while the hub is online and the camera connected.
_CONNECTED = "{{ 'online' if value == 'connected' else 'offline' }}"

Fields = Callable[[Topics, str], dict[str, Any]]


@dataclass(frozen=True)
class EntityDescription:
    """One Home Assistant entity: its component, key, name and component-specific keys."""

    component: str
    key: str
    name: str
    fields: Fields
    needs_camera: bool = False  # unavailable while the stream is not connected
    category: str | None = None


def _switch(leaf: str, icon: str) -> Fields:
    return lambda t, n: {
        "state_topic": t.stream(n, leaf),
        "command_topic": t.command(n, leaf),
        **_ON_OFF,
        "state_on": "ON",
        "state_off": "OFF",
        "icon": icon,
    }


def _stat(template: str, unit: str, icon: str) -> Fields:
    return lambda t, _n: {
        "state_topic": t.stats,
        "value_template": template,
        "unit_of_measurement": unit,
        "state_class": "measurement",
        "icon": icon,
    }


STREAM_ENTITIES = (
    EntityDescription(
        "camera", "camera", "Camera", lambda t, n: {"topic": t.stream(n, "snapshot")}, True
    ),
    EntityDescription(
        "binary_sensor",
        "motion",
        "Motion",
        lambda t, n: {"state_topic": t.stream(n, "motion"), **_ON_OFF, "device_class": "motion"},
        True,
    ),
    EntityDescription(
        "binary_sensor",
        "connected",
        "Connected",
        lambda t, n: {
            "state_topic": t.stream(n, "status"),
            "value_template": "{{ 'ON' if value == 'connected' else 'OFF' }}",
            **_ON_OFF,
            "device_class": "connectivity",
        },
        category="diagnostic",
    ),
    EntityDescription("switch", "recording", "Recording", _switch("recording", "mdi:record-rec")),
    EntityDescription("switch", "detection", "Detection", _switch("detection", "mdi:cctv")),
    EntityDescription(
        "sensor",
        "last_detection",
        "Last detection",
        lambda t, n: {
            "state_topic": t.stream(n, "last_detection"),
            "value_template": "{{ value_json.label }}",
            "json_attributes_topic": t.stream(n, "last_detection"),
            "icon": "mdi:eye",
        },
    ),
    EntityDescription(
        "sensor",
        "recordings_size",
        "Recordings size",
        lambda t, n: {
            "state_topic": t.stream(n, "recordings_size"),
            "value_template": "{{ ((value | int) / 1000000) | round(1) }}",
            "unit_of_measurement": "MB",
            "state_class": "measurement",
            "icon": "mdi:harddisk",
        },
        category="diagnostic",
    ),
)

HUB_ENTITIES = (
    EntityDescription(
        "sensor", "cpu", "CPU", _stat("{{ value_json.cpu.usage }}", "%", "mdi:cpu-64-bit")
    ),
    EntityDescription(
        "sensor", "memory", "Memory", _stat("{{ value_json.memory.percent }}", "%", "mdi:memory")
    ),
    EntityDescription(
        "sensor",
        "storage_used",
        "Storage used",
        _stat("{{ value_json.disk.percent }}", "%", "mdi:harddisk"),
    ),
    EntityDescription(
        "sensor",
        "recordings_size",
        "Recordings size",
        _stat(
            "{{ ((value_json.recordings.size | int) / 1000000) | round(1) }}", "MB", "mdi:filmstrip"
        ),
    ),
    EntityDescription(
        "sensor",
        "uptime",
        "Uptime",
        lambda t, _n: {
            "state_topic": t.stats,
            "value_template": "{{ value_json.started }}",
            "device_class": "timestamp",
        },
        category="diagnostic",
    ),
    EntityDescription(
        "button",
        "restart",
        "Restart",
        lambda t, _n: {
            "command_topic": t.restart,
            "payload_press": "PRESS",
            "device_class": "restart",
        },
        category="config",
    ),
)


@dataclass(frozen=True)
class StreamDevice:
    """What discovery needs of a stream: its stable id, current name and model."""

    id: int
    name: str
    model: str


def hub_device(topics: Topics, base_url: str) -> dict[str, Any]:
    """The hub's Home Assistant device."""
    return {
        "identifiers": [f"{topics.node}_hub"],
        "name": "nvr-hub" if topics.prefix == "nvr_hub" else f"nvr-hub {topics.prefix}",
        "manufacturer": "nvr-hub",
        "model": "Network video recorder",
        "sw_version": __version__,
        "configuration_url": base_url + "/",
    }


def stream_device(topics: Topics, stream: StreamDevice, base_url: str) -> dict[str, Any]:
    """A stream's device: identified by its database id, so a rename keeps the entities."""
    return {
        "identifiers": [f"{topics.node}_stream_{stream.id}"],
        "name": stream.name,
        "manufacturer": "nvr-hub",
        "model": stream.model,
        "sw_version": __version__,
        "configuration_url": f"{base_url}/#stream={quote(stream.name)}",
        "via_device": f"{topics.node}_hub",
    }


def _config(
    topics: Topics,
    desc: EntityDescription,
    base: str,
    entity_slug: str,
    device: dict[str, Any],
    stream_name: str,
) -> Message:
    availability: list[dict[str, str]] = [
        {
            "topic": topics.availability,
            "payload_available": "online",
            "payload_not_available": "offline",
        }
    ]
    if desc.needs_camera:
        availability.append(
            {"topic": topics.stream(stream_name, "status"), "value_template": _CONNECTED}
        )
    object_id = f"{entity_slug}_{desc.key}"
    payload: dict[str, Any] = {
        "name": desc.name,
        "unique_id": f"{topics.node}_{base}_{desc.key}",
        # Older releases name the entity from object_id, newer from default_entity_id.
        "object_id": object_id,
        "default_entity_id": f"{desc.component}.{object_id}",
        "device": device,
        "origin": ORIGIN,
        "availability": availability,
        "availability_mode": "all",
        "qos": 1,
        **desc.fields(topics, stream_name),
    }
    if desc.category:
        payload["entity_category"] = desc.category
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Message(topics.config(desc.component, f"{base}_{desc.key}"), body, retain=True)


def hub_configs(topics: Topics, base_url: str) -> list[Message]:
    """The hub device's entity configs."""
    device = hub_device(topics, base_url)
    return [_config(topics, d, "hub", topics.node, device, "") for d in HUB_ENTITIES]


def stream_configs(topics: Topics, stream: StreamDevice, base_url: str) -> list[Message]:
    """A stream's entity configs."""
    device = stream_device(topics, stream, base_url)
    base, entity_slug = f"stream_{stream.id}", slug(stream.name)
    return [_config(topics, d, base, entity_slug, device, stream.name) for d in STREAM_ENTITIES]


def stream_config_topics(topics: Topics, stream_id: int) -> list[str]:
    """The config topics of a stream, to clear them when it is deleted."""
    return [topics.config(d.component, f"stream_{stream_id}_{d.key}") for d in STREAM_ENTITIES]
