"""A pytest plugin: a test that leaves a camera or motion thread running fails.

A leaked `StreamSource` keeps its camera connected (and recording somewhere) after its
owner is gone; in the hub that is a second RTSP session per camera. The threads are
daemons so that a leak can never hang the process at exit, which is also why nothing
else would notice one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# Thread names of the media path (StreamSource, AnalysisWorker).
WATCHED = ("stream-", "motion-")
# Owners stop their threads on teardown; a blocked read ends within the socket timeout.
GRACE_SECONDS = 6.0


def _watched(exclude: set[int]) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith(WATCHED) and t.ident not in exclude and t.is_alive()
    ]


@pytest.fixture(autouse=True)
def no_leaked_media_threads() -> Iterator[None]:
    """Fail the test if it leaves a media thread alive after its own teardown."""
    before = {t.ident for t in threading.enumerate() if t.ident is not None}
    yield
    deadline = time.monotonic() + GRACE_SECONDS
    leaked = _watched(before)
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = _watched(before)
    assert not leaked, f"threads left running: {sorted(t.name for t in leaked)}"
