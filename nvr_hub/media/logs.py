"""Logging helpers for the media path: credential redaction and libav's chatter."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import av
import av.logging

_REDACTED = "***"
# Query keys that cameras use to carry secrets in the URL (e.g. `?user=admin&password=x`).
_SECRET_KEYS = frozenset(
    {"password", "pass", "passwd", "pwd", "token", "auth", "key", "apikey", "api_key", "secret"}
)
# `scheme://user:password@` anywhere in free text, such as an FFmpeg error message.
_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@")


def redact_url(url: str) -> str:
    """Return `url` with its password and secret query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:{_REDACTED}@{hostport}" if sep else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_KEYS for key, _ in pairs):
            query = urlencode(
                [(k, _REDACTED if k.lower() in _SECRET_KEYS else v) for k, v in pairs], safe="*"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Redact passwords of any URLs embedded in free text (exception messages, logs)."""
    return _USERINFO_RE.sub(rf"\g<scheme>\g<user>:{_REDACTED}@", text)


def describe_error(err: BaseException) -> str:
    """A short, credential-free description of an error, for logs and status details."""
    if isinstance(err, av.FFmpegError):
        # str() of an FFmpegError ends with the URL it was opening, credentials included.
        return f"{type(err).__name__}: {err.strerror}"
    return redact_text(f"{type(err).__name__}: {err}")


def quiet_libav_logging(verbose: bool = False) -> None:
    """Keep libav's log off the hot path; `verbose` routes its errors to ``libav.*`` loggers.

    PyAV's log hook takes the GIL for every libav log call, whatever the level, and the
    RTSP demuxer logs (at trace level) for every RTP packet it reads: with the hook
    installed, 64 cameras cost ~15 % more CPU and three times the context switches
    (bench/README.md, "Recording"). So it is off unless the hub logs at DEBUG. Failures
    still surface as exceptions (an `FFmpegError` with its `strerror`); what is lost is
    libav's own wording of them (`method DESCRIBE failed: 404 Not Found`, say).
    """
    av.logging.set_level(av.logging.ERROR if verbose else None)
