"""One broker connection kept alive: last will, backoff, full republish, one ordered writer.

The writer is the only task that publishes while connected, so a state change queued during
a full republish is sent after it and the broker ends with the newest value. Messages that
are not retained are dropped while disconnected (an old motion event is worse than none);
retained state is rebuilt from the integration's state on every (re)connect instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable

import aiomqtt

from integrations.mqtt.options import MqttOptions, make_client
from integrations.mqtt.topics import Message

_LOGGER = logging.getLogger(__name__)

BACKOFF_MIN = 1.0
BACKOFF_MAX = 60.0
QUEUE_SIZE = 10_000
# Home Assistant asks every publisher at once when it starts: spread the answers out.
BIRTH_DELAY = (0.5, 2.5)
STOP_TIMEOUT = 3.0


class _Republish:
    """Queue marker: publish the whole retained state now."""


REPUBLISH = _Republish()
Retained = Callable[[], list[Message]]
OnMessage = Callable[[aiomqtt.Message], Awaitable[None]]


class Connection:
    """Connects, reconnects with capped exponential backoff, and publishes in order."""

    def __init__(
        self,
        options: MqttOptions,
        context: ssl.SSLContext | None,
        client_id: str,
        retained: Retained,
        on_message: OnMessage,
    ) -> None:
        self.options = options
        self.topics = options.topics
        self._context = context
        self._client_id = client_id
        self._retained = retained
        self._on_message = on_message
        self._queue: asyncio.Queue[Message | _Republish] = asyncio.Queue(QUEUE_SIZE)
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        self.dropped = 0
        self.connects = 0

    def start(self) -> None:
        """Begin connecting in the background (a broker that is down is retried forever)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send(self, message: Message) -> None:
        """Queue a message for the writer; never blocks."""
        if not self.connected.is_set():
            if not message.retain:
                self.dropped += 1
            return  # retained state goes out with the next full republish
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                _LOGGER.warning("MQTT broker is not keeping up; %d messages dropped", self.dropped)

    def republish(self) -> None:
        """Send the whole retained state again (after everything already queued)."""
        if self.connected.is_set():
            self._queue.put_nowait(REPUBLISH)

    async def stop(self, final: list[Message]) -> None:
        """Publish `final` and `offline` (no last will on a clean stop), then disconnect."""
        client = self._client
        if client is not None and self.connected.is_set():
            try:
                for message in [*final, Message(self.topics.availability, b"offline", True)]:
                    await client.publish(
                        message.topic,
                        message.payload,
                        qos=message.qos,
                        retain=message.retain,
                        timeout=STOP_TIMEOUT,
                    )
            except aiomqtt.MqttError as err:
                _LOGGER.warning("Could not say goodbye to the MQTT broker: %s", err)
        for task in [self._task, *self._timers]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._timers]:
            if task is not None:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._timers.clear()

    # -- the connection loop -------------------------------------------------------------

    async def _run(self) -> None:
        where = f"{self.options.host}:{self.options.port}"
        delay = BACKOFF_MIN
        failures = 0
        while True:
            client = make_client(self.options, self._context, self._client_id)
            try:
                async with client:
                    _LOGGER.info("Connected to the MQTT broker at %s", where)
                    delay, failures = BACKOFF_MIN, 0
                    self.connects += 1
                    await self._serve(client)
            except* aiomqtt.MqttError as group:
                failures += 1
                # The first failure is news; the next ones, every backoff step, are not.
                log = _LOGGER.warning if failures == 1 else _LOGGER.debug
                log("MQTT broker at %s: %s; retrying", where, group.exceptions[0])
            except* Exception:
                _LOGGER.exception("MQTT connection to %s failed unexpectedly; retrying", where)
            finally:
                self.connected.clear()
                self._client = None
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX)

    async def _serve(self, client: aiomqtt.Client) -> None:
        discovery = self.options.discovery
        await client.subscribe([(f, 1) for f in self.topics.subscriptions(discovery)])
        while not self._queue.empty():  # left from the last connection: stale
            self._queue.get_nowait()
        self._client = client
        self.connected.set()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read(client))
            await self._publish_all(client)
            await self._write(client)

    async def _publish_all(self, client: aiomqtt.Client) -> None:
        await client.publish(self.topics.availability, b"online", qos=1, retain=True)
        for message in self._retained():
            await client.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain
            )

    async def _write(self, client: aiomqtt.Client) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Republish):
                await self._publish_all(client)
            else:
                await client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if message.topic.value == self.topics.birth:
                self._birth(message)
                continue
            try:
                await self._on_message(message)
            except Exception:
                _LOGGER.exception("MQTT message on %s could not be handled", message.topic.value)

    def _birth(self, message: aiomqtt.Message) -> None:
        # A retained birth arrives right after subscribing: everything was just published.
        if message.payload not in (b"online", "online") or message.retain:
            return
        if self._timers:
            return  # one republish is already on its way
        task = asyncio.get_running_loop().create_task(self._after_birth())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _after_birth(self) -> None:
        await asyncio.sleep(random.uniform(*BIRTH_DELAY))
        _LOGGER.info("Home Assistant came online; republishing discovery and state")
        self.republish()
