"""The MQTT options: one table feeds the config file's `mqtt:` section and the mqtt_* settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from nvr_hub.stream_fields import optional_url
from nvr_hub.validation import described, int_range, strict_bool, text

PROTOCOLS = ("3.1.1", "5")


def _protocol(value: Any) -> str:
    # YAML and environment overrides turn `5` into an integer.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value not in PROTOCOLS:
        raise vol.Invalid(f"must be one of {', '.join(PROTOCOLS)}")
    return str(value)


def _topic(value: Any) -> str:
    topic = text(128, min_len=1)(value)
    if any(c in topic for c in "+#") or topic.startswith("/") or topic.endswith("/"):
        raise vol.Invalid("must be an MQTT topic without wildcards or leading/trailing '/'")
    if "//" in topic:
        raise vol.Invalid("must not contain empty topic levels")
    return topic


protocol = described(_protocol, {"type": "string", "enum": list(PROTOCOLS)})
topic = described(_topic, {"type": "string", "minLength": 1, "maxLength": 128})

# key (without the `mqtt_` prefix) -> (validator, default). Order is the documented order.
MQTT_FIELDS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "enabled": (strict_bool, False),
    "host": (text(255, min_len=1), "127.0.0.1"),
    "port": (int_range(1, 65535), 1883),
    "username": (text(255), ""),
    "password": (text(255), ""),
    "client_id": (text(128), ""),
    "protocol": (protocol, "3.1.1"),
    "topic_prefix": (topic, "nvr_hub"),
    "tls": (strict_bool, False),
    "tls_ca": (text(4096), ""),
    "tls_cert": (text(4096), ""),
    "tls_key": (text(4096), ""),
    "tls_insecure": (strict_bool, False),
    "discovery": (strict_bool, True),
    "discovery_prefix": (topic, "homeassistant"),
    "stats_interval": (int_range(0, 86_400), 60),
    "motion_off_delay": (int_range(0, 3600), 0),
    "base_url": (optional_url, ""),
}
SECRET_FIELDS = frozenset({"password"})

MQTT_SECTION: dict[Any, Any] = {
    vol.Optional(key, default=default): validator
    for key, (validator, default) in MQTT_FIELDS.items()
}


@dataclass(frozen=True)
class MqttConfig:
    """The config file's `mqtt:` section: the defaults of the mqtt_* runtime settings."""

    values: tuple[tuple[str, Any], ...] = tuple(
        (key, default) for key, (_v, default) in MQTT_FIELDS.items()
    )

    @classmethod
    def of(cls, data: dict[str, Any]) -> MqttConfig:
        """From the validated section."""
        return cls(tuple((key, data[key]) for key in MQTT_FIELDS))

    def get(self, key: str) -> Any:
        """One option by its key (without the `mqtt_` prefix)."""
        return dict(self.values)[key]
