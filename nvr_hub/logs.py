"""Logging: console plus a rotating file the logs API reads, credentials redacted."""

from __future__ import annotations

import logging
import logging.handlers
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

from nvr_hub.config import LoggingConfig
from nvr_hub.media.logs import quiet_libav_logging, redact_text

_LOGGER = logging.getLogger(__name__)
_LINE_RE = re.compile(r"^(?P<time>\S+) (?P<level>[A-Z]+) (?P<logger>\S+): (?P<message>.*)$")
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Render the message once with its arguments, then redact credentials from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def setup_logging(cfg: LoggingConfig) -> logging.Handler:
    """Attach console and rotating-file handlers to the root logger; returns the file one."""
    cfg.file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(cfg.level)
    formatter = _UTCFormatter(FORMAT)
    redactor = RedactingFilter()
    file_handler = logging.handlers.RotatingFileHandler(
        cfg.file, maxBytes=cfg.max_bytes, backupCount=cfg.backups, encoding="utf-8"
    )
    console = logging.StreamHandler()
    for handler in (file_handler, console):
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    # libav is chatty about every RTP hiccup, and hooking its log costs CPU on every
    # packet; our own code logs what matters. At DEBUG its errors are routed too.
    quiet_libav_logging(verbose=cfg.level == "DEBUG")
    logging.getLogger("libav").setLevel(logging.ERROR)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return file_handler


def remove_logging(handler: logging.Handler) -> None:
    """Detach and close the handlers `setup_logging` added (tests start many hubs)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h is handler or (
            isinstance(h, logging.StreamHandler)
            and any(isinstance(f, RedactingFilter) for f in h.filters)
        ):
            root.removeHandler(h)
            h.close()


def read_logs(path: Path, level: str = "DEBUG", limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` entries at or above `level`, oldest first; blocking."""
    floor = LEVELS.get(level.upper(), 0)
    entries: deque[dict[str, Any]] = deque(maxlen=limit)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            current: dict[str, Any] | None = None
            for raw in fh:
                line = raw.rstrip("\n")
                match = _LINE_RE.match(line)
                if match is None:
                    # A traceback continues the entry above it.
                    if current is not None:
                        current["message"] += "\n" + line
                    continue
                current = None
                if LEVELS.get(match["level"], 0) >= floor:
                    current = match.groupdict()
                    current["level"] = current["level"].lower()
                    entries.append(current)
    except FileNotFoundError:
        return []
    return list(entries)


def clear_logs(path: Path) -> None:
    """Empty the log file in place (the handler keeps writing to it); blocking."""
    if path.exists():
        with open(path, "r+", encoding="utf-8") as fh:
            fh.truncate(0)
