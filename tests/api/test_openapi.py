"""`GET /api/openapi.json`: a complete, well-formed OpenAPI 3.1 description of what is served."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import StaticResource

from tests.conftest import Hub

# Every key of the stream object in lightnvr-api.md ("List Streams").
DOCUMENTED_STREAM_KEYS = {
    "id", "name", "url", "enabled", "streaming_enabled", "width", "height", "fps", "codec",
    "priority", "record", "segment_duration", "protocol", "record_audio",
    "detection_based_recording", "detection_model", "detection_threshold",
    "detection_interval", "pre_detection_buffer", "post_detection_buffer", "detection_api_url",
    "is_onvif", "onvif_username", "onvif_password", "onvif_profile", "ptz_enabled",
    "backchannel_enabled", "buffer_strategy", "retention_days", "status",
}  # fmt: skip
# The public routes of contract/NOTES.md; everything else needs credentials.
PUBLIC = {
    ("post", "/api/auth/login"),
    ("post", "/api/auth/login/totp"),
    ("get", "/api/health"),
    ("get", "/api/health/hls"),
    ("get", "/api/openapi.json"),
    ("get", "/"),
    ("get", "/login.html"),
    ("get", "/live.html"),
    ("get", "/static/{filename}"),
}
# Routes that take a JSON object body, each with a field the body schema must list.
BODY_ROUTES = {
    ("post", "/api/auth/login"): "username",
    ("post", "/api/auth/login/totp"): "totp_code",
    ("post", "/api/auth/users"): "username",
    ("put", "/api/auth/users/{id}"): "role",
    ("put", "/api/auth/users/{id}/password"): "new_password",
    ("put", "/api/auth/users/{id}/password-lock"): "locked",
    ("post", "/api/auth/users/{id}/totp/verify"): "code",
    ("post", "/api/streams"): "url",
    ("post", "/api/streams/test"): "url",
    ("put", "/api/streams/{name}"): "url",
    ("put", "/api/streams/{name}/retention"): "max_storage_mb",
    ("post", "/api/streams/{name}/zones"): "zones",
    ("post", "/api/settings"): "retention_days",
}
# The stream test takes the whole stream form from the UI and uses only url and protocol.
OPEN_BODIES = {("post", "/api/streams/test")}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


async def fetch(hub: Hub) -> dict[str, Any]:
    resp = await hub.client.get("/api/openapi.json")  # no credentials
    assert resp.status == 200
    assert resp.content_type == "application/json"
    doc: dict[str, Any] = await resp.json()
    return doc


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def registered(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        if isinstance(route.resource, StaticResource):
            path += "/{filename}"
        found.add((route.method.lower(), path))
    return found


def closed_objects(schema: Any, where: str) -> None:
    """Every object schema inside `schema` forbids unknown keys, as the server does."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            assert schema.get("additionalProperties") is False, where
        for key, value in schema.items():
            closed_objects(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            closed_objects(value, f"{where}[{i}]")


async def test_document_is_openapi_3_1_shaped(hub: Hub) -> None:
    doc = await fetch(hub)
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert isinstance(doc["info"]["title"], str) and doc["info"]["title"]
    assert isinstance(doc["info"]["version"], str) and doc["info"]["version"]
    schemes = doc["components"]["securitySchemes"]
    assert doc["security"], "credentials are the default"
    for requirement in doc["security"]:
        assert set(requirement) <= set(schemes)
    for scheme in schemes.values():
        assert scheme["type"] in ("apiKey", "http", "oauth2", "openIdConnect", "mutualTLS")
    op_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/") and set(item) <= METHODS | {"summary", "parameters"}, path
        templated = set(re.findall(r"\{(\w+)\}", path))
        for method, op in item.items():
            where = f"{method} {path}"
            op_ids.append(op["operationId"])
            assert op["responses"], where
            for code, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|default", code), where
                assert isinstance(response["description"], str), where
            params = [p for p in op.get("parameters", []) if p["in"] == "path"]
            assert {p["name"] for p in params} == templated, where
            assert all(p["required"] is True and "schema" in p for p in params), where
            for sec in op.get("security", []):
                assert set(sec) <= set(schemes), where
    assert len(op_ids) == len(set(op_ids)), "operationId must be unique"


async def test_every_registered_route_is_documented(hub: Hub) -> None:
    documented = set(operations(await fetch(hub)))
    routes = registered(hub.app)
    assert routes - documented == set(), "served but undocumented"
    assert documented - routes == set(), "documented but not served"


async def test_public_routes_and_only_they_need_no_credentials(hub: Hub) -> None:
    for key, op in operations(await fetch(hub)).items():
        if key in PUBLIC:
            assert op.get("security") == [], key
        else:
            # Inherits the global requirement or names its own; never opts out.
            assert "security" not in op or op["security"], key
            assert {"401", "403"} <= set(op["responses"]), key


async def test_write_bodies_are_described_and_closed(hub: Hub) -> None:
    ops = operations(await fetch(hub))
    with_body = {key for key, op in ops.items() if "requestBody" in op}
    assert set(BODY_ROUTES) <= with_body
    for key in with_body:
        assert key[0] in ("post", "put", "patch"), key
        schema = ops[key]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["type"] == "object", key
        if key in BODY_ROUTES:
            assert BODY_ROUTES[key] in schema["properties"], key
        if key not in OPEN_BODIES:
            closed_objects(schema, f"{key}")


async def test_stream_bodies_list_every_documented_key(hub: Hub) -> None:
    ops = operations(await fetch(hub))
    for key in (("post", "/api/streams"), ("put", "/api/streams/{name}")):
        schema = ops[key]["requestBody"]["content"]["application/json"]["schema"]
        assert set(schema["properties"]) >= DOCUMENTED_STREAM_KEYS, key
    add = ops[("post", "/api/streams")]["requestBody"]["content"]["application/json"]["schema"]
    assert set(add["required"]) == {"name", "url"}
    put = ops[("put", "/api/streams/{name}")]["requestBody"]["content"]["application/json"]
    assert "required" not in put["schema"], "PUT takes a partial object"
    # A documented range is the one the server enforces.
    assert add["properties"]["detection_threshold"]["minimum"] == 0
    assert add["properties"]["detection_threshold"]["maximum"] == 1
    await hub.login()
    resp = await hub.client.post(
        "/api/streams", json={"name": "cam", "url": "rtsp://h/s", "detection_threshold": 1.5}
    )
    assert resp.status == 400 and "detection_threshold" in (await resp.json())["error"]
