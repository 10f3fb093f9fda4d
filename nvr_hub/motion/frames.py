"""Decoding for analysis: a private decoder per stream, small grey frames, JPEGs."""

from __future__ import annotations

from typing import cast

import av
import numpy as np
from av.video.frame import VideoFrame

from nvr_hub.media import StreamInfo
from nvr_hub.media.keyframes import encode_jpeg

from .analyzer import Gray

ANALYSIS_WIDTH = 160  # pixels across the grey frame motion is computed on
MAX_DETECTION_WIDTH = 640  # object detectors resize to about this anyway


def make_decoder(info: StreamInfo, *, fast: bool) -> av.VideoCodecContext:
    """A single-threaded decoder for the stream; `fast` trades picture quality for CPU."""
    decoder = av.CodecContext.create(info.codec, "r")
    assert isinstance(decoder, av.VideoCodecContext)
    extradata = info.video_stream.codec_context.extradata
    if extradata:
        decoder.extradata = extradata
    # One thread per decoder: tens of cameras must not each start a thread per core.
    decoder.thread_count = 1
    if fast:
        # The deblocking filter only smooths block edges; a 160 px grey thumbnail
        # cannot tell, and it is a fifth of H.264's decoding time.
        decoder.options = {"skip_loop_filter": "all"}
    return decoder


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """The grey frame's size: ANALYSIS_WIDTH across, the stream's aspect, even height."""
    if width <= 0 or height <= 0:
        return ANALYSIS_WIDTH, ANALYSIS_WIDTH * 9 // 16
    w = min(ANALYSIS_WIDTH, width)
    return w, max(2, round(w * height / width / 2) * 2)


def to_gray(frame: VideoFrame, size: tuple[int, int]) -> Gray:
    """Downscale with area averaging (it also averages sensor noise away) to 8-bit grey."""
    small = frame.reformat(width=size[0], height=size[1], format="gray", interpolation="AREA")
    gray = small.to_ndarray()
    assert gray.dtype == np.uint8
    return cast(Gray, gray)


def to_jpeg(frame: VideoFrame, max_width: int = MAX_DETECTION_WIDTH) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height) of a frame scaled down to at most `max_width`."""
    width, height = frame.width, frame.height
    if width > max_width:
        height = max(2, round(height * max_width / width / 2) * 2)
        width = max_width
    return encode_jpeg(frame, width, height), width, height
