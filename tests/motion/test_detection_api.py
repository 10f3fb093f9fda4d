"""The `api` backend against a detector server speaking LightNVR's protocol on 127.0.0.1."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from aiohttp import web

from nvr_hub.bus import MotionStarted, ObjectDetected
from tests.conftest import Hub
from tests.motion.helpers import add_stream, record_bus, rect, wait_for

DEMO = "demo://d?width=320&height=240&fps=10"
PERSON = {"label": "person", "confidence": 0.9,
          "bounding_box": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.4, "y_max": 0.8}}  # fmt: skip
CAT = {"label": "cat", "confidence": 0.3,  # under the left zone's confidence floor
       "bounding_box": {"x_min": 0.2, "y_min": 0.5, "x_max": 0.3, "y_max": 0.6}}  # fmt: skip
CAR = {"label": "car", "confidence": 0.8,  # the right zone lets only people through
       "bounding_box": {"x_min": 0.6, "y_min": 0.1, "x_max": 0.9, "y_max": 0.4}}  # fmt: skip
ZONES = [
    rect(0.0, 0.0, 0.5, 1.0, id="left", min_confidence=0.5),
    rect(0.5, 0.0, 1.0, 1.0, id="right", filter_classes=["person"]),
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_api_detections_are_filtered_stored_and_mark_recordings(
    hub: Hub, aiohttp_server: Any
) -> None:
    requests: list[dict[str, Any]] = []

    async def detect(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        data = upload.file.read()
        requests.append({"query": dict(request.query), "type": upload.content_type, "data": data})
        return web.json_response({"detections": [PERSON, CAT, CAR]})

    app = web.Application()
    app.router.add_post("/detect", detect)
    server = await aiohttp_server(app, host="127.0.0.1")
    await hub.login()
    log, unsubscribe = await record_bus(hub)
    common = {"url": DEMO, "segment_duration": 5, "detection_threshold": 0.25}
    await add_stream(
        hub,
        {**common, "name": "D", "detection_model": "api", "detection_interval": 5,
         "detection_api_url": str(server.make_url("/detect"))},
        ZONES,
    )  # fmt: skip
    # E's detector is gone: recording must go on as if nothing happened.
    dead = f"http://127.0.0.1:{closed_port()}/detect"
    await add_stream(hub, {**common, "name": "E", "detection_model": dead}, [])

    async def stored() -> list[dict[str, Any]]:
        body = await (await hub.client.get("/api/detection/results/D")).json()
        return list(body["detections"])

    detections = await wait_for(stored, 10, "D's detections")
    assert {d["label"] for d in detections} == {"person"}
    det = detections[0]
    assert det["zone_id"] == "left" and det["confidence"] == 0.9
    assert (det["x"], det["y"], det["width"], det["height"]) == (0.1, 0.2, 0.3, 0.6)
    first = requests[0]
    assert first["type"] == "image/jpeg" and first["data"][:2] == b"\xff\xd8"
    assert first["query"]["confidence_threshold"] == "0.25"
    started = log.of(MotionStarted, "D")
    objects = log.of(ObjectDetected, "D")
    assert started and {o.label for o in objects} == {"person"}
    assert objects[0].box == pytest.approx((0.1, 0.2, 0.3, 0.6))

    # The continuous segments holding detections are marked; E's are complete and plain.
    async def segments() -> dict[str, list[dict[str, Any]]]:
        out = {}
        for name in ("D", "E"):
            body = await (await hub.client.get(f"/api/recordings?stream={name}")).json()
            out[name] = [r for r in body["recordings"] if r["is_complete"]]
        return out if out["D"] and out["E"] else {}

    done = await wait_for(segments, 12, "a finished segment on each stream")
    assert done["D"][0]["has_detection"] and done["D"][0]["capture_method"] == "continuous"
    assert not done["E"][0]["has_detection"] and 5 <= done["E"][0]["duration"] <= 8
    stats = await (await hub.client.get("/api/motion/stats/E")).json()
    assert stats["analysis"]["detector_errors"] >= 1 and stats["total_events"] == 0
    assert stats["analysis"]["model"] == "api"
    ok = await (await hub.client.get("/api/motion/stats/D")).json()
    assert ok["analysis"]["detector_requests"] >= 2 and ok["total_events"] == 1

    models = await (await hub.client.get("/api/detection/models")).json()
    assert {m["name"] for m in models["models"]} == {"motion", "api"} and models["count"] == 2
    await unsubscribe()
