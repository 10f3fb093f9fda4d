"""Audio for WebRTC: G.711 passed through, anything else (AAC) transcoded once to Opus."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
from av.audio.codeccontext import AudioCodecContext
from av.audio.frame import AudioFrame
from av.packet import Packet
from av.stream import Stream

from nvr_hub.media import StreamInfo

_LOGGER = logging.getLogger(__name__)

# Cameras' G.711 is what WebRTC calls PCMU/PCMA: RTP takes it as it is.
PASSTHROUGH = {"pcm_mulaw": "audio/PCMU", "pcm_alaw": "audio/PCMA"}
OPUS = "audio/opus"
OPUS_RATE = 48_000
OPUS_FRAME = 960  # 20 ms


def webrtc_audio_codec(info: StreamInfo) -> str | None:
    """The WebRTC codec a stream's audio goes out as (None: no audio)."""
    if info.audio_stream is None or info.audio_codec is None:
        return None
    if info.audio_codec in PASSTHROUGH and info.audio_sample_rate == 8000:
        return PASSTHROUGH[info.audio_codec]
    return OPUS


class AudioConverter:
    """Turns one connection's audio packets into RTP-ready packets (camera thread).

    Transcoding happens once per stream, whatever the number of viewers; each output
    packet's `pts` counts samples, from `start` (where the last connection ended).
    """

    def __init__(self, info: StreamInfo, start: int = 0) -> None:
        assert info.audio_stream is not None
        self.mime = webrtc_audio_codec(info)
        self._decoder: AudioCodecContext | None = None
        self._encoder: AudioCodecContext | None = None
        self._resampler: av.AudioResampler | None = None
        self.samples = start  # the next output packet's pts
        if self.mime != OPUS:
            return
        source = info.audio_stream.codec_context
        decoder = av.CodecContext.create(source.name, "r")
        assert isinstance(decoder, AudioCodecContext)
        if source.extradata:
            decoder.extradata = source.extradata
        decoder.sample_rate, decoder.layout = source.sample_rate, source.layout
        encoder = av.CodecContext.create("libopus", "w")
        assert isinstance(encoder, AudioCodecContext)
        encoder.sample_rate, encoder.layout, encoder.format = OPUS_RATE, "stereo", "s16"
        encoder.time_base = Fraction(1, OPUS_RATE)
        encoder.bit_rate = 48_000
        encoder.open()
        self._decoder, self._encoder = decoder, encoder
        self._resampler = av.AudioResampler(
            format="s16", layout="stereo", rate=OPUS_RATE, frame_size=OPUS_FRAME
        )

    def convert(self, packet: Packet[Stream]) -> list[Packet[Stream]]:
        """Zero or more packets to send (a copy for passthrough; Opus otherwise)."""
        if self._decoder is None:
            out = av.Packet(bytes(packet))
            out.pts = out.dts = self.samples
            out.time_base = Fraction(1, 8000)
            self.samples += len(bytes(packet))  # one byte per G.711 sample
            return [out]
        assert self._encoder is not None and self._resampler is not None
        copy = av.Packet(bytes(packet))  # decoding must not touch the shared packet
        result: list[Packet[Stream]] = []
        for frame in self._decoder.decode(copy):
            assert isinstance(frame, AudioFrame)
            frame.pts = None
            for chunk in self._resampler.resample(frame):
                chunk.pts, chunk.time_base = self.samples, Fraction(1, OPUS_RATE)
                self.samples += chunk.samples
                result += self._encoder.encode(chunk)
        return result
