"""Live view: WebRTC (aiortc, H.264 passthrough) and live HLS from each stream's one connection."""

from .feed import LiveFeed, LiveFrame
from .hls import HlsSegmenter
from .hls_service import HlsService
from .ice import host_addresses
from .service import LiveService
from .track import RelayTrack
from .webrtc import WebRtcService

__all__ = [
    "HlsSegmenter",
    "HlsService",
    "LiveFeed",
    "LiveFrame",
    "LiveService",
    "RelayTrack",
    "WebRtcService",
    "host_addresses",
]
