"""MQTT: events, retained state, commands and Home Assistant discovery (issue #5)."""

from __future__ import annotations

from integrations.mqtt.integration import MqttIntegration


def create() -> MqttIntegration:
    """The integration `nvr_hub.app` loads when "mqtt" is in the config's integrations."""
    return MqttIntegration()
