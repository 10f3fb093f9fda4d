"""The config file: validation with paths in errors, defaults, and NVR_HUB_* overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from nvr_hub.config import load_config
from nvr_hub.errors import ConfigError


def test_defaults_give_sqlite_under_data_and_a_demo_stream(tmp_path: Path) -> None:
    cfg = load_config(None, env={"NVR_HUB_STORAGE_PATH": str(tmp_path)})
    assert cfg.database_url == f"sqlite+aiosqlite:///{tmp_path / 'nvr-hub.db'}"
    assert cfg.server.port == 8080 and cfg.storage.retention_days == 30
    assert cfg.streams is None  # first run seeds the demo stream
    assert cfg.logging.file == tmp_path / "logs" / "nvr-hub.log"


def test_yaml_file_and_env_override(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(
        "server:\n  port: 9000\nstorage:\n  path: /srv/nvr\n  retention_days: 10\n"
        "streams:\n  - name: Porch\n    url: rtsp://192.0.2.4/live\n    fps: 5\n"
    )
    cfg = load_config(path, env={"NVR_HUB_SERVER_PORT": "9100"})
    assert cfg.server.port == 9100
    assert cfg.storage.retention_days == 10 and cfg.storage.path == Path("/srv/nvr")
    assert cfg.streams is not None and cfg.streams[0]["fps"] == 5
    assert cfg.streams[0]["record"] is True  # defaults filled in
    # NVR_HUB_CONFIG names the file when --config is not given.
    assert load_config(None, env={"NVR_HUB_CONFIG": str(path)}).server.port == 9000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server:\n  prot: 1\n", "unknown field 'server.prot'"),
        ("server:\n  port: 0\n", "invalid field 'server.port'"),
        (
            "streams:\n  - name: a\n    url: rtsp://h/s\n    fsp: 3\n",
            "unknown field 'streams[0].fsp'",
        ),
        ("streams:\n  - url: rtsp://h/s\n", "missing field 'streams[0].name'"),
        ("bogus: 1\n", "unknown field 'bogus'"),
        ("- a\n- b\n", "mapping at the top level"),
        ("server: [\n", "not valid YAML"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert message in str(err.value)


def test_unknown_env_variable_is_an_error() -> None:
    with pytest.raises(ConfigError, match="NVR_HUB_SERVR_PORT"):
        load_config(None, env={"NVR_HUB_SERVR_PORT": "1"})
    with pytest.raises(ConfigError, match="config file /nonexistent.yaml does not exist"):
        load_config("/nonexistent.yaml", env={})
