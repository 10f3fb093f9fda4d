"""The bridge between the hub and one broker connection: bus events in, state and commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from integrations.mqtt import payloads
from integrations.mqtt.connection import Connection
from integrations.mqtt.discovery import (
    StreamDevice,
    hub_configs,
    stream_config_topics,
    stream_configs,
)
from integrations.mqtt.options import MqttOptions
from integrations.mqtt.payloads import StreamState
from integrations.mqtt.periodic import Periodic
from integrations.mqtt.topics import COMMANDS, Message, Topics
from nvr_hub.bus import (
    Event,
    MotionEnded,
    MotionStarted,
    ObjectDetected,
    RecordingFinished,
    RecordingStarted,
    SnapshotTaken,
    StreamsChanged,
    StreamStatusChanged,
)
from nvr_hub.errors import NotFound, NvrHubError
from nvr_hub.integration import HubServices
from nvr_hub.storage.models import Stream

_LOGGER = logging.getLogger(__name__)
_EVENTS = (
    MotionStarted,
    MotionEnded,
    ObjectDetected,
    RecordingStarted,
    RecordingFinished,
    StreamStatusChanged,
    SnapshotTaken,
)
MAX_TOMBSTONES = 2000
_SWITCH = {"ON": True, "OFF": False}


def _model(stream: Stream) -> str:
    kind = "ONVIF camera" if stream.is_onvif else "Camera"
    return f"{kind} {stream.width}x{stream.height} {stream.codec}"


class Bridge:
    """Keeps each stream's state from the bus and hands messages to the current connection."""

    def __init__(self, hub: HubServices, options: MqttOptions) -> None:
        self.hub = hub
        self.options = options
        self.streams: dict[str, StreamState] = {}
        self.conn: Connection | None = None
        self.stats: bytes | None = None
        # Empty retained payloads for deleted streams, repeated with every full republish
        # so a deletion made while the broker was away still reaches it.
        self._tombstones: dict[str, Message] = {}
        self._off_timers: dict[str, asyncio.Task[None]] = {}
        self._unsubs: list[Callable[[], Awaitable[None]]] = []
        self.periodic = Periodic(self)

    @property
    def topics(self) -> Topics:
        """Topics of the current options."""
        return self.options.topics

    async def start(self) -> None:
        """Read every stream, then follow the bus."""
        for stream in await self.hub.streams.all():
            self.streams[stream.name] = self._state_of(stream)
        await self.periodic.refresh_sizes()
        bus = self.hub.bus
        self._unsubs.append(bus.subscribe(_EVENTS, self._on_event))
        self._unsubs.append(bus.subscribe((StreamsChanged,), self._on_streams_changed))
        self.periodic.start()

    async def stop(self) -> None:
        """Stop following the bus and every timer."""
        for unsub in self._unsubs:
            await unsub()
        self._unsubs.clear()
        await self.periodic.stop()
        timers = list(self._off_timers.values())
        self._off_timers.clear()
        for task in timers:
            task.cancel()
        await asyncio.gather(*timers, return_exceptions=True)

    async def reconfigure(self, options: MqttOptions) -> None:
        """New options (intervals, base URL, motion delay, topics with a new connection)."""
        self.options = options
        await self.periodic.restart()

    # -- what goes to the broker ---------------------------------------------------------

    def send(self, message: Message) -> None:
        """Hand one message to the connection, if any."""
        if message.retain:
            self._tombstones.pop(message.topic, None)
        if self.conn is not None:
            self.conn.send(message)

    def retained(self) -> list[Message]:
        """The whole retained state, in the order a newcomer wants it (configs first)."""
        topics, base = self.topics, self.options.base_url
        out: list[Message] = []
        if self.options.discovery:
            out += hub_configs(topics, base)
            for st in self.streams.values():
                out += stream_configs(topics, StreamDevice(st.id, st.name, st.model), base)
        for st in self.streams.values():
            out += payloads.state_messages(topics, st)
        if self.stats is not None:
            out.append(Message(topics.stats, self.stats, retain=True))
        out += self._tombstones.values()
        return out

    def retraction(self, old: MqttOptions, new: MqttOptions) -> list[Message]:
        """What to clear under `old`'s topics before switching to `new`'s.

        Turning discovery off (or moving it) removes the entities from Home Assistant;
        moving the topic prefix removes the old state topics. Disabling MQTT does neither:
        the entities just become unavailable, with their history.
        """
        out: list[Message] = []
        topics = old.topics
        moved = new.topic_prefix != old.topic_prefix
        if old.discovery and (
            not new.discovery or new.discovery_prefix != old.discovery_prefix or moved
        ):
            out += [Message(m.topic, b"", True) for m in hub_configs(topics, old.base_url)]
            for st in self.streams.values():
                out += [Message(t, b"", True) for t in stream_config_topics(topics, st.id)]
        if moved:
            for st in self.streams.values():
                out += payloads.cleared_messages(topics, st.name)
            out.append(Message(topics.stats, b"", True))
        return out

    def _bury(self, messages: list[Message]) -> None:
        for message in messages:
            self._tombstones[message.topic] = message
            if self.conn is not None:
                self.conn.send(message)
        while len(self._tombstones) > MAX_TOMBSTONES:
            del self._tombstones[next(iter(self._tombstones))]

    # -- bus -----------------------------------------------------------------------------

    def _state_of(self, stream: Stream) -> StreamState:
        old = self.streams.get(stream.name)
        st = StreamState(
            id=stream.id,
            name=stream.name,
            model=_model(stream),
            status=self.hub.pipelines.status(stream),
            record=stream.record,
            detection=stream.detection_enabled,
        )
        if old is not None and old.id == stream.id:
            st.motion, st.motion_id, st.snapshot = old.motion, old.motion_id, old.snapshot
            st.last_detection, st.recordings_size = old.last_detection, old.recordings_size
        return st

    def _send_stream(self, st: StreamState, configs: bool) -> None:
        if configs and self.options.discovery:
            device = StreamDevice(st.id, st.name, st.model)
            for message in stream_configs(self.topics, device, self.options.base_url):
                self.send(message)
        for message in payloads.state_messages(self.topics, st):
            self.send(message)

    async def _on_streams_changed(self, event: StreamsChanged) -> None:
        if event.action == "zones":
            return
        if event.action == "deleted":
            self._forget(event.stream, with_configs=True)
            return
        if event.old_name:
            # Same entities (they follow the database id), new topics: clear the old ones.
            moved = self._forget(event.old_name, with_configs=False)
            if moved is not None:
                self.streams[event.stream] = moved
        try:
            stream = await self.hub.streams.get(event.stream)
        except NotFound:
            return  # deleted again in the meantime
        old = self.streams.get(stream.name)
        st = self._state_of(stream)
        self.streams[stream.name] = st
        configs = old is None or old.name != st.name or old.id != st.id or old.model != st.model
        self._send_stream(st, configs)

    def _forget(self, name: str, *, with_configs: bool) -> StreamState | None:
        st = self.streams.pop(name, None)
        timer = self._off_timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        if st is None:
            return None
        tombs = payloads.cleared_messages(self.topics, name)
        if with_configs and self.options.discovery:
            tombs += [Message(t, b"", True) for t in stream_config_topics(self.topics, st.id)]
        self._bury(tombs)
        return st

    async def _on_event(self, event: Event) -> None:
        topics = self.topics
        if isinstance(event, MotionStarted):
            self._motion_started(event)
        elif isinstance(event, MotionEnded):
            self._motion_ended(event)
        elif isinstance(event, ObjectDetected):
            messages, last = payloads.detection_messages(topics, event)
            st = self.streams.get(event.stream)
            if st is not None:
                st.last_detection = last
            for message in messages:
                if st is not None or not message.retain:
                    self.send(message)
            self.periodic.snapshot(event.stream)
        elif isinstance(event, RecordingStarted | RecordingFinished):
            self.send(payloads.recording_event(topics, event, self.options.base_url))
            st = self.streams.get(event.stream)
            if isinstance(event, RecordingFinished) and st and st.recordings_size is not None:
                st.recordings_size += event.size_bytes
                self.send(payloads.size_message(topics, st.name, st.recordings_size))
        elif isinstance(event, StreamStatusChanged):
            self._status_changed(event)
        elif isinstance(event, SnapshotTaken):
            self.snapshot_ready(event.stream, event.jpeg)

    def _status_changed(self, event: StreamStatusChanged) -> None:
        st = self.streams.get(event.stream)
        if st is not None:  # a late status of a deleted stream must not come back retained
            st.status = event.status
            self.send(Message(self.topics.stream(st.name, "status"), st.status.encode(), True))
        detail: dict[str, Any] = {"status": event.status, "detail": event.detail}
        self.send(
            payloads.event_message(
                self.topics, "stream_status", event.stream, event.time, payloads.new_id(), **detail
            )
        )

    def snapshot_ready(self, name: str, jpeg: bytes) -> None:
        """A new JPEG of a stream."""
        st = self.streams.get(name)
        if st is None:
            return
        st.snapshot = jpeg
        self.send(payloads.snapshot_message(self.topics, name, jpeg))

    def _motion_started(self, event: MotionStarted) -> None:
        name = event.stream
        timer = self._off_timers.pop(name, None)
        if timer is not None:
            timer.cancel()  # motion came back within the off delay: one episode
        st = self.streams.get(name)
        if st is not None and st.motion:
            return
        event_id = payloads.new_id()
        if st is not None:
            st.motion, st.motion_id = True, event_id
            self.send(payloads.motion_message(self.topics, name, True))
        boxes = [list(b) for b in event.boxes]
        self.send(
            payloads.event_message(
                self.topics, "motion_start", name, event.time, event_id, boxes=boxes
            )
        )
        self.periodic.snapshot(name)

    def _motion_ended(self, event: MotionEnded) -> None:
        delay = self.options.motion_off_delay
        if delay <= 0:
            self._motion_off(event)
            return
        old = self._off_timers.pop(event.stream, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._motion_off_later(event, delay))
        self._off_timers[event.stream] = task

    async def _motion_off_later(self, event: MotionEnded, delay: float) -> None:
        await asyncio.sleep(delay)
        self._off_timers.pop(event.stream, None)
        self._motion_off(event)

    def _motion_off(self, event: MotionEnded) -> None:
        name = event.stream
        st = self.streams.get(name)
        event_id = payloads.new_id()
        if st is not None:
            event_id = st.motion_id or event_id
            st.motion, st.motion_id = False, ""
            self.send(payloads.motion_message(self.topics, name, False))
        self.send(payloads.event_message(self.topics, "motion_end", name, event.time, event_id))

    # -- commands ------------------------------------------------------------------------

    async def on_message(self, message: aiomqtt.Message) -> None:
        """A message on a subscribed command topic."""
        topic = message.topic.value
        raw = message.payload
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else str(raw)
        text = text.strip()
        if message.retain:
            # A command kept by the broker would switch things back on every reconnect.
            _LOGGER.warning("Ignoring retained MQTT command on %s", topic)
            return
        if topic == self.topics.restart:
            if text != "PRESS":
                _LOGGER.warning("Ignoring MQTT restart command: payload must be PRESS")
                return
            _LOGGER.warning("Restart requested over MQTT")
            request = self.hub.system.stop_request
            request.requested, request.restart = True, True
            self.hub.stop_event.set()
            return
        parsed = self.topics.parse_command(topic)
        if parsed is None:
            return
        name, kind = parsed
        value = _SWITCH.get(text.upper())
        if value is None:
            _LOGGER.warning("Ignoring MQTT command on %s: payload must be ON or OFF", topic)
            return
        if name not in self.streams:
            _LOGGER.warning("Ignoring MQTT command for unknown stream %s", name)
            return
        try:
            await self.hub.streams.set_fields(name, {COMMANDS[kind]: value})
        except NvrHubError as err:
            _LOGGER.warning("MQTT command on %s failed: %s", topic, err)
            return
        _LOGGER.info("MQTT turned %s of stream %s %s", kind, name, "on" if value else "off")
