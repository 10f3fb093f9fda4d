"""The recording pipeline end to end with the built-in demo camera: API → pipeline → files."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import av

from nvr_hub import keys
from nvr_hub.bus import RecordingFinished, RecordingStarted, StreamStatusChanged
from tests.conftest import Hub
from tests.polling import wait_until

DEMO = {"name": "demo", "url": "demo://t?width=320&height=240&fps=10", "segment_duration": 5}


def _count_frames(path: Path) -> int:
    # Decoding blocks: in a thread, so the hub on this loop keeps running.
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


async def _wait(predicate: Any, within: float) -> Any:
    return await wait_until(predicate, within, step=0.1)


async def test_demo_stream_records_gapless_segments_and_snapshots(hub: Hub) -> None:
    events: list[object] = []
    unsubscribe = hub.app[keys.BUS].subscribe(
        (StreamStatusChanged, RecordingStarted, RecordingFinished), events.append
    )
    await hub.login()
    added = time.monotonic()
    assert (await hub.client.post("/api/streams", json=DEMO)).status == 201

    async def connected() -> bool:
        body = await (await hub.client.get("/api/streams/demo")).json()
        return bool(body["status"] == "connected")

    await _wait(connected, 5)
    assert time.monotonic() - added < 3

    async def complete_rows() -> list[dict[str, Any]]:
        body = await (await hub.client.get("/api/recordings?stream=demo&order=asc")).json()
        done = [r for r in body["recordings"] if r["is_complete"]]
        return done if len(done) >= 2 else []

    rows = await _wait(complete_rows, 25)
    # The stream object now reflects what the camera sends.
    got = await (await hub.client.get("/api/streams/demo")).json()
    assert (got["width"], got["height"], got["codec"]) == (320, 240, "h264")

    root = hub.config.storage.recordings
    for row in rows[:2]:
        assert row["codec"] == "h264" and row["width"] == 320 and row["size_bytes"] > 0
        assert 5 <= row["duration"] <= 8
        rel = (await (await hub.client.get(f"/api/recordings/files/check?id={row['id']}")).json())[
            "path"
        ]
        frames = await asyncio.to_thread(_count_frames, root / rel)
        assert abs(frames - row["duration"] * 10) <= 1
    # Consecutive segments abut: the next starts where the previous ended (±1 frame).
    gap = rows[1]["start_time_unix"] - rows[0]["end_time_unix"]
    assert abs(gap) <= 1

    resp = await hub.client.get("/api/streams/demo/snapshot.jpg?h=120")
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    jpeg = await resp.read()
    assert jpeg[:2] == b"\xff\xd8"

    kinds = {type(e).__name__ for e in events}
    assert {"StreamStatusChanged", "RecordingStarted", "RecordingFinished"} <= kinds
    await unsubscribe()


async def test_disable_and_delete_stop_the_pipeline_quickly(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json=DEMO)
    pipelines = hub.app[keys.PIPELINES]

    async def running() -> bool:
        return pipelines.source("demo") is not None and pipelines.stats("demo")["packets"] > 0

    await _wait(running, 5)
    started = time.monotonic()
    resp = await hub.client.put("/api/streams/demo", json={"enabled": False})
    assert (await resp.json())["status"] == "disabled"

    async def stopped() -> bool:
        return pipelines.source("demo") is None

    await _wait(stopped, 2)
    assert time.monotonic() - started < 2
    # The segment in progress was finished, not lost.
    body = await (await hub.client.get("/api/recordings?stream=demo")).json()
    assert body["recordings"] and all(r["is_complete"] for r in body["recordings"])

    await hub.client.put("/api/streams/demo", json={"enabled": True})
    await _wait(running, 5)
    assert (await hub.client.delete("/api/streams/demo")).status == 200
    await _wait(stopped, 2)
    assert (await hub.client.get("/api/streams/demo/snapshot.jpg")).status == 404


async def test_editing_a_stream_while_recording_restarts_its_pipeline(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json={**DEMO, "segment_duration": 300})
    pipelines = hub.app[keys.PIPELINES]

    async def recording() -> bool:
        return bool(pipelines.stats("demo").get("recording"))

    await _wait(recording, 8)
    first = pipelines.source("demo")
    resp = await hub.client.put("/api/streams/demo", json={"segment_duration": 5})
    assert resp.status == 200 and (await resp.json())["segment_duration"] == 5

    async def restarted() -> bool:
        source = pipelines.source("demo")
        return source is not None and source is not first and await recording()

    await _wait(restarted, 8)

    async def two_rows() -> list[dict[str, Any]]:
        body = await (await hub.client.get("/api/recordings?stream=demo&order=asc")).json()
        rows = body["recordings"]
        return rows if len(rows) >= 2 else []

    rows = await _wait(two_rows, 8)
    # The 300 s segment was closed cleanly at the edit; the next one uses the new length.
    assert rows[0]["is_complete"] is True and rows[0]["duration"] < 30
    assert rows[0]["size_bytes"] > 0
    # A change the pipeline does not depend on does not reconnect the camera.
    source = pipelines.source("demo")
    await hub.client.put("/api/streams/demo", json={"priority": 9})
    await asyncio.sleep(0.5)
    assert pipelines.source("demo") is source
