"""Topic names: state, event and command topics under the prefix, and discovery config topics."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Retained per-stream state topics, `{prefix}/{stream}/{leaf}`.
STREAM_LEAVES = (
    "status",
    "motion",
    "snapshot",
    "recording",
    "detection",
    "last_detection",
    "recordings_size",
)
# Which stream field each `/set` command topic switches.
COMMANDS = {"recording": "record", "detection": "detection_enabled"}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case letters, digits and `_` only (Home Assistant's object ids and node ids)."""
    return _NOT_SLUG.sub("_", text.lower()).strip("_") or "x"


@dataclass(frozen=True)
class Message:
    """One MQTT message to send."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


@dataclass(frozen=True)
class Topics:
    """Every topic the hub publishes or listens to, for one prefix and discovery prefix."""

    prefix: str
    discovery_prefix: str

    @property
    def node(self) -> str:
        """Discovery node id and the base of every unique id: the prefix, slugged."""
        return slug(self.prefix)

    @property
    def availability(self) -> str:
        """`online` / `offline` (the last will)."""
        return f"{self.prefix}/availability"

    @property
    def events(self) -> str:
        """One JSON message per event."""
        return f"{self.prefix}/events"

    @property
    def stats(self) -> str:
        """The system figures every `stats_interval` seconds."""
        return f"{self.prefix}/stats"

    @property
    def restart(self) -> str:
        """Command topic of the hub's restart button."""
        return f"{self.prefix}/restart"

    @property
    def birth(self) -> str:
        """Home Assistant's birth and last-will topic."""
        return f"{self.discovery_prefix}/status"

    def stream(self, name: str, leaf: str) -> str:
        """A per-stream topic (stream names never hold `/`, `+` or `#`)."""
        return f"{self.prefix}/{name}/{leaf}"

    def command(self, name: str, kind: str) -> str:
        """`{prefix}/{stream}/recording/set` and `/detection/set`."""
        return f"{self.prefix}/{name}/{kind}/set"

    def detections(self, name: str) -> str:
        """LightNVR's detection topic."""
        return f"{self.prefix}/detections/{name}"

    def subscriptions(self, discovery: bool) -> list[str]:
        """The filters the hub subscribes to."""
        filters = [self.command("+", kind) for kind in COMMANDS] + [self.restart]
        if discovery:
            filters.append(self.birth)
        return filters

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """(stream name, command kind) of a `/set` topic, or None."""
        head = self.prefix + "/"
        if not topic.startswith(head) or not topic.endswith("/set"):
            return None
        name, _, kind = topic[len(head) : -len("/set")].rpartition("/")
        if kind not in COMMANDS or not name or "/" in name:
            return None
        return name, kind

    def config(self, component: str, object_id: str) -> str:
        """A per-entity discovery config topic."""
        return f"{self.discovery_prefix}/{component}/{self.node}/{object_id}/config"
