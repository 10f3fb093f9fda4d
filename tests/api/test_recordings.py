"""The recordings and timeline API over real MP4 files: list, play, Range, protect, batch, files."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from nvr_hub import keys
from tests.clips import recording_row
from tests.conftest import Hub
from tests.polling import wait_until

T0 = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)


@pytest.fixture
async def recs(hub: Hub) -> list[int]:
    """Six recordings: four of 'door' at 60 s steps (one with detection), two of 'yard'."""
    root = hub.config.storage.recordings
    rows = [
        await asyncio.to_thread(
            recording_row, root, "door", T0 + timedelta(seconds=60 * i), has_detection=(i == 2)
        )
        for i in range(4)
    ] + [
        await asyncio.to_thread(recording_row, root, "yard", T0 + timedelta(hours=i))
        for i in range(2)
    ]
    async with hub.app[keys.SESSIONS]() as s, s.begin():
        s.add_all(rows)
    await hub.login()
    return [r.id for r in rows]


async def test_list_filter_sort_paginate(hub: Hub, recs: list[int]) -> None:
    body = await (await hub.client.get("/api/recordings")).json()
    assert body["pagination"] == {"page": 1, "pages": 1, "total": 6, "limit": 20}
    first = body["recordings"][0]
    assert set(first) == {
        "id",
        "stream",
        "start_time",
        "end_time",
        "start_time_unix",
        "end_time_unix",
        "duration",
        "size_bytes",
        "width",
        "height",
        "codec",
        "capture_method",
        "has_detection",
        "protected",
        "retention_days",
        "is_complete",
    }
    assert first["stream"] == "yard" and first["start_time"] == "2026-11-20T09:00:00Z"

    body = await (
        await hub.client.get("/api/recordings?stream=door&limit=3&sort=start_time&order=asc")
    ).json()
    assert [r["start_time"][11:19] for r in body["recordings"]] == [
        "08:00:00",
        "08:01:00",
        "08:02:00",
    ]
    assert body["pagination"] == {"page": 1, "pages": 2, "total": 4, "limit": 3}
    page2 = await (
        await hub.client.get("/api/recordings?stream=door&limit=3&page=2&order=asc")
    ).json()
    assert [r["start_time"][11:19] for r in page2["recordings"]] == ["08:03:00"]

    body = await (await hub.client.get("/api/recordings?has_detection=true")).json()
    assert [r["id"] for r in body["recordings"]] == [recs[2]]
    body = await (
        await hub.client.get("/api/recordings?start=2026-11-20T08:30:00Z&end=2026-11-20T10:00:00Z")
    ).json()
    assert [r["stream"] for r in body["recordings"]] == ["yard"]
    resp = await hub.client.get("/api/recordings?sort=path")
    assert resp.status == 400 and "sort" in (await resp.json())["error"]
    assert "path" not in first and "/" not in str(first.get("stream"))


async def test_play_ranges_etag_and_download(hub: Hub, recs: list[int]) -> None:
    resp = await hub.client.get(f"/api/recordings/play/{recs[0]}")
    assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
    data = await resp.read()
    etag = resp.headers["ETag"]
    assert data[4:8] == b"ftyp"

    resp = await hub.client.get(f"/api/recordings/play/{recs[0]}", headers={"Range": "bytes=0-99"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert await resp.read() == data[:100]
    resp = await hub.client.get(
        f"/api/recordings/play/{recs[0]}", headers={"Range": f"bytes={len(data) + 10}-"}
    )
    assert resp.status == 416
    resp = await hub.client.get(f"/api/recordings/play/{recs[0]}", headers={"If-None-Match": etag})
    assert resp.status == 304

    resp = await hub.client.get(f"/api/recordings/download/{recs[0]}")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="door_20261120T080000Z.mp4"'
    assert await resp.read() == data
    assert (await hub.client.get("/api/recordings/play/999999")).status == 404


async def test_protect_delete_and_force(hub: Hub, recs: list[int]) -> None:
    resp = await hub.client.put(f"/api/recordings/{recs[0]}/protect", json={"protected": True})
    assert resp.status == 200 and (await resp.json())["protected"] is True
    resp = await hub.client.delete(f"/api/recordings/{recs[0]}")
    assert resp.status == 409
    path = hub.config.storage.recordings / "door/2026/11/20/080000.mp4"
    assert await asyncio.to_thread(path.exists)
    prot = await (await hub.client.get("/api/recordings/protected")).json()
    assert prot["count"] == 1 and prot["recordings"][0]["id"] == recs[0]

    resp = await hub.client.delete(f"/api/recordings/{recs[0]}?force=true")
    assert resp.status == 200 and not await asyncio.to_thread(path.exists)
    assert (await hub.client.get(f"/api/recordings/{recs[0]}")).status == 404

    resp = await hub.client.delete(f"/api/recordings/{recs[1]}")
    assert resp.status == 200
    gone = hub.config.storage.recordings / "door/2026/11/20/080100.mp4"
    assert not await asyncio.to_thread(gone.exists)


async def test_retention_override(hub: Hub, recs: list[int]) -> None:
    resp = await hub.client.put(f"/api/recordings/{recs[0]}/retention", json={"retention_days": 90})
    assert (await resp.json())["retention_days"] == 90
    resp = await hub.client.put(f"/api/recordings/{recs[0]}/retention", json={"retention_days": -1})
    assert (await resp.json())["retention_days"] is None
    resp = await hub.client.put(
        f"/api/recordings/{recs[0]}/retention", json={"retention_days": "x"}
    )
    assert resp.status == 400


async def _finished_job(hub: Hub, job_id: str) -> dict[str, object]:
    async def done() -> dict[str, object] | None:
        url = f"/api/recordings/batch-delete/progress/{job_id}"
        progress: dict[str, object] = await (await hub.client.get(url)).json()
        return progress if progress["complete"] else None

    result: dict[str, object] = await wait_until(done, 5, "the batch job to finish")
    return result


async def test_batch_protect_and_batch_delete_with_progress(hub: Hub, recs: list[int]) -> None:
    resp = await hub.client.post(
        "/api/recordings/batch-protect", json={"ids": [recs[0], 999999], "protected": True}
    )
    assert await resp.json() == {"success_count": 1, "fail_count": 1}

    resp = await hub.client.post("/api/recordings/batch-delete", json={"ids": recs[:3]})
    assert resp.status == 202
    job_id = (await resp.json())["job_id"]
    progress = await _finished_job(hub, job_id)
    assert progress == {
        "job_id": job_id,
        "status": "complete",
        "total": 3,
        "current": 3,
        "succeeded": 2,
        "failed": 1,
        "complete": True,
    }
    left = await (await hub.client.get("/api/recordings?stream=door")).json()
    assert sorted(r["id"] for r in left["recordings"]) == sorted([recs[0], recs[3]])

    resp = await hub.client.post(
        "/api/recordings/batch-delete", json={"filter": {"stream": "yard"}}
    )
    job_id = (await resp.json())["job_id"]
    progress = await _finished_job(hub, job_id)
    assert progress["succeeded"] == 2
    assert (await (await hub.client.get("/api/recordings?stream=yard")).json())["recordings"] == []
    assert (await hub.client.post("/api/recordings/batch-delete", json={})).status == 400
    assert (await hub.client.get("/api/recordings/batch-delete/progress/nope")).status == 404


async def test_files_check_and_delete_confined_to_root(
    hub: Hub, recs: list[int], tmp_path: Path
) -> None:
    body = await (await hub.client.get(f"/api/recordings/files/check?id={recs[0]}")).json()
    assert body["exists"] is True and body["path"] == "door/2026/11/20/080000.mp4"
    body = await (
        await hub.client.get("/api/recordings/files/check?path=door/2026/11/20/080100.mp4")
    ).json()
    assert body["exists"] is True and body["recording_id"] == recs[1]

    secret = tmp_path / "hub.db"  # the SQLite database sits two levels above the root
    for trick in ("../../hub.db", "/etc/passwd", "door/../../../hub.db", "..", "door/\x00x"):
        resp = await hub.client.get("/api/recordings/files/check", params={"path": trick})
        assert resp.status == 400, trick
        resp = await hub.client.delete("/api/recordings/files", params={"path": trick})
        assert resp.status == 400, trick
    if hub.config.database_url.startswith("sqlite"):
        assert await asyncio.to_thread(secret.exists)

    resp = await hub.client.delete(
        "/api/recordings/files", params={"path": "door/2026/11/20/080100.mp4"}
    )
    assert resp.status == 200
    assert (await hub.client.get(f"/api/recordings/{recs[1]}")).status == 404


async def test_timeline_segments_manifest_and_play(hub: Hub, recs: list[int]) -> None:
    body = await (
        await hub.client.get("/api/timeline/segments?stream=door&start=2026-11-20")
    ).json()
    assert body["stream"] == "door" and body["start_time"] == "2026-11-20T00:00:00Z"
    assert body["end_time"] == "2026-11-21T00:00:00Z"
    assert [s["id"] for s in body["segments"]] == recs[:4]
    assert [s["has_detection"] for s in body["segments"]] == [False, False, True, False]

    resp = await hub.client.get("/api/timeline/manifest?stream=door&start=2026-11-20")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    text = await resp.text()
    assert text.startswith("#EXTM3U") and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert text.count("#EXTINF:2.000,") == 4 and text.count("#EXT-X-DISCONTINUITY") == 3

    resp = await hub.client.get("/api/timeline/play?stream=door&time=2026-11-20T08:02:01.5Z")
    assert resp.status == 200
    assert resp.headers["X-Recording-Id"] == str(recs[2])
    assert resp.headers["X-Start-Offset"] == "1.500"
    assert (
        await hub.client.get("/api/timeline/play?stream=door&time=2026-11-20T12:00:00Z")
    ).status == 404
    assert (await hub.client.get("/api/timeline/segments")).status == 400


async def test_manifest_plays_as_one_video(hub: Hub, recs: list[int]) -> None:
    """ffmpeg's HLS demuxer (through PyAV) plays the four segments back to back."""
    key = await hub.api_key(1)
    url = str(hub.client.make_url("/api/timeline/manifest?stream=door&start=2026-11-20"))

    def demux() -> tuple[int, int]:
        opts = {
            "headers": f"X-API-Key: {key}\r\n",
            "http_persistent": "0",
        }
        with av.open(url, format="hls", options=opts, timeout=20) as container:
            packets = keyframes = 0
            for packet in container.demux(video=0):
                if packet.size:
                    packets += 1
                    keyframes += bool(packet.is_keyframe)
            return packets, keyframes

    packets, keyframes = await asyncio.to_thread(demux)
    # Every frame of the four 2 s clips at 10 fps, each clip starting on its keyframes.
    assert (packets, keyframes) == (4 * 20, 4 * 2)


# four 2 s clips at 10 fps
