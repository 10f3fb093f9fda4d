"""Runtime settings: a table of described keys, persisted in the database over config defaults."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import voluptuous as vol
from sqlalchemy import select

from nvr_hub.bus import EventBus, SettingsChanged
from nvr_hub.config import LOG_LEVELS, Config
from nvr_hub.errors import BadRequest
from nvr_hub.mqtt_config import MQTT_FIELDS
from nvr_hub.mqtt_config import SECRET_FIELDS as MQTT_SECRETS
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Setting
from nvr_hub.stream_fields import MASK, optional_url
from nvr_hub.validation import described, int_range, text, validate

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettingSpec:
    """One setting: how to validate it, its default, and how it behaves."""

    key: str
    validator: Callable[[Any], Any]
    default: Callable[[Config], Any]
    secret: bool = False
    restart_required: bool = False


def _log_level(value: Any) -> str:
    level = str(value).upper() if isinstance(value, str) else ""
    if level not in LOG_LEVELS:
        raise vol.Invalid(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _ice_servers(value: Any) -> list[dict[str, Any]]:
    schema = vol.Schema(
        [
            {
                vol.Required("urls"): vol.All(
                    [vol.All(text(512, min_len=1), vol.Match(r"^(stun|stuns|turn|turns):"))],
                    vol.Length(min=1, max=8),
                ),
                vol.Optional("username"): text(256),
                vol.Optional("credential"): text(256),
            }
        ]
    )
    result: list[dict[str, Any]] = schema(value)
    if len(result) > 16:
        raise vol.Invalid("at most 16 ICE servers")
    return result


_log_level = described(_log_level, {"type": "string", "enum": list(LOG_LEVELS)})
_ice_servers = described(
    _ice_servers,
    {
        "type": "array",
        "maxItems": 16,
        "items": {
            "type": "object",
            "properties": {
                "urls": {"type": "array", "items": {"type": "string"}},
                "username": {"type": "string"},
                "credential": {"type": "string"},
            },
            "required": ["urls"],
            "additionalProperties": False,
        },
    },
)


def _host_addresses(value: Any) -> list[str]:
    """IP addresses the hub offers as WebRTC host candidates ([]: every interface but lo)."""
    if not isinstance(value, list) or len(value) > 16 or not all(isinstance(v, str) for v in value):
        raise vol.Invalid("expected a list of at most 16 IP addresses")
    try:
        return [str(ipaddress.ip_address(item)) for item in value]
    except ValueError as err:
        raise vol.Invalid("expected a list of IP addresses") from err


_host_addresses = described(
    _host_addresses, {"type": "array", "maxItems": 16, "items": {"type": "string"}}
)


def _mqtt_default(key: str) -> Callable[[Config], Any]:
    return lambda c: c.mqtt.get(key)


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("log_level", _log_level, lambda c: c.logging.level),
    SettingSpec("retention_days", int_range(0, 3650), lambda c: c.storage.retention_days),
    SettingSpec("max_storage_mb", int_range(0, 100_000_000), lambda c: c.storage.max_storage_mb),
    SettingSpec("min_free_mb", int_range(0, 100_000_000), lambda c: c.storage.min_free_mb),
    SettingSpec(
        "session_idle_minutes",
        int_range(1, 525_600),
        lambda c: c.auth.session_idle_minutes,
        restart_required=True,
    ),
    SettingSpec(
        "session_absolute_hours",
        int_range(1, 87_600),
        lambda c: c.auth.session_absolute_hours,
        restart_required=True,
    ),
    SettingSpec("web_port", int_range(1, 65535), lambda c: c.server.port, restart_required=True),
    SettingSpec("detection_api_url", optional_url, lambda c: ""),
    SettingSpec("ice_servers", _ice_servers, lambda c: []),
    SettingSpec("webrtc_max_peers_per_stream", int_range(1, 100), lambda c: 8),
    SettingSpec("webrtc_max_peers", int_range(1, 1000), lambda c: 32),
    SettingSpec("webrtc_host_addresses", _host_addresses, lambda c: []),
    SettingSpec("snapshot_interval", int_range(0, 86_400), lambda c: 0),
    # mqtt_enabled, mqtt_host, ... mqtt_base_url: see nvr_hub/mqtt_config.py.
    *(
        SettingSpec(f"mqtt_{key}", check, _mqtt_default(key), secret=key in MQTT_SECRETS)
        for key, (check, _default) in MQTT_FIELDS.items()
    ),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}
# Stored next to settings but never shown or settable: the hub's own bookkeeping.
_INTERNAL = "hub."
_SEEDED = "hub.streams_seeded"
UPDATE_SCHEMA = vol.Schema(
    {vol.Optional(spec.key): spec.validator for spec in SPECS}, extra=vol.PREVENT_EXTRA
)


class SettingsService:
    """Reads and writes runtime settings; announces changes on the bus."""

    def __init__(self, sessionmaker: SessionMaker, config: Config, bus: EventBus) -> None:
        self._sm = sessionmaker
        self._config = config
        self._bus = bus
        self._values: dict[str, Any] = {}

    async def load(self) -> None:
        """Read stored values; keys no longer known are ignored (and logged)."""
        self._values = {spec.key: spec.default(self._config) for spec in SPECS}
        async with self._sm() as s:
            rows = (await s.scalars(select(Setting))).all()
        for row in rows:
            if row.key.startswith(_INTERNAL):
                continue
            spec = SPEC_BY_KEY.get(row.key)
            if spec is None:
                _LOGGER.warning("Ignoring unknown stored setting %s", row.key)
                continue
            try:
                self._values[row.key] = spec.validator(row.value)
            except vol.Invalid:
                _LOGGER.warning("Ignoring invalid stored value of setting %s", row.key)
        logging.getLogger().setLevel(self._values["log_level"])

    async def claim_first_run(self) -> bool:
        """True exactly once per database: the first start, which seeds streams."""
        async with self._sm() as s, s.begin():
            if await s.get(Setting, _SEEDED) is not None:
                return False
            s.add(Setting(key=_SEEDED, value=True))
        return True

    def get(self, key: str) -> Any:
        """The effective value of one setting."""
        return self._values[key]

    def as_json(self) -> dict[str, Any]:
        """Every setting, secrets masked (an empty secret stays empty)."""
        return {
            spec.key: (MASK if spec.secret and self._values[spec.key] else self._values[spec.key])
            for spec in SPECS
        }

    async def update(self, body: Any) -> tuple[list[str], bool]:
        """Validate and persist; returns (changed keys, whether a restart is needed)."""
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object of settings")
        values = validate(UPDATE_SCHEMA, body)
        changed = {
            k: v
            for k, v in values.items()
            if not (SPEC_BY_KEY[k].secret and v == MASK) and v != self._values[k]
        }
        if changed:
            async with self._sm() as s, s.begin():
                for key, value in changed.items():
                    row = await s.get(Setting, key)
                    if row is None:
                        s.add(Setting(key=key, value=value))
                    else:
                        row.value = value
            self._values.update(changed)
            if "log_level" in changed:
                logging.getLogger().setLevel(changed["log_level"])
            self._bus.publish(SettingsChanged(keys=tuple(sorted(changed))))
        restart = any(SPEC_BY_KEY[k].restart_required for k in changed)
        return sorted(changed), restart
