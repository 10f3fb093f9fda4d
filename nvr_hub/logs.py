"""Logging: console plus a rotating file the logs API reads, credentials redacted.

Records are written by a thread (a `QueueListener`), never on the event loop.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
import time
from collections import deque
from pathlib import Path
from queue import SimpleQueue
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


class _Drained(logging.LogRecord):
    """A marker the listener answers once every record queued before it is written."""

    def __init__(self) -> None:
        super().__init__(__name__, logging.NOTSET, __file__, 0, "", None, None)
        self.done = threading.Event()


class _Listener(logging.handlers.QueueListener):
    def handle(self, record: logging.LogRecord) -> None:
        if isinstance(record, _Drained):
            record.done.set()
        else:
            super().handle(record)


class BackgroundHandler(logging.handlers.QueueHandler):
    """Queue records for a thread that hands them to `handlers` (writes block on disk)."""

    def __init__(self, *handlers: logging.Handler) -> None:
        queue: SimpleQueue[logging.LogRecord] = SimpleQueue()
        super().__init__(queue)
        self._listener = _Listener(queue, *handlers)
        self._listener.start()
        self._running = True

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until the records queued so far are written; blocking."""
        if self._running:
            marker = _Drained()
            self.enqueue(marker)
            marker.done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, stop the thread and close the handlers; blocking."""
        # Idempotent: `logging.shutdown` closes every handler again at exit.
        if self._running:
            self._running = False
            self._listener.stop()
            for handler in self._listener.handlers:
                handler.close()
        super().close()


def setup_logging(cfg: LoggingConfig) -> logging.Handler:
    """Log to the console and a rotating file through one `BackgroundHandler`; blocking.

    Returns the handler for `remove_logging`.
    """
    cfg.file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.setLevel(cfg.level)
    formatter = _UTCFormatter(FORMAT)
    file_handler = logging.handlers.RotatingFileHandler(
        cfg.file, maxBytes=cfg.max_bytes, backupCount=cfg.backups, encoding="utf-8"
    )
    console = logging.StreamHandler()
    for output in (file_handler, console):
        output.setFormatter(formatter)
    handler = BackgroundHandler(file_handler, console)
    # Before the record is queued: the message is rendered (and redacted) on the way in.
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    # libav is chatty about every RTP hiccup, and hooking its log costs CPU on every
    # packet; our own code logs what matters. At DEBUG its errors are routed too.
    quiet_libav_logging(verbose=cfg.level == "DEBUG")
    logging.getLogger("libav").setLevel(logging.ERROR)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handler


def remove_logging(handler: logging.Handler) -> None:
    """Detach and close what `setup_logging` added (tests start many hubs); blocking."""
    logging.getLogger().removeHandler(handler)
    handler.close()


def _drain() -> None:
    # A reader of the file sees every record logged before it asked.
    for handler in list(logging.getLogger().handlers):
        if isinstance(handler, BackgroundHandler):
            handler.drain()


def read_logs(path: Path, level: str = "DEBUG", limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` entries at or above `level`, oldest first; blocking."""
    _drain()
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
    _drain()
    if path.exists():
        with open(path, "r+", encoding="utf-8") as fh:
            fh.truncate(0)
