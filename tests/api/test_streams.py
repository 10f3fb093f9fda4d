"""The streams API: CRUD, validation, masking, retention and zones."""

from __future__ import annotations

from urllib.parse import quote

from nvr_hub.stream_fields import STREAM_FIELDS
from tests.conftest import Hub

DOCUMENTED_KEYS = {
    "id",
    "name",
    "url",
    "enabled",
    "streaming_enabled",
    "width",
    "height",
    "fps",
    "codec",
    "priority",
    "record",
    "segment_duration",
    "protocol",
    "record_audio",
    "detection_based_recording",
    "detection_model",
    "detection_threshold",
    "detection_interval",
    "pre_detection_buffer",
    "post_detection_buffer",
    "detection_api_url",
    "is_onvif",
    "onvif_username",
    "onvif_password",
    "onvif_profile",
    "ptz_enabled",
    "backchannel_enabled",
    "buffer_strategy",
    "retention_days",
    "status",
}
CAM = {
    "name": "Front Door",
    "url": "rtsp://cam:s3cret@192.0.2.10:554/stream1",
    "enabled": False,
    "width": 1920,
    "height": 1080,
    "fps": 15,
    "codec": "h264",
    "priority": 10,
    "record": True,
    "onvif_username": "cam",
    "onvif_password": "onvif-secret",
}


async def test_add_get_list_with_every_documented_key(hub: Hub) -> None:
    await hub.login()
    resp = await hub.client.post("/api/streams", json=CAM)
    assert resp.status == 201
    created = await resp.json()
    assert set(created) >= DOCUMENTED_KEYS
    assert created["status"] == "disabled"
    assert created["segment_duration"] == STREAM_FIELDS["segment_duration"][1]

    # The name appears URL-encoded in paths.
    resp = await hub.client.get("/api/streams/" + quote("Front Door"))
    got = await resp.json()
    assert resp.status == 200 and got["width"] == 1920 and got["priority"] == 10
    assert got["url"] == CAM["url"]  # admins see the credentials on a single stream

    listed = (await (await hub.client.get("/api/streams")).json())["streams"]
    assert len(listed) == 1
    assert listed[0]["url"] == "rtsp://cam:********@192.0.2.10:554/stream1"
    assert listed[0]["onvif_password"] == "********"
    assert set(listed[0]) >= DOCUMENTED_KEYS

    full = await (await hub.client.get("/api/streams/Front%20Door/full")).json()
    assert full["zones"] == [] and "stats" in full


async def test_viewer_never_sees_camera_credentials(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json=CAM)
    await hub.add_user("vera", "viewer", "vera-pass-1")
    hub.client.session.cookie_jar.clear()
    await hub.login("vera", "vera-pass-1")
    for path in ("/api/streams/Front%20Door", "/api/streams/Front%20Door/full"):
        body = await (await hub.client.get(path)).json()
        assert "s3cret" not in body["url"] and body["onvif_password"] == "********"


async def test_duplicate_missing_and_invalid_fields(hub: Hub) -> None:
    await hub.login()
    assert (await hub.client.post("/api/streams", json=CAM)).status == 201
    resp = await hub.client.post("/api/streams", json=CAM)
    assert resp.status == 409 and "already exists" in (await resp.json())["error"]

    cases = [
        ({"url": "rtsp://h/s"}, "name"),
        ({"name": "x"}, "url"),
        ({"name": "x", "url": "file:///etc/passwd"}, "url"),
        ({"name": "x", "url": "rtsp://h/s", "colour": 1}, "colour"),
        ({"name": ".hidden", "url": "rtsp://h/s"}, "name"),
        ({"name": "a/b", "url": "rtsp://h/s"}, "name"),
        ({"name": "x" * 65, "url": "rtsp://h/s"}, "name"),
        ({"name": "x", "url": "rtsp://h/s", "detection_threshold": 1.5}, "detection_threshold"),
        ({"name": "x", "url": "rtsp://h/s", "protocol": 2}, "protocol"),
        ({"name": "x", "url": "rtsp://h/s", "fps": "15"}, "fps"),
        ({"name": "x", "url": "rtsp://h/s", "record": "yes"}, "record"),
    ]
    for body, field in cases:
        resp = await hub.client.post("/api/streams", json=body)
        assert resp.status == 400, body
        assert field in (await resp.json())["error"], body
    names = [s["name"] for s in (await (await hub.client.get("/api/streams")).json())["streams"]]
    assert names == ["Front Door"]


