"""System facts for the system API: versions, uptime, CPU, memory, disk, counts, backups."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from nvr_hub import __version__
from nvr_hub.config import Config
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import Base, Recording, Stream, utcnow


@dataclass
class StopRequest:
    """What the process should do once the server has stopped (restart or not)."""

    restart: bool = False
    requested: bool = False


def _pkg_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


class SystemService:
    """Reads the machine and the database for `/api/system`."""

    def __init__(self, config: Config, sessionmaker: SessionMaker, engine: AsyncEngine) -> None:
        self._config = config
        self._sm = sessionmaker
        self._engine = engine
        self.started = time.time()
        self.stop_request = StopRequest()
        self._db_version = ""

    @cached_property
    def _process(self) -> psutil.Process:
        # psutil reads /proc, so this is made off the loop (by `prime` or `machine`).
        process = psutil.Process()
        process.cpu_percent(None)  # prime: the first reading is always 0
        return process

    def prime(self) -> None:
        """Take the first CPU readings, which later ones are relative to; blocking."""
        _ = self._process
        psutil.cpu_percent(None)

    async def db_version(self) -> str:
        """SQLite or PostgreSQL server version, read once."""
        if not self._db_version:
            async with self._engine.connect() as conn:
                if self._engine.dialect.name == "sqlite":
                    self._db_version = "SQLite " + sqlite3.sqlite_version
                else:
                    row = await conn.exec_driver_sql("SHOW server_version")
                    self._db_version = "PostgreSQL " + str(row.scalar())
        return self._db_version

    async def db_ping(self) -> None:
        """Raise if the database does not answer."""
        async with self._engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def versions(self) -> list[dict[str, str]]:
        """`versions.items`: the software this hub runs on."""
        # importlib.metadata reads each package's METADATA file from disk.
        software = await asyncio.to_thread(_software_versions)
        return [*software, {"name": "Database", "version": await self.db_version()}]

    async def counts(self) -> dict[str, Any]:
        """Stream and recording counts from the database."""
        async with self._sm() as s:
            total = await s.scalar(select(func.count()).select_from(Stream))
            enabled = await s.scalar(select(func.count()).select_from(Stream).where(Stream.enabled))
            rec = (
                await s.execute(
                    select(func.count(), func.coalesce(func.sum(Recording.size_bytes), 0))
                )
            ).one()
        return {
            "streams": {"total": int(total or 0), "enabled": int(enabled or 0)},
            "recordings": {"count": int(rec[0]), "size": int(rec[1])},
        }

    def machine(self) -> dict[str, Any]:
        """CPU, memory and disk figures; blocking (/proc, the disk), so call it from a thread."""
        vm = psutil.virtual_memory()
        storage = self._config.storage.path
        storage.mkdir(parents=True, exist_ok=True)
        disk = psutil.disk_usage(str(storage))
        with self._process.oneshot():
            rss = self._process.memory_info().rss
            proc_cpu = self._process.cpu_percent(None)
        return {
            "cpu": {
                "cores": psutil.cpu_count() or 1,
                "usage": psutil.cpu_percent(None),
                "process_usage": proc_cpu,
                "model": platform.processor() or platform.machine(),
            },
            "memory": {
                "total": vm.total,
                "used": vm.total - vm.available,
                "free": vm.available,
                "process_rss": rss,
            },
            "disk": {
                "path": str(storage),
                "total": disk.total,
                "used": disk.used,
                "free": disk.free,
                "percent": disk.percent,
            },
        }

    def uptime(self) -> int:
        """Whole seconds since this process started serving."""
        return int(time.time() - self.started)

    async def backup(self) -> tuple[Path, str]:
        """A consistent copy of the database in a temp file, and its download name."""
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        if self._engine.dialect.name == "sqlite":
            src = self._config.database_url.split("///", 1)[-1]
            target = await asyncio.to_thread(_temp_file, ".db")
            await asyncio.to_thread(_sqlite_backup, src, target)
            return target, f"nvr-hub-backup-{stamp}.db"
        target = await asyncio.to_thread(_temp_file, ".json")
        data: dict[str, Any] = {"format": "nvr-hub-json-1", "created": stamp, "tables": {}}
        async with self._engine.connect() as conn, conn.begin():
            # One repeatable-read transaction: every table from the same snapshot.
            await conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(select(table))).mappings().all()
                data["tables"][table.name] = [dict(r) for r in rows]
        text = json.dumps(data, default=_json_default)
        await asyncio.to_thread(target.write_text, text, "utf-8")
        return target, f"nvr-hub-backup-{stamp}.json"

    @staticmethod
    def python() -> str:
        """The interpreter, for the logs."""
        return sys.version.split()[0]


def _software_versions() -> list[dict[str, str]]:
    import av

    ffmpeg = ".".join(str(p) for p in av.library_versions.get("libavformat", ()))
    return [
        {"name": "nvr-hub", "version": __version__},
        {"name": "OS", "version": f"{platform.system()} {platform.release()}"},
        {"name": "Python", "version": platform.python_version()},
        {"name": "PyAV", "version": av.__version__},
        {"name": "FFmpeg (libavformat)", "version": ffmpeg},
        {"name": "aiohttp", "version": _pkg_version("aiohttp")},
        {"name": "aiortc", "version": _pkg_version("aiortc")},
        {"name": "SQLAlchemy", "version": _pkg_version("SQLAlchemy")},
    ]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _temp_file(suffix: str) -> Path:
    """A new empty file for a backup (the caller deletes it)."""
    fd, name = tempfile.mkstemp(prefix="nvr-hub-backup-", suffix=suffix)
    os.close(fd)
    return Path(name)


def _sqlite_backup(src: str, target: Path) -> None:
    source = sqlite3.connect(src)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
