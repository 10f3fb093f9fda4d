"""WebRTC viewers: offer/answer with aiortc, caps, and a watchdog that frees idle peers."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from nvr_hub.errors import BadRequest, Unavailable
from nvr_hub.services.settings import SettingsService
from nvr_hub.tasks import cancel_and_wait

from .feed import LiveFeed
from .ice import host_addresses, ice_servers
from .track import AudioRelayTrack, RelayTrack

_LOGGER = logging.getLogger(__name__)

# A peer that has not connected this long after its answer is given up.
CONNECT_TIMEOUT = 20.0
# A connected peer that sent no RTCP receiver report this long, while video flowed to
# it, is gone (closed tab, lost network); with the check period, freed within 20 s.
IDLE_TIMEOUT = 15.0
CHECK_INTERVAL = 5.0
_DEAD_STATES = frozenset({"failed", "closed"})


@dataclass(eq=False)
class PeerSession:
    """One viewer: its peer connection, its track, and what the watchdog knows of it."""

    id: str
    stream: str
    user: str
    pc: RTCPeerConnection
    track: RelayTrack
    sender: RTCRtpSender
    audio: AudioRelayTrack | None = None
    created: float = field(default_factory=time.monotonic)
    connected_at: float | None = None
    last_report: float | None = None  # monotonic time a new receiver report was seen
    report_stamp: datetime | None = None


def _codecs(kind: str, mime: str) -> list[RTCRtpCodecCapability]:
    return [
        codec
        for codec in RTCRtpSender.getCapabilities(kind).codecs
        if codec.mimeType.lower() == mime.lower()
    ]


class WebRtcService:
    """Answers offers for running H.264 streams; every viewer of a stream shares its feed."""

    def __init__(
        self,
        settings: SettingsService,
        feed_of: Callable[[str], LiveFeed | None],
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        check_interval: float = CHECK_INTERVAL,
    ) -> None:
        self._settings = settings
        self._feed_of = feed_of
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.check_interval = check_interval
        self._sessions: dict[str, PeerSession] = {}
        self._wake = asyncio.Event()
        self._watchdog: asyncio.Task[None] | None = None

    # -- queries -------------------------------------------------------------------------

    def count(self, stream: str | None = None) -> int:
        """Open peers, of one stream or in total."""
        if stream is None:
            return len(self._sessions)
        return sum(1 for s in self._sessions.values() if s.stream == stream)

    def session(self, session_id: str) -> PeerSession | None:
        """One open peer by id."""
        return self._sessions.get(session_id)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the watchdog."""
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        """Stop the watchdog and close every peer."""
        await cancel_and_wait(self._watchdog)
        self._watchdog = None
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(self._shut(s, "hub stopping") for s in sessions))

    # -- negotiation ---------------------------------------------------------------------

    async def answer(self, stream: str, offer: str, user: str) -> tuple[str, str]:
        """Negotiate one viewer of `stream`; returns (session id, SDP answer)."""
        feed = self._feed_of(stream)
        if feed is None:
            raise Unavailable(f"stream '{stream}' is not running")
        info = feed.info
        if info is not None and info.codec != "h264":
            raise Unavailable(
                f"stream '{stream}' sends {info.codec}; WebRTC relays H.264 only (use HLS)"
            )
        per_stream = int(self._settings.get("webrtc_max_peers_per_stream"))
        total = int(self._settings.get("webrtc_max_peers"))
        if self.count(stream) >= per_stream:
            raise Unavailable(f"stream '{stream}' already has {per_stream} WebRTC viewers")
        if self.count() >= total:
            raise Unavailable(f"the hub already serves {total} WebRTC viewers")
        config = RTCConfiguration(iceServers=ice_servers(self._settings.get("ice_servers")))
        pc = RTCPeerConnection(config)
        # Made before the offer is applied, so that the codec choice is H.264 only.
        transceiver: RTCRtpTransceiver = pc.addTransceiver("video", direction="sendonly")
        transceiver.setCodecPreferences(_codecs("video", "video/H264"))
        track = RelayTrack(feed)
        transceiver.sender.replaceTrack(track)
        session = PeerSession(
            secrets.token_urlsafe(16), stream, user, pc, track, transceiver.sender
        )
        audio_codec = feed.audio_codec
        audio: RTCRtpTransceiver | None = None
        # aiortc cannot answer with a transceiver the offer has no m-line for.
        if audio_codec is not None and "\nm=audio " in f"\n{offer}":
            audio = pc.addTransceiver("audio", direction="sendonly")
            audio.setCodecPreferences(_codecs("audio", audio_codec))
            session.audio = AudioRelayTrack(feed)
            audio.sender.replaceTrack(session.audio)
        self._sessions[session.id] = session  # holds the slot while negotiating
        pc.on("connectionstatechange", lambda: self._state_changed(session))
        try:
            await self._negotiate(session, offer)
            if (
                audio is not None
                and session.audio is not None
                and (audio.currentDirection not in ("sendonly", "sendrecv"))
            ):
                session.audio.stop()  # the offer wants no audio: convert none for it
        except BaseException:
            self._sessions.pop(session.id, None)
            await self._shut(session, "negotiation failed")
            raise
        _LOGGER.info("WebRTC viewer %s of %s (%s) negotiated", session.id, stream, user)
        return session.id, pc.localDescription.sdp

    async def _negotiate(self, session: PeerSession, offer: str) -> None:
        pc = session.pc
        with host_addresses(self._settings.get("webrtc_host_addresses")):
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            except Exception as err:
                raise BadRequest(f"unusable SDP offer: {_reason(err)}") from err
            if not any(t.kind == "video" and t.mid is not None for t in pc.getTransceivers()):
                raise BadRequest("unusable SDP offer: it asks for no video")
            await pc.setLocalDescription(await pc.createAnswer())

    async def close(self, session_id: str, reason: str = "closed by the client") -> bool:
        """Close one peer; False if there is no such session."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        await self._shut(session, reason)
        return True

    async def _shut(self, session: PeerSession, reason: str) -> None:
        session.track.stop()
        if session.audio is not None:
            session.audio.stop()
        try:
            await session.pc.close()
        except Exception:
            _LOGGER.exception("Closing WebRTC peer %s failed", session.id)
        _LOGGER.info("WebRTC viewer %s of %s closed: %s", session.id, session.stream, reason)

    # -- watchdog ------------------------------------------------------------------------

    def _state_changed(self, session: PeerSession) -> None:
        state = session.pc.connectionState
        if state == "connected" and session.connected_at is None:
            session.connected_at = time.monotonic()
        if state in _DEAD_STATES:
            self._wake.set()

    async def _watch(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.check_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._sweep()
            except Exception:
                _LOGGER.exception("WebRTC watchdog failed")

    async def _sweep(self) -> None:
        now = time.monotonic()
        for session in list(self._sessions.values()):
            reason = await self._why_dead(session, now)
            if reason is not None and self._sessions.pop(session.id, None) is session:
                await self._shut(session, reason)

    async def _why_dead(self, session: PeerSession, now: float) -> str | None:
        state = session.pc.connectionState
        if state in _DEAD_STATES:
            return f"connection {state}"
        if self._feed_of(session.stream) is None:
            return "the stream stopped"
        if session.connected_at is None:
            if now - session.created > self.connect_timeout:
                return "never connected"
            return None
        stats = await session.sender.getStats()
        for stat in stats.values():
            if stat.type == "remote-inbound-rtp" and stat.timestamp != session.report_stamp:
                session.report_stamp, session.last_report = stat.timestamp, now
        heard = session.last_report or session.connected_at
        sent = session.track.last_sent
        if now - heard > self.idle_timeout and sent is not None and sent > heard + 1.0:
            return f"no receiver report for {now - heard:.0f} s"
        return None


def _reason(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]
