"""The seam between a stream source and what it feeds: stream info, consumers, statuses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from av.audio.stream import AudioStream
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream


class StreamStatus(StrEnum):
    """What a stream source reports through its `on_status` callback."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"
    DISABLED = "disabled"


@dataclass(frozen=True, eq=False)
class StreamInfo:
    """What one connection to a camera carries; the streams serve as output templates."""

    name: str
    codec: str
    width: int
    height: int
    fps: float | None
    audio_codec: str | None
    audio_sample_rate: int | None
    # For `OutputContainer.add_stream_from_template`; packets' `.stream` is one of these.
    video_stream: VideoStream
    audio_stream: AudioStream | None

    @classmethod
    def from_streams(
        cls, name: str, video: VideoStream, audio: AudioStream | None = None
    ) -> StreamInfo:
        """Describe a video (and optional audio) stream of an open input."""
        ctx = video.codec_context
        rate = video.average_rate or video.guessed_rate or video.base_rate
        return cls(
            name=name,
            codec=ctx.codec.canonical_name,  # "h264" also for an encoder (libx264)
            width=ctx.width,
            height=ctx.height,
            fps=float(rate) if rate else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_sample_rate=audio.codec_context.sample_rate if audio is not None else None,
            video_stream=video,
            audio_stream=audio,
        )


class PacketConsumer(Protocol):
    """Receives one source's packets; all three calls come from the source's thread.

    A consumer gets `on_open` right before its first packet, which is always a video
    keyframe; then packets with repaired timestamps (dts and pts set, dts strictly
    increasing per stream, pts >= dts); then `on_close` once the connection ends or
    the consumer is removed. Packets are shared by every consumer: treat them as
    read-only (copy before changing timestamps or the stream). A consumer that
    raises is logged and removed; it never stops the source.
    """

    def on_open(self, info: StreamInfo) -> None:
        """Start of a connection (or of this consumer's part in it)."""

    def on_packet(self, packet: Packet[Stream]) -> None:
        """One demuxed video or audio packet."""

    def on_close(self, reason: str) -> None:
        """End of the connection, or this consumer was removed; `reason` says which."""
