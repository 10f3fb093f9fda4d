"""Streams: the stored camera definitions, their zones and retention, and change events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import voluptuous as vol
from sqlalchemy import delete, select

from nvr_hub.bus import EventBus, StreamsChanged
from nvr_hub.errors import BadRequest, Conflict, NotFound
from nvr_hub.storage.db import SessionMaker
from nvr_hub.storage.models import DetectionZone, Stream
from nvr_hub.stream_fields import (
    ADD_SCHEMA,
    MASK,
    RETENTION_SCHEMA,
    STREAM_FIELDS,
    UPDATE_SCHEMA,
    mask_url,
    unmask_url,
    with_defaults,
)
from nvr_hub.validation import float_range, strict_bool, text, validate

_LOGGER = logging.getLogger(__name__)

_POINT = vol.Schema(
    {vol.Required("x"): float_range(0.0, 1.0), vol.Required("y"): float_range(0.0, 1.0)},
    extra=vol.PREVENT_EXTRA,
)
_ZONE = vol.Schema(
    {
        vol.Optional("id"): vol.Any(text(64, min_len=1), vol.All(int, vol.Coerce(str))),
        vol.Optional("stream_name"): object,
        vol.Required("name"): text(128, min_len=1),
        vol.Optional("enabled", default=True): strict_bool,
        vol.Optional("color", default="#ff0000"): text(32),
        vol.Required("polygon"): vol.All([_POINT], vol.Length(min=3, max=64)),
        vol.Optional("filter_classes", default=[]): vol.Any(
            vol.All([text(64)], vol.Length(max=100)),
            vol.All(text(1024), lambda s: [c.strip() for c in s.split(",") if c.strip()]),
        ),
        vol.Optional("min_confidence", default=0.0): float_range(0.0, 1.0),
    },
    extra=vol.PREVENT_EXTRA,
)
ZONES_SCHEMA = vol.Schema(
    {vol.Required("zones"): vol.All([_ZONE], vol.Length(max=32))}, extra=vol.PREVENT_EXTRA
)

StatusFn = Callable[[str, bool], str]


def stream_json(stream: Stream, status: str, *, reveal: bool) -> dict[str, Any]:
    """The documented stream object; credentials masked unless `reveal`."""
    out: dict[str, Any] = {"id": stream.id}
    for key in STREAM_FIELDS:
        out[key] = getattr(stream, key)
    if not reveal:
        out["url"] = mask_url(stream.url)
        out["sub_stream_url"] = mask_url(stream.sub_stream_url)
        if stream.onvif_password:
            out["onvif_password"] = MASK
    out["status"] = status
    return out


def zone_json(zone: DetectionZone, stream_name: str) -> dict[str, Any]:
    """A zone as the API returns it."""
    return {
        "id": zone.zone_id,
        "stream_name": stream_name,
        "name": zone.name,
        "enabled": zone.enabled,
        "color": zone.color,
        "polygon": zone.polygon,
        "filter_classes": zone.filter_classes,
        "min_confidence": zone.min_confidence,
    }


class StreamService:
    """CRUD over streams; every change is announced as `StreamsChanged`."""

    def __init__(self, sessionmaker: SessionMaker, bus: EventBus) -> None:
        self._sm = sessionmaker
        self._bus = bus

    async def all(self) -> list[Stream]:
        """Every stream, highest priority first, then by name."""
        async with self._sm() as s:
            rows = await s.scalars(select(Stream).order_by(Stream.priority.desc(), Stream.name))
            return list(rows.all())

    async def get(self, name: str) -> Stream:
        """One stream by name or NotFound."""
        async with self._sm() as s:
            stream = await s.scalar(select(Stream).where(Stream.name == name))
        if stream is None:
            raise NotFound(f"stream '{name}' not found")
        return stream

    async def add(self, body: Any) -> Stream:
        """Create a stream from a validated body; duplicate names conflict."""
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object describing the stream")
        values = with_defaults(validate(ADD_SCHEMA, body))
        stream = await self.add_values(values)
        return stream

    async def add_values(self, values: Mapping[str, Any]) -> Stream:
        """Insert already-validated values (config seeding uses this too)."""
        async with self._sm() as s, s.begin():
            if await s.scalar(select(Stream.id).where(Stream.name == values["name"])):
                raise Conflict(f"stream '{values['name']}' already exists")
            stream = Stream(**{k: values[k] for k in STREAM_FIELDS})
            s.add(stream)
        self._bus.publish(StreamsChanged(stream=stream.name, action="added"))
        return stream

    async def update(self, name: str, body: Any) -> Stream:
        """Apply a partial update; masked credentials sent back keep their stored value."""
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object with the fields to change")
        changes = validate(UPDATE_SCHEMA, body)
        return await self._apply(name, changes)

    async def update_retention(self, name: str, body: Any) -> Stream:
        """Change the stream's retention fields."""
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object")
        return await self._apply(name, validate(RETENTION_SCHEMA, body))

    async def set_fields(self, name: str, changes: Mapping[str, Any]) -> Stream:
        """Change validated fields (MQTT commands use this)."""
        return await self._apply(name, changes)

    async def _apply(self, name: str, changes: Mapping[str, Any]) -> Stream:
        async with self._sm() as s, s.begin():
            stream = await s.scalar(select(Stream).where(Stream.name == name))
            if stream is None:
                raise NotFound(f"stream '{name}' not found")
            new_name = changes.get("name", name)
            if new_name != name and await s.scalar(
                select(Stream.id).where(Stream.name == new_name)
            ):
                raise Conflict(f"stream '{new_name}' already exists")
            for key, value in changes.items():
                if key not in STREAM_FIELDS:
                    continue  # read-only keys a client echoed back
                if key in ("url", "sub_stream_url"):
                    value = unmask_url(value, getattr(stream, key))
                if key == "onvif_password" and value == MASK:
                    continue
                setattr(stream, key, value)
        if new_name != name:
            self._bus.publish(StreamsChanged(stream=new_name, action="renamed", old_name=name))
        else:
            self._bus.publish(StreamsChanged(stream=name, action="updated"))
        return stream

    async def observe(self, name: str, **values: Any) -> None:
        """Record what the camera really sends (width, height, fps, codec); no event."""
        async with self._sm() as s, s.begin():
            stream = await s.scalar(select(Stream).where(Stream.name == name))
            if stream is not None:
                for key, value in values.items():
                    setattr(stream, key, value)

    async def delete(self, name: str) -> None:
        """Delete a stream (its zones and motion config go with it)."""
        async with self._sm() as s, s.begin():
            stream = await s.scalar(select(Stream).where(Stream.name == name))
            if stream is None:
                raise NotFound(f"stream '{name}' not found")
            await s.delete(stream)
        self._bus.publish(StreamsChanged(stream=name, action="deleted"))

    # -- zones ---------------------------------------------------------------------------

    async def zones(self, name: str) -> list[dict[str, Any]]:
        """The stream's zones in their stored order."""
        stream = await self.get(name)
        async with self._sm() as s:
            rows = await s.scalars(
                select(DetectionZone)
                .where(DetectionZone.stream_id == stream.id)
                .order_by(DetectionZone.pk)
            )
            return [zone_json(z, name) for z in rows.all()]

    async def replace_zones(self, name: str, body: Any) -> list[dict[str, Any]]:
        """Replace the whole zone set of a stream."""
        zones = validate(ZONES_SCHEMA, body)["zones"]
        stream = await self.get(name)
        ids = [str(z.get("id") or f"zone_{i + 1}") for i, z in enumerate(zones)]
        if len(set(ids)) != len(ids):
            raise BadRequest("invalid field 'zones': zone ids must be unique")
        async with self._sm() as s, s.begin():
            await s.execute(delete(DetectionZone).where(DetectionZone.stream_id == stream.id))
            for zone_id, zone in zip(ids, zones, strict=True):
                s.add(
                    DetectionZone(
                        stream_id=stream.id,
                        zone_id=zone_id,
                        name=zone["name"],
                        enabled=zone["enabled"],
                        color=zone["color"],
                        polygon=[{"x": p["x"], "y": p["y"]} for p in zone["polygon"]],
                        filter_classes=list(zone["filter_classes"]),
                        min_confidence=zone["min_confidence"],
                    )
                )
        self._bus.publish(StreamsChanged(stream=name, action="zones"))
        return await self.zones(name)

    async def delete_zones(self, name: str) -> None:
        """Remove every zone of a stream."""
        stream = await self.get(name)
        async with self._sm() as s, s.begin():
            await s.execute(delete(DetectionZone).where(DetectionZone.stream_id == stream.id))
        self._bus.publish(StreamsChanged(stream=name, action="zones"))
