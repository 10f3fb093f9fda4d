"""The stream object's fields: validators, defaults and masking, shared by config and API."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import voluptuous as vol

from nvr_hub.validation import described, float_range, int_range, strict_bool, text

MASK = "********"
URL_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp", "demo")
BUFFER_STRATEGIES = ("auto", "go2rtc", "hls_segment", "memory_packet", "mmap_hybrid")
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-. ]{1,64}$")


def stream_name(value: Any) -> str:
    """1–64 of letters, digits, space, `_`, `-`, `.`; not starting with `.` or space."""
    if not isinstance(value, str):
        raise vol.Invalid("expected a string")
    if not _NAME_RE.match(value) or value[0] in ". ":
        raise vol.Invalid(
            "must be 1-64 letters, digits, spaces, '_', '-' or '.', not starting with '.' or space"
        )
    return value


def stream_url(value: Any) -> str:
    """A camera URL with one of the supported schemes."""
    url = text(2048, min_len=1)(value)
    parts = urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES:
        raise vol.Invalid(f"scheme must be one of {', '.join(URL_SCHEMES)}")
    if parts.scheme.lower() != "demo" and not parts.hostname:
        raise vol.Invalid("must include a host")
    if any(ch.isspace() for ch in url):
        raise vol.Invalid("must not contain whitespace")
    return url


stream_name = described(
    stream_name, {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _NAME_RE.pattern}
)
stream_url = described(stream_url, {"type": "string", "format": "uri", "maxLength": 2048})


def optional_url(value: Any) -> str:
    """Empty, or an http(s) URL."""
    url = text(2048)(value)
    if url and urlsplit(url).scheme.lower() not in ("http", "https"):
        raise vol.Invalid("must be an http or https URL")
    return url


optional_url = described(optional_url, {"type": "string", "maxLength": 2048})
_read_only = described(lambda value: value, {"readOnly": True, "description": "ignored"})


def _enum(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise vol.Invalid(f"must be one of {', '.join(choices)}")
        return str(value)

    return described(check, {"type": "string", "enum": list(choices)})


# name -> (validator, default). Order is the order of the documented stream object.
STREAM_FIELDS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "name": (stream_name, None),
    "url": (stream_url, None),
    "enabled": (strict_bool, True),
    "streaming_enabled": (strict_bool, True),
    "width": (int_range(0, 16384), 1280),
    "height": (int_range(0, 16384), 720),
    "fps": (int_range(0, 240), 15),
    "codec": (text(16), "h264"),
    "priority": (int_range(1, 10), 5),
    "record": (strict_bool, True),
    "segment_duration": (int_range(5, 3600), 60),
    "protocol": (int_range(0, 1), 0),
    "record_audio": (strict_bool, True),
    "detection_based_recording": (strict_bool, False),
    "detection_model": (text(256), ""),
    "detection_threshold": (float_range(0.0, 1.0), 0.5),
    "detection_interval": (int_range(1, 1000), 10),
    "pre_detection_buffer": (int_range(0, 60), 5),
    "post_detection_buffer": (int_range(0, 3600), 10),
    "detection_api_url": (optional_url, ""),
    "is_onvif": (strict_bool, False),
    "onvif_username": (text(128), ""),
    "onvif_password": (text(128), ""),
    "onvif_profile": (text(128), ""),
    "ptz_enabled": (strict_bool, False),
    "backchannel_enabled": (strict_bool, False),
    "buffer_strategy": (_enum(*BUFFER_STRATEGIES), "auto"),
    "retention_days": (int_range(0, 3650), 0),
    # Beyond the documented example: used by retention, motion and detection.
    "detection_retention_days": (int_range(0, 3650), 0),
    "max_storage_mb": (int_range(0, 100_000_000), 0),
    "detection_enabled": (strict_bool, False),
    "sub_stream_url": (
        described(lambda v: "" if v == "" else stream_url(v), {"type": "string"}),
        "",
    ),
}
# Keys a client may send back from a GET; accepted and ignored.
READ_ONLY_FIELDS = ("id", "status")

_ADD: dict[vol.Marker, Any] = {
    (vol.Required(k) if k in ("name", "url") else vol.Optional(k)): validator
    for k, (validator, _) in STREAM_FIELDS.items()
}
_ADD.update({vol.Optional(k): _read_only for k in READ_ONLY_FIELDS})
ADD_SCHEMA = vol.Schema(_ADD, extra=vol.PREVENT_EXTRA)
UPDATE_SCHEMA = vol.Schema(
    {
        **{vol.Optional(k): validator for k, (validator, _) in STREAM_FIELDS.items()},
        **{vol.Optional(k): _read_only for k in READ_ONLY_FIELDS},
    },
    extra=vol.PREVENT_EXTRA,
)
RETENTION_SCHEMA = vol.Schema(
    {
        vol.Optional("retention_days"): STREAM_FIELDS["retention_days"][0],
        vol.Optional("detection_retention_days"): STREAM_FIELDS["detection_retention_days"][0],
        vol.Optional("max_storage_mb"): STREAM_FIELDS["max_storage_mb"][0],
    },
    extra=vol.PREVENT_EXTRA,
)


def with_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """Fill every field a new stream did not give with its default."""
    out = {k: default for k, (_, default) in STREAM_FIELDS.items()}
    out.update({k: v for k, v in values.items() if k in STREAM_FIELDS})
    return out


def url_password(url: str) -> str | None:
    """The password inside a URL, if any."""
    return urlsplit(url).password


def mask_url(url: str) -> str:
    """Replace the password inside a camera URL with the mask."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def unmask_url(new_url: str, old_url: str) -> str:
    """A client that sends back a masked URL keeps the stored password."""
    if urlsplit(new_url).password != MASK:
        return new_url
    old_password = url_password(old_url) or ""
    return new_url.replace(f":{MASK}@", f":{old_password}@", 1)
