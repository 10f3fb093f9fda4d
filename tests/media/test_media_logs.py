"""Credentials never reach a log line; libav speaks only when the hub debugs."""

from __future__ import annotations

import logging

import av
import pytest

from nvr_hub.media import describe_error, quiet_libav_logging, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/live", "rtsp://admin:***@10.0.0.5:554/live"),
        ("rtsp://admin:p@ss:w@rd@cam/x", "rtsp://admin:***@cam/x"),
        ("rtsp://admin@cam/x", "rtsp://admin@cam/x"),
        ("rtsp://cam/x?user=a&password=b", "rtsp://cam/x?user=a&password=***"),
        ("rtsp://[::1]:8554/s", "rtsp://[::1]:8554/s"),
        ("demo://front?fps=5", "demo://front?fps=5"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_and_errors() -> None:
    assert redact_text("failed rtsp://u:pw@h/s: refused") == "failed rtsp://u:***@h/s: refused"
    with pytest.raises(av.FFmpegError) as caught:
        av.open("rtsp://user:topsecret@127.0.0.1:1/x", timeout=2)
    assert "topsecret" in str(caught.value)  # which is why describe_error exists
    described = describe_error(caught.value)
    assert "topsecret" not in described and "ConnectionRefusedError" in described


def test_libav_errors_reach_the_log_only_when_debugging(caplog: pytest.LogCaptureFixture) -> None:
    # Off by default: PyAV's log hook would take the GIL for each of libav's per-packet
    # trace calls, whatever the level (bench/README.md, "Recording").
    def refused() -> list[str]:
        caplog.clear()
        with pytest.raises(av.FFmpegError):
            av.open("rtsp://127.0.0.1:1/x", timeout=2)  # nothing listens on port 1
        return [r.getMessage() for r in caplog.records if r.name.startswith("libav")]

    try:
        with caplog.at_level(logging.DEBUG, logger="libav"):
            quiet_libav_logging()
            assert refused() == []
            quiet_libav_logging(verbose=True)
            assert any("Connection refused" in message for message in refused())
    finally:
        quiet_libav_logging()
