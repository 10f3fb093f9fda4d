"""StreamSource: one connection per camera, demuxed in a thread and fanned out to consumers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from .consumer import PacketConsumer, StreamInfo, StreamStatus
from .demo import DemoInput, is_demo_url
from .logs import describe_error, redact_url
from .timestamps import TimestampRepair

_LOGGER = logging.getLogger(__name__)

StatusCallback = Callable[[str, str | None], None]

PROTOCOL_TCP = 0
PROTOCOL_UDP = 1
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 30.0
# Errors that retrying soon will not fix; reported as `error` (still retried, at backoff).
_PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    av.error.HTTPClientError,  # 401, 403, 404 from the camera
    av.error.LookupError,  # no demuxer or protocol for this URL
)


class SourceError(Exception):
    """The input opened but cannot be used (no video, say): a configuration problem."""


class SourceStalled(Exception):
    """Data still arrives but no video has for too long."""


@dataclass(frozen=True)
class SourceStats:
    """Counters of one source since it was created."""

    packets: int
    bytes: int
    dropped: int  # before the first keyframe of a connection, or held past the end
    reconnects: int
    last_packet_time: float | None  # time.time() of the last packet handed out


class _Input(Protocol):
    video_stream: VideoStream
    audio_stream: AudioStream | None

    def packets(self) -> Iterator[Packet[Stream]]: ...
    def close(self) -> None: ...


class _AvInput:
    """A PyAV-demuxed input (RTSP or anything else FFmpeg opens)."""

    def __init__(self, container: InputContainer) -> None:
        self._container = container
        if not container.streams.video:
            container.close()
            raise SourceError("no video stream")
        self.video_stream: VideoStream = container.streams.video[0]
        audio = container.streams.audio
        self.audio_stream: AudioStream | None = audio[0] if audio else None

    def packets(self) -> Iterator[Packet[Stream]]:
        streams = [s for s in (self.video_stream, self.audio_stream) if s is not None]
        for packet in self._container.demux(streams):
            if packet.size:  # demux() ends with empty "flush" packets
                yield packet

    def close(self) -> None:
        self._container.close()


class StreamSource:
    """Keeps one camera connected in a worker thread and feeds its packets to consumers.

    Reconnects with capped exponential backoff after errors, end of stream or a stall
    (nothing received for `socket_timeout` seconds, or no video packet for
    `stall_timeout` seconds while other data flows), repairs timestamps and drops
    whatever precedes the first video keyframe of each connection.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        protocol: int = PROTOCOL_TCP,
        on_status: StatusCallback | None = None,
        socket_timeout: float = 5.0,
        open_timeout: float = 10.0,
        stall_timeout: float = 10.0,
        analyze_duration: float = 1.0,
    ) -> None:
        self.name = name
        self._url = url
        self._protocol = protocol
        self._on_status = on_status
        self._socket_timeout = socket_timeout
        self._open_timeout = open_timeout
        self._stall_timeout = stall_timeout
        self._analyze_duration = analyze_duration
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # cuts a backoff wait short (stop, refresh)
        self._refresh = threading.Event()
        self._thread: threading.Thread | None = None
        # Consumers by id(): identity, not ==, since consumers may be equal dataclasses.
        self._registered: dict[int, PacketConsumer] = {}
        self._changed = False  # registered consumers changed since the worker last looked
        # Worker-thread state.
        self._wanted: dict[int, PacketConsumer] = {}
        self._active: dict[int, PacketConsumer] = {}
        self._fanout: tuple[PacketConsumer, ...] = ()  # _active's values, for the hot loop
        self._info: StreamInfo | None = None
        self._status = StreamStatus.DISABLED
        self._detail: str | None = None
        self._packets = self._bytes = self._dropped = self._reconnects = 0
        self._last_packet_time: float | None = None

    @property
    def url(self) -> str:
        """The URL with credentials redacted, safe to log or show."""
        return redact_url(self._url)

    @property
    def info(self) -> StreamInfo | None:
        """What the current (or last) connection carries."""
        return self._info

    @property
    def status(self) -> str:
        """The last reported status."""
        return self._status

    @property
    def stats(self) -> SourceStats:
        """A snapshot of the counters."""
        return SourceStats(
            self._packets, self._bytes, self._dropped, self._reconnects, self._last_packet_time
        )

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._thread is not None

    def add_consumer(self, consumer: PacketConsumer) -> None:
        """Register a consumer; it joins at the next video keyframe (thread-safe)."""
        with self._lock:
            self._registered[id(consumer)] = consumer
            self._changed = True

    def remove_consumer(self, consumer: PacketConsumer) -> None:
        """Unregister a consumer; it gets `on_close("removed")` from the worker (thread-safe)."""
        with self._lock:
            if self._registered.pop(id(consumer), None) is not None:
                self._changed = True

    def start(self) -> None:
        """Start the worker thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        # Owners always stop() and join; daemon only so that a source someone forgot to
        # stop can never keep the process from exiting.
        self._thread = threading.Thread(target=self._run, name=f"stream-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the worker and wait for it; consumers get `on_close` first.

        A blocked read returns within the socket timeout, so this takes at most that
        long (plus the open timeout while connecting).
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout)
        if thread.is_alive():
            _LOGGER.warning("%s: worker did not stop within %s s", self.name, timeout)

    def refresh(self) -> None:
        """Drop the connection and reconnect now (after a settings change, say)."""
        self._refresh.set()
        self._wake.set()

    def _set_status(self, status: StreamStatus, detail: str | None = None) -> None:
        if (status, detail) == (self._status, self._detail):
            return
        self._status, self._detail = status, detail
        if self._on_status is None:
            return
        try:
            self._on_status(status, detail)
        except Exception:
            _LOGGER.exception("%s: status callback failed", self.name)

    def _run(self) -> None:
        backoff = BACKOFF_INITIAL
        self._set_status(StreamStatus.CONNECTING)
        while not self._stop.is_set():
            connected, error = self._session()
            if self._stop.is_set():
                break
            if self._refresh.is_set():  # cleared by the next session
                backoff = BACKOFF_INITIAL
                self._set_status(StreamStatus.CONNECTING)
                continue
            if connected:
                backoff = BACKOFF_INITIAL
            self._reconnects += 1
            detail = describe_error(error) if error is not None else "end of stream"
            permanent = isinstance(error, (*_PERMANENT_ERRORS, SourceError))
            status = StreamStatus.ERROR if permanent else StreamStatus.RECONNECTING
            # Warn once per outage, not at every failed retry.
            level = (
                logging.WARNING
                if (status, detail) != (self._status, self._detail)
                else logging.DEBUG
            )
            _LOGGER.log(
                level, "%s (%s): %s; retrying in %.0f s", self.name, self.url, detail, backoff
            )
            self._set_status(status, detail)
            self._wake.wait(backoff)
            self._wake.clear()
            backoff = min(backoff * 2, BACKOFF_MAX)
        self._set_status(StreamStatus.DISABLED)

    def _open(self) -> _Input:
        if is_demo_url(self._url):
            return DemoInput(self._url, self._stop)
        micros = str(int(self._socket_timeout * 1_000_000))
        options = {
            "analyzeduration": str(int(self._analyze_duration * 1_000_000)),
            # Reaches the decoders avformat_find_stream_info opens to probe, not ours. It
            # stops them decoding (and allocating a frame pool for) a 1080p keyframe per
            # camera just to learn the pixel format, which remuxing never needs: the
            # peak memory of connecting drops from ~11 to ~2 MB per stream.
            "skip_frame": "all",
        }
        if self._url.lower().startswith(("rtsp://", "rtsps://")):
            options["rtsp_transport"] = "udp" if self._protocol == PROTOCOL_UDP else "tcp"
            options["timeout"] = micros  # RTSP's socket timeout: connect and every read
        else:
            # The generic I/O timeout; `timeout` means other things elsewhere (for RTMP
            # it turns the client into a listening server).
            options["rw_timeout"] = micros
        # PyAV's timeout bounds the open only. As a read timeout it would install an
        # interrupt callback that takes the GIL at every I/O poll of every camera
        # (about 15% more CPU at 16 streams, measured); the socket timeout above already
        # ends a read on a silent connection.
        container = av.open(self._url, options=options, timeout=(self._open_timeout, None))
        return _AvInput(container)

    def _session(self) -> tuple[bool, BaseException | None]:
        """One connection, from open to loss; returns (reached connected, error)."""
        connected = False
        error: BaseException | None = None
        reason = "stopped"
        # A refresh asked for before this attempt is served by this attempt.
        self._refresh.clear()
        self._wake.clear()
        try:
            source = self._open()
        except Exception as err:  # every failure to connect leads to a retry
            return False, err
        try:
            self._info = StreamInfo.from_streams(
                self.name, source.video_stream, source.audio_stream
            )
            video = source.video_stream
            repairs: dict[Stream, TimestampRepair] = {video: TimestampRepair(f"{self.name} video")}
            if source.audio_stream is not None:
                repairs[source.audio_stream] = TimestampRepair(f"{self.name} audio")
            last_video = time.monotonic()
            for raw in source.packets():
                if self._stop.is_set() or self._refresh.is_set():
                    reason = "refresh" if self._refresh.is_set() else "stopped"
                    break
                now = time.monotonic()
                if raw.stream is video:
                    last_video = now
                elif now - last_video > self._stall_timeout:
                    # Audio (or RTCP-fed timestamps) flowing without video is a stall too.
                    raise SourceStalled(f"no video for {self._stall_timeout:.0f} s")
                for packet in repairs[raw.stream].push(raw):
                    is_video = packet.stream is video
                    if not connected:
                        if not (is_video and packet.is_keyframe):
                            self._dropped += 1
                            continue
                        connected = True
                        self._set_status(StreamStatus.CONNECTED)
                        _LOGGER.info("%s (%s): connected", self.name, self.url)
                    self._deliver(packet, is_video and packet.is_keyframe)
            else:
                reason = "stopped" if self._stop.is_set() else "end of stream"
                # Held untimed packets have nothing to follow: count them as lost.
                self._dropped += sum(len(r.flush()) for r in repairs.values())
        except Exception as err:
            error = err
            reason = describe_error(err)
        finally:
            self._close_consumers(reason)
            try:
                source.close()
            except Exception:
                _LOGGER.debug("%s: error closing input", self.name, exc_info=True)
        return connected, error

    def _deliver(self, packet: Packet[Stream], keyframe: bool) -> None:
        if self._changed or (keyframe and len(self._active) < len(self._wanted)):
            self._sync_consumers(keyframe)
        self._packets += 1
        self._bytes += packet.size
        self._last_packet_time = time.time()
        for consumer in self._fanout:
            try:
                consumer.on_packet(packet)
            except Exception:
                _LOGGER.exception("%s: consumer %r failed; removing it", self.name, consumer)
                self._discard(consumer, "consumer error")

    def _sync_consumers(self, keyframe: bool) -> None:
        """Apply adds and removals; new consumers start at a keyframe."""
        if self._changed:
            with self._lock:
                self._changed = False
                self._wanted = dict(self._registered)
            for key in [k for k in self._active if k not in self._wanted]:
                _close(self.name, self._active.pop(key), "removed")
        if keyframe and self._info is not None:
            for key, consumer in list(self._wanted.items()):
                if key in self._active:
                    continue
                try:
                    consumer.on_open(self._info)
                except Exception:
                    _LOGGER.exception(
                        "%s: consumer %r failed to open; removing it", self.name, consumer
                    )
                    self._discard(consumer, None)
                    continue
                self._active[key] = consumer
        self._fanout = tuple(self._active.values())

    def _discard(self, consumer: PacketConsumer, reason: str | None) -> None:
        """Drop a failing consumer for good; `reason` None: it was never opened."""
        key = id(consumer)
        self._active.pop(key, None)
        self._fanout = tuple(self._active.values())
        self._wanted.pop(key, None)
        with self._lock:
            self._registered.pop(key, None)
        if reason is not None:
            _close(self.name, consumer, reason)

    def _close_consumers(self, reason: str) -> None:
        active, self._active, self._fanout = self._active, {}, ()
        for consumer in active.values():
            _close(self.name, consumer, reason)


def _close(name: str, consumer: PacketConsumer, reason: str) -> None:
    try:
        consumer.on_close(reason)
    except Exception:
        _LOGGER.exception("%s: consumer %r failed to close", name, consumer)
