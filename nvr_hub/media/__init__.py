"""The media path: camera connections, packet fan-out, recording, the demo camera."""

from .consumer import PacketConsumer, StreamInfo, StreamStatus
from .logs import describe_error, quiet_libav_logging, redact_text, redact_url
from .probe import SegmentProbe, probe_segment
from .recorder import SegmentInfo, SegmentRecorder, fs_safe_name, segment_path
from .source import PROTOCOL_TCP, PROTOCOL_UDP, SourceError, SourceStats, StreamSource
from .timestamps import TimestampRepair

__all__ = [
    "PROTOCOL_TCP",
    "PROTOCOL_UDP",
    "PacketConsumer",
    "SegmentInfo",
    "SegmentProbe",
    "SegmentRecorder",
    "SourceError",
    "SourceStats",
    "StreamInfo",
    "StreamSource",
    "StreamStatus",
    "TimestampRepair",
    "describe_error",
    "fs_safe_name",
    "probe_segment",
    "quiet_libav_logging",
    "redact_text",
    "redact_url",
    "segment_path",
]