async def test_partial_update_keeps_masked_secrets(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json=CAM)
    listed = (await (await hub.client.get("/api/streams")).json())["streams"][0]
    # A UI sends back the masked object it got, with one change.
    listed["fps"] = 5
    resp = await hub.client.put("/api/streams/Front%20Door", json=listed)
    assert resp.status == 200
    got = await (await hub.client.get("/api/streams/Front%20Door")).json()
    assert got["fps"] == 5
    assert got["url"] == CAM["url"] and got["onvif_password"] == "onvif-secret"

    resp = await hub.client.put("/api/streams/Front%20Door", json={"priority": 0})
    assert resp.status == 400 and "priority" in (await resp.json())["error"]
    assert (await hub.client.put("/api/streams/nope", json={"fps": 1})).status == 404


async def test_rename_and_delete(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json=CAM)
    await hub.client.post("/api/streams", json={**CAM, "name": "Back"})
    resp = await hub.client.put("/api/streams/Back", json={"name": "Front Door"})
    assert resp.status == 409
    resp = await hub.client.put("/api/streams/Back", json={"name": "Garden"})
    assert resp.status == 200 and (await resp.json())["name"] == "Garden"
    assert (await hub.client.get("/api/streams/Back")).status == 404
    resp = await hub.client.delete("/api/streams/Garden")
    assert resp.status == 200 and (await resp.json())["success"] is True
    assert (await hub.client.get("/api/streams/Garden")).status == 404
    assert (await hub.client.delete("/api/streams/Garden")).status == 404


async def test_retention_roundtrip(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json=CAM)
    body = await (await hub.client.get("/api/streams/Front%20Door/retention")).json()
    assert body == {"retention_days": 0, "detection_retention_days": 0, "max_storage_mb": 0}
    resp = await hub.client.put(
        "/api/streams/Front%20Door/retention",
        json={"retention_days": 14, "detection_retention_days": 30, "max_storage_mb": 2048},
    )
    assert resp.status == 200
    body = await (await hub.client.get("/api/streams/Front%20Door/retention")).json()
    assert body == {"retention_days": 14, "detection_retention_days": 30, "max_storage_mb": 2048}
    resp = await hub.client.put("/api/streams/Front%20Door/retention", json={"retention_days": -2})
    assert resp.status == 400
    got = await (await hub.client.get("/api/streams/Front%20Door")).json()
    assert got["retention_days"] == 14


async def test_zones_replace_list_delete(hub: Hub) -> None:
    await hub.login()
    await hub.client.post("/api/streams", json=CAM)
    zones = {
        "zones": [
            {
                "name": "Driveway",
                "polygon": [{"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.1}, {"x": 0.5, "y": 0.9}],
                "filter_classes": ["person", "car"],
                "min_confidence": 0.6,
            },
            {
                "id": "porch",
                "name": "Porch",
                "enabled": False,
                "color": "#00ff00",
                "polygon": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}, {"x": 0, "y": 1}],
            },
        ]
    }
    resp = await hub.client.post("/api/streams/Front%20Door/zones", json=zones)
    assert resp.status == 200
    listed = (await (await hub.client.get("/api/streams/Front%20Door/zones")).json())["zones"]
    assert [z["id"] for z in listed] == ["zone_1", "porch"]
    assert listed[0]["filter_classes"] == ["person", "car"] and listed[0]["min_confidence"] == 0.6
    assert listed[1]["enabled"] is False and len(listed[1]["polygon"]) == 4

    bad = {
        "zones": [{"name": "x", "polygon": [{"x": 0, "y": 0}, {"x": 2, "y": 0}, {"x": 0, "y": 1}]}]
    }
    resp = await hub.client.post("/api/streams/Front%20Door/zones", json=bad)
    assert resp.status == 400 and "polygon" in (await resp.json())["error"]
    assert (
        len((await (await hub.client.get("/api/streams/Front%20Door/zones")).json())["zones"]) == 2
    )

    assert (await hub.client.delete("/api/streams/Front%20Door/zones")).status == 200
    assert (await (await hub.client.get("/api/streams/Front%20Door/zones")).json())["zones"] == []


async def test_stream_test_endpoint_reports_unreachable_camera(hub: Hub) -> None:
    await hub.login()
    resp = await hub.client.post("/api/streams/test", json={"url": "rtsp://127.0.0.1:1/none"})
    assert resp.status == 503
    assert "cannot open rtsp://127.0.0.1:1/none" in (await resp.json())["error"]
    resp = await hub.client.post("/api/streams/test", json={"url": "ftp://x/y"})
    assert resp.status == 400
