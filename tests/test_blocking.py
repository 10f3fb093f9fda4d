"""The `blockbuster` fixture is on: a blocking call in the event loop fails the test."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from blockbuster import BlockingError

from nvr_hub.config import LoggingConfig
from nvr_hub.logs import clear_logs, read_logs, remove_logging, setup_logging


async def test_blocking_calls_in_the_loop_fail(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    await asyncio.to_thread(path.write_text, "hello")
    with pytest.raises(BlockingError):
        time.sleep(0.01)  # noqa: ASYNC251 - the call the fixture must catch
    with pytest.raises(BlockingError), open(path) as fh:  # noqa: ASYNC230
        fh.read()
    # The hub's own blocking helpers are caught too when called from the loop.
    with pytest.raises(BlockingError):
        clear_logs(path)
    # The same calls in a thread are what the hub does instead.
    await asyncio.to_thread(time.sleep, 0.01)
    await asyncio.to_thread(clear_logs, path)
    assert await asyncio.to_thread(path.read_text) == ""


async def test_logging_from_the_loop_writes_in_a_thread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = LoggingConfig(level="INFO", file=tmp_path / "hub.log", max_bytes=1 << 20, backups=1)
    handler = await asyncio.to_thread(setup_logging, cfg)
    try:
        logging.getLogger("nvr_hub.test").warning("camera rtsp://bob:hunter2@192.0.2.5/s lost")
        # A reader sees every record logged before it asked (the queue is drained first).
        entries = await asyncio.to_thread(read_logs, cfg.file)
    finally:
        await asyncio.to_thread(remove_logging, handler)
    mine = [e for e in entries if e["logger"] == "nvr_hub.test"]
    assert [(e["level"], e["message"]) for e in mine] == [
        ("warning", "camera rtsp://bob:***@192.0.2.5/s lost")
    ]
    # A blocked write would have been reported by logging's handleError, not raised.
    assert "Logging error" not in capsys.readouterr().err
