"""Message bodies: per-stream retained state, event JSON, LightNVR detections and stats."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from integrations.mqtt.topics import STREAM_LEAVES, Message, Topics
from nvr_hub.bus import ObjectDetected, RecordingFinished, RecordingStarted


def iso(value: datetime) -> str:
    """ISO-8601 UTC with `Z`, as everywhere in the API."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def new_id() -> str:
    """An event id."""
    return uuid4().hex


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _on_off(value: bool) -> bytes:
    return b"ON" if value else b"OFF"


@dataclass
class StreamState:
    """What the hub tells the broker about one stream; survives reconnects."""

    id: int
    name: str
    model: str
    status: str
    record: bool
    detection: bool
    motion: bool = False
    motion_id: str = ""
    snapshot: bytes | None = None
    last_detection: bytes | None = None
    recordings_size: int | None = None


def state_messages(topics: Topics, st: StreamState) -> list[Message]:
    """Every retained state topic of a stream that has a value."""
    name = st.name
    out = [
        Message(topics.stream(name, "status"), st.status.encode(), retain=True),
        Message(topics.stream(name, "motion"), _on_off(st.motion), retain=True),
        Message(topics.stream(name, "recording"), _on_off(st.record), retain=True),
        Message(topics.stream(name, "detection"), _on_off(st.detection), retain=True),
    ]
    if st.snapshot is not None:
        out.append(snapshot_message(topics, name, st.snapshot))
    if st.last_detection is not None:
        out.append(Message(topics.stream(name, "last_detection"), st.last_detection, retain=True))
    if st.recordings_size is not None:
        out.append(size_message(topics, name, st.recordings_size))
    return out


def cleared_messages(topics: Topics, name: str) -> list[Message]:
    """Empty retained payloads that remove every state topic of a stream from the broker."""
    return [Message(topics.stream(name, leaf), b"", retain=True) for leaf in STREAM_LEAVES]


def motion_message(topics: Topics, name: str, on: bool) -> Message:
    """`{prefix}/{stream}/motion` ON/OFF."""
    return Message(topics.stream(name, "motion"), _on_off(on), retain=True)


def snapshot_message(topics: Topics, name: str, jpeg: bytes) -> Message:
    """The latest JPEG (QoS 0: a lost one is replaced by the next)."""
    return Message(topics.stream(name, "snapshot"), jpeg, retain=True, qos=0)


def size_message(topics: Topics, name: str, size: int) -> Message:
    """Bytes of recordings kept for a stream."""
    return Message(topics.stream(name, "recordings_size"), str(size).encode(), retain=True)


def event_message(
    topics: Topics, kind: str, stream: str, time: datetime, event_id: str, **extra: Any
) -> Message:
    """One message on `{prefix}/events`."""
    body = {"type": kind, "id": event_id, "stream": stream, "time": iso(time), **extra}
    return Message(topics.events, _json(body))


def recording_event(
    topics: Topics, event: RecordingStarted | RecordingFinished, base_url: str
) -> Message:
    """`recording_start` / `recording_end` with the recording's id, times and API URLs."""
    rec: dict[str, Any] = {
        "id": event.recording_id,
        "start_time": iso(event.start_time),
        "play_url": f"{base_url}/api/recordings/play/{event.recording_id}",
        "download_url": f"{base_url}/api/recordings/download/{event.recording_id}",
    }
    kind = "recording_start"
    if isinstance(event, RecordingFinished):
        kind = "recording_end"
        rec.update(
            end_time=iso(event.end_time), duration=event.duration, size_bytes=event.size_bytes
        )
    return event_message(topics, kind, event.stream, event.time, new_id(), recording=rec)


def _box(event: ObjectDetected) -> dict[str, float]:
    x, y, w, h = event.box
    return {"x": x, "y": y, "width": w, "height": h}


def detection_messages(topics: Topics, event: ObjectDetected) -> tuple[list[Message], bytes]:
    """The event, LightNVR's detection payload, and the stream's new `last_detection` body."""
    event_id = new_id()
    detail = {"label": event.label, "confidence": event.confidence, "box": _box(event)}
    lightnvr = {
        "stream": event.stream,
        "timestamp": int(event.time.timestamp()),
        "count": 1,
        "detections": [
            {
                "label": event.label,
                "confidence": event.confidence,
                **_box(event),
                **({"zone_id": event.zone} if event.zone else {}),
            }
        ],
    }
    last = _json({**detail, "zone": event.zone, "time": iso(event.time), "id": event_id})
    messages = [
        event_message(
            topics, "detection", event.stream, event.time, event_id, **detail, zone=event.zone
        ),
        Message(topics.detections(event.stream), _json(lightnvr)),
        Message(topics.stream(event.stream, "last_detection"), last, retain=True),
    ]
    return messages, last


def stats_message(topics: Topics, stats: dict[str, Any]) -> Message:
    """`{prefix}/stats`, retained so a new subscriber sees the latest figures at once."""
    return Message(topics.stats, _json(stats), retain=True)
