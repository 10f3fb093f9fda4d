"""JSON schemas of the Home Assistant discovery configs the hub may send.

Written from what Home Assistant's MQTT platforms accept since 2022 (and what 2024.3, the
oldest release measured, rejects): `device` allows only its known keys, device classes are
the ones those releases know, topics are plain strings. Top-level keys are closed per
component too, so a typo fails here even though Home Assistant would silently ignore it.
"""

from __future__ import annotations

from typing import Any

_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
_TOPIC = {"type": "string", "minLength": 1, "pattern": "^[^+#]+$"}
_TEMPLATE = {"type": "string", "pattern": r"^\{\{.*\}\}$"}
DEVICE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["identifiers", "name"],
    "properties": {
        "identifiers": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "connections": {"type": "array"},
        "name": {"type": "string", "minLength": 1},
        "manufacturer": {"type": "string"},
        "model": {"type": "string"},
        "sw_version": {"type": "string"},
        "hw_version": {"type": "string"},
        "configuration_url": {"type": "string", "pattern": "^https?://[^ ]+$"},
        "via_device": {"type": "string"},
        "suggested_area": {"type": "string"},
    },
}
_COMMON: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1},
    "unique_id": _ID,
    "object_id": {"type": "string", "pattern": "^[a-z0-9_]+$"},
    "default_entity_id": {"type": "string"},
    "device": DEVICE,
    "origin": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "sw_version": {"type": "string"},
            "support_url": {"type": "string"},
        },
    },
    "availability": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["topic"],
            "properties": {
                "topic": _TOPIC,
                "payload_available": {"type": "string"},
                "payload_not_available": {"type": "string"},
                "value_template": _TEMPLATE,
            },
        },
    },
    "availability_mode": {"enum": ["all", "any", "latest"]},
    "qos": {"enum": [0, 1, 2]},
    "entity_category": {"enum": ["config", "diagnostic"]},
    "icon": {"type": "string", "pattern": "^mdi:[a-z0-9-]+$"},
}
_ON_OFF = {"payload_on": {"type": "string"}, "payload_off": {"type": "string"}}
COMPONENTS: dict[str, dict[str, Any]] = {
    "camera": {"required": ["topic"], "properties": {"topic": _TOPIC}},
    "binary_sensor": {
        "required": ["state_topic"],
        "properties": {
            "state_topic": _TOPIC,
            "value_template": _TEMPLATE,
            **_ON_OFF,
            # BinarySensorDeviceClass members present since 2021.
            "device_class": {"enum": ["motion", "connectivity", "occupancy", "problem", "running"]},
        },
    },
    "switch": {
        "required": ["command_topic", "state_topic"],
        "properties": {
            "command_topic": _TOPIC,
            "state_topic": _TOPIC,
            **_ON_OFF,
            "state_on": {"type": "string"},
            "state_off": {"type": "string"},
        },
    },
    "sensor": {
        "required": ["state_topic"],
        "properties": {
            "state_topic": _TOPIC,
            "value_template": _TEMPLATE,
            "json_attributes_topic": _TOPIC,
            "unit_of_measurement": {"type": "string"},
            "state_class": {"enum": ["measurement", "total", "total_increasing"]},
            # Only classes every release since 2022 knows (an unknown one rejects the entity).
            "device_class": {"enum": ["timestamp", "temperature", "power", "energy"]},
        },
    },
    "button": {
        "required": ["command_topic"],
        "properties": {
            "command_topic": _TOPIC,
            "payload_press": {"type": "string"},
            "device_class": {"enum": ["restart", "update", "identify"]},
        },
    },
}


def schema_for(component: str) -> dict[str, Any]:
    """The closed schema of one component's config."""
    spec = COMPONENTS[component]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "name",
            "unique_id",
            "object_id",
            "default_entity_id",
            "device",
            *spec["required"],
        ],
        "properties": {
            **_COMMON,
            **spec["properties"],
            "default_entity_id": {"type": "string", "pattern": f"^{component}\\.[a-z0-9_]+$"},
        },
    }
