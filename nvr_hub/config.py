"""The YAML config file, validated into frozen dataclasses, with NVR_HUB_* overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml

from nvr_hub.errors import ConfigError
from nvr_hub.mqtt_config import MQTT_SECTION, MqttConfig
from nvr_hub.stream_fields import ADD_SCHEMA, with_defaults
from nvr_hub.validation import describe, int_range, strict_bool, text

ENV_PREFIX = "NVR_HUB_"
DEFAULT_INTEGRATIONS: tuple[str, ...] = ("mqtt",)
ENV_CONFIG = "NVR_HUB_CONFIG"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(value: Any) -> str:
    level = str(value).upper()
    if level not in LOG_LEVELS:
        raise vol.Invalid(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


_SECTIONS: dict[str, dict[Any, Any]] = {
    "server": {
        vol.Optional("host", default="0.0.0.0"): text(255, min_len=1),
        vol.Optional("port", default=8080): int_range(1, 65535),
        vol.Optional("max_body_bytes", default=1024 * 1024): int_range(1024, 1024**3),
    },
    "database": {
        vol.Optional("url", default=""): text(2048),
    },
    "storage": {
        vol.Optional("path", default="./data"): text(4096, min_len=1),
        vol.Optional("retention_days", default=30): int_range(0, 3650),
        vol.Optional("max_storage_mb", default=0): int_range(0, 100_000_000),
        vol.Optional("min_free_mb", default=1024): int_range(0, 100_000_000),
    },
    "auth": {
        vol.Optional("session_idle_minutes", default=24 * 60): int_range(1, 525_600),
        vol.Optional("session_absolute_hours", default=7 * 24): int_range(1, 87_600),
        vol.Optional("login_max_failures", default=5): int_range(1, 1000),
        vol.Optional("login_window_seconds", default=300): int_range(1, 86_400),
    },
    "logging": {
        vol.Optional("level", default="INFO"): _log_level,
        vol.Optional("file", default=""): text(4096),
        vol.Optional("max_bytes", default=5 * 1024 * 1024): int_range(10_000, 1024**3),
        vol.Optional("backups", default=3): int_range(0, 100),
    },
    "mqtt": MQTT_SECTION,  # defaults of the mqtt_* runtime settings
}

CONFIG_SCHEMA = vol.Schema(
    {
        **{
            vol.Optional(name, default={}): vol.Schema(body, extra=vol.PREVENT_EXTRA)
            for name, body in _SECTIONS.items()
        },
        vol.Optional("streams"): vol.All(list, [ADD_SCHEMA]),
        vol.Optional("first_run_admin", default=True): strict_bool,
        # Integrations to load: each names a package under `integrations/`.
        vol.Optional("integrations", default=list(DEFAULT_INTEGRATIONS)): vol.All(
            [vol.Match(r"^[a-z][a-z0-9_]{0,31}$", msg="must be an integration name")],
            vol.Length(max=16),
        ),
    },
    extra=vol.PREVENT_EXTRA,
)


@dataclass(frozen=True)
class ServerConfig:
    """Where the HTTP server listens."""

    host: str
    port: int
    max_body_bytes: int


@dataclass(frozen=True)
class StorageConfig:
    """Where data lives and how much of it to keep."""

    path: Path
    retention_days: int
    max_storage_mb: int
    min_free_mb: int

    @property
    def recordings(self) -> Path:
        """Root of the recording files."""
        return self.path / "recordings"


@dataclass(frozen=True)
class AuthConfig:
    """Session lifetimes and the login rate limit."""

    session_idle_minutes: int
    session_absolute_hours: int
    login_max_failures: int
    login_window_seconds: int


@dataclass(frozen=True)
class LoggingConfig:
    """Log level and the rotating log file the logs API reads."""

    level: str
    file: Path
    max_bytes: int
    backups: int


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    server: ServerConfig
    database_url: str
    storage: StorageConfig
    auth: AuthConfig
    logging: LoggingConfig
    # Streams seeded into an empty database on first start (None: one demo stream).
    streams: tuple[Mapping[str, Any], ...] | None = None
    first_run_admin: bool = True
    integrations: tuple[str, ...] = DEFAULT_INTEGRATIONS
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    source: Path | None = field(default=None, compare=False)


DEFAULT_STREAMS: tuple[Mapping[str, Any], ...] = (
    with_defaults({"name": "demo", "url": "demo://pattern?width=640&height=360&fps=10"}),
)


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`NVR_HUB_SECTION_KEY=value` → {section: {key: value}}; values parsed as YAML scalars."""
    out: dict[str, dict[str, Any]] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section, _, key = rest.partition("_")
        if section not in _SECTIONS or not key:
            raise ConfigError(f"unknown environment variable {name}")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"{name}: not a valid value") from err
        # Strings that look like other types stay strings where a string is expected.
        out.setdefault(section, {})[key] = raw if isinstance(value, dict | list) else value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} does not exist") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}") from err
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return raw


def parse_config(raw: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a raw mapping into a `Config`; errors name the bad key with its path."""
    try:
        data = CONFIG_SCHEMA(dict(raw))
    except vol.Invalid as err:
        where = f"{source}: " if source else ""
        raise ConfigError(where + describe(err)) from err
    storage_path = Path(data["storage"]["path"]).expanduser().resolve()
    db_url = data["database"]["url"] or f"sqlite+aiosqlite:///{storage_path / 'nvr-hub.db'}"
    log_file = data["logging"]["file"]
    streams = data.get("streams")
    return Config(
        server=ServerConfig(**data["server"]),
        database_url=db_url,
        storage=StorageConfig(**{**data["storage"], "path": storage_path}),
        auth=AuthConfig(**data["auth"]),
        logging=LoggingConfig(
            level=data["logging"]["level"],
            file=Path(log_file) if log_file else storage_path / "logs" / "nvr-hub.log",
            max_bytes=data["logging"]["max_bytes"],
            backups=data["logging"]["backups"],
        ),
        streams=None if streams is None else tuple(with_defaults(s) for s in streams),
        first_run_admin=data["first_run_admin"],
        integrations=tuple(dict.fromkeys(data["integrations"])),
        mqtt=MqttConfig.of(data["mqtt"]),
        source=source,
    )


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (`--config` or NVR_HUB_CONFIG), then apply NVR_HUB_* overrides."""
    env = os.environ if env is None else env
    chosen = path or env.get(ENV_CONFIG)
    source = Path(chosen) if chosen else None
    raw: dict[str, Any] = _read_yaml(source) if source else {}
    for section, values in _env_overrides(env).items():
        current = raw.get(section) or {}
        if not isinstance(current, dict):
            raise ConfigError(f"{section}: expected a mapping")
        raw[section] = {**current, **values}
    return parse_config(raw, source)
