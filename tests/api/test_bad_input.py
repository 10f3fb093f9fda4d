"""Bad input gets a precise JSON error and changes nothing; never a 500, HTML or traceback."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse

from nvr_hub import keys
from tests.conftest import ADMIN_PASSWORD, Hub

ZONE = {"name": "door", "polygon": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]}
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    """A write route: a body it accepts, ways to spoil it, and where to see its effect."""

    method: str
    path: str  # `{uid}` is bob's id
    valid: dict[str, Any]
    wrong_type: tuple[str, dict[str, Any]]  # (field the error must name, body)
    too_long: tuple[str, dict[str, Any]] | None  # (field, body with an over-long string)
    read: str  # what an admin GETs to see whether anything changed


CASES = [
    Case(
        "POST",
        "/api/streams",
        {"name": "porch", "url": "rtsp://10.0.0.2/s", "enabled": False},
        ("width", {"name": "porch", "url": "rtsp://10.0.0.2/s", "width": "wide"}),
        ("name", {"name": "p" * 65, "url": "rtsp://10.0.0.2/s"}),
        "/api/streams",
    ),
    Case(
        "PUT",
        "/api/streams/cam",
        {"priority": 7},
        ("enabled", {"enabled": "yes"}),
        ("onvif_username", {"onvif_username": "u" * 129}),
        "/api/streams/cam",
    ),
    Case(
        "POST",
        "/api/auth/users",
        {"username": "carol", "password": "password-123"},
        ("username", {"username": 42, "password": "password-123"}),
        ("username", {"username": "c" * 65, "password": "password-123"}),
        "/api/auth/users",
    ),
    Case(
        "PUT",
        "/api/auth/users/{uid}",
        {"email": "bob@example.com"},
        ("is_active", {"is_active": "no"}),
        ("email", {"email": "b" * 250 + "@example.com"}),
        "/api/auth/users/{uid}",
    ),
    Case(
        "POST",
        "/api/settings",
        {"mqtt_host": "broker.local"},
        ("retention_days", {"retention_days": "30"}),
        ("mqtt_host", {"mqtt_host": "h" * 256}),
        "/api/settings",
    ),
    Case(
        "POST",
        "/api/streams/cam/zones",
        {"zones": [ZONE]},
        ("polygon", {"zones": [{**ZONE, "polygon": "square"}]}),
        ("name", {"zones": [{**ZONE, "name": "z" * 129}]}),
        "/api/streams/cam/zones",
    ),
    Case(
        "PUT",
        "/api/streams/cam/retention",
        {"retention_days": 7},
        ("max_storage_mb", {"max_storage_mb": "lots"}),
        None,  # no string fields
        "/api/streams/cam/retention",
    ),
    Case(
        "POST",
        "/api/auth/login",
        {"username": "admin", "password": ADMIN_PASSWORD},
        ("password", {"username": "admin", "password": 12345678}),
        ("username", {"username": "a" * 65, "password": ADMIN_PASSWORD}),
        "/api/auth/users",  # a login would move admin's last_login
    ),
]


async def error_of(resp: ClientResponse, status: int) -> str:
    """Assert the single error shape and return its message."""
    raw = await resp.read()
    assert resp.status == status, (resp.method, resp.url, resp.status, raw[:300])
    assert b"Traceback" not in raw and b"<html" not in raw.lower()
    assert resp.content_type == "application/json", (resp.url, resp.content_type)
    body = json.loads(raw)
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    message: str = body["error"]
    return message


@pytest.fixture
async def bob(hub: Hub) -> int:
    """An admin session, a stream `cam` and a user `bob`; returns bob's id."""
    # Disabled: no camera connection is attempted.
    await hub.app[keys.STREAMS].add({"name": "cam", "url": "rtsp://10.0.0.1/s", "enabled": False})
    uid = await hub.add_user("bob", "user")
    await hub.login()
    return uid


class Snapshot:
    """What every case's resource looks like to an admin, for before/after comparison."""

    def __init__(self, hub: Hub, uid: int) -> None:
        self.hub, self.uid = hub, uid

    def url(self, path: str) -> str:
        return path.replace("{uid}", str(self.uid))

    async def take(self) -> dict[str, Any]:
        out = {}
        for case in CASES:
            resp = await self.hub.client.get(self.url(case.read))
            assert resp.status == 200
            out[case.read] = await resp.json()
        return out

    async def send(self, case: Case, **kwargs: Any) -> ClientResponse:
        resp = await self.hub.client.request(case.method, self.url(case.path), **kwargs)
        assert "Set-Cookie" not in resp.headers, "a refused login must not start a session"
        return resp


Spoil = Callable[[Case], list[tuple[dict[str, Any], int, str | None]]]


def _malformed(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    return [
        ({"data": b'{"name": "x", ', "headers": JSON}, 400, "malformed JSON"),
        ({"data": b"[" * 100_000, "headers": JSON}, 400, "malformed JSON"),  # RecursionError
        ({"data": b'{"n": ' + b"9" * 5000 + b"}", "headers": JSON}, 400, "malformed JSON"),
        ({"data": b'{"name": "\xff"}', "headers": JSON}, 400, "UTF-8"),
        ({"data": b"", "headers": JSON}, 400, "required"),
    ]


def _wrong_type(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    field, body = case.wrong_type
    return [({"json": body}, 400, field)]


def _unknown_key(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    return [({"json": {**case.valid, "no_such_key": 1}}, 400, "no_such_key")]


def _too_long(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    if case.too_long is None:
        return []
    field, body = case.too_long
    return [({"json": body}, 400, field)]


def _bad_unicode(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    # json.dumps escapes a lone surrogate as "\ud800": valid JSON, but not storable text.
    if case.too_long is None:
        return []
    field, body = case.too_long
    return [({"json": _replace_long(body, "x\ud800")}, 400, field)]


def _replace_long(value: Any, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_long(v, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_long(v, new) for v in value]
    if isinstance(value, str) and len(value) > 64:
        return new
    return value


def _too_large(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    body = json.dumps({**case.valid, "pad": "x" * (MIB + 1)}).encode()
    return [({"data": io.BytesIO(body), "headers": JSON}, 413, "too large")]


def _array(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    return [({"json": [case.valid]}, 400, None), ({"json": "text"}, 400, None)]


def _text_plain(case: Case) -> list[tuple[dict[str, Any], int, str | None]]:
    data = json.dumps(case.valid).encode()
    return [({"data": data, "headers": {"Content-Type": "text/plain"}}, 415, "JSON")]


SPOILERS: dict[str, Spoil] = {
    "malformed": _malformed,
    "wrong_type": _wrong_type,
    "unknown_key": _unknown_key,
    "too_long": _too_long,
    "bad_unicode": _bad_unicode,
    "too_large": _too_large,
    "array": _array,
    "text_plain": _text_plain,
}


async def test_bad_bodies_are_refused_and_change_nothing(hub: Hub, bob: int) -> None:
    snap = Snapshot(hub, bob)
    before = await snap.take()
    for kind, spoil in SPOILERS.items():
        for case in CASES:
            for kwargs, status, mention in spoil(case):
                resp = await snap.send(case, **kwargs)
                message = await error_of(resp, status)
                if mention is not None:
                    assert mention.lower() in message.lower(), (case.path, kind, message)
        assert await snap.take() == before, kind


async def test_the_valid_bodies_do_change_things(hub: Hub, bob: int) -> None:
    # The control for the test above: each snapshot does show its route's effect.
    snap = Snapshot(hub, bob)
    for case in CASES:
        before = await snap.take()
        resp = await hub.client.request(case.method, snap.url(case.path), json=case.valid)
        assert resp.status in (200, 201), (case.path, await resp.text())
        assert (await snap.take())[case.read] != before[case.read], case.path


async def test_unknown_routes_are_404_json(hub: Hub, bob: int) -> None:
    for method, url in (
        ("GET", "/api/nope"),
        ("GET", "/api/streams/cam/nope"),
        ("POST", "/api/auth/users/1/nope"),
        ("GET", "/nope.html"),
        ("GET", "/api/auth/users/abc"),  # ids are numeric
    ):
        await error_of(await hub.client.request(method, url), 404)
    hub.client.session.cookie_jar.clear()
    await error_of(await hub.client.get("/api/nope"), 404)


async def test_wrong_method_is_405_json_with_allow(hub: Hub, bob: int) -> None:
    snap = Snapshot(hub, bob)
    before = await snap.take()
    for method, url, allow in (
        ("PATCH", "/api/streams", {"GET", "POST"}),
        ("DELETE", "/api/settings", {"GET", "POST"}),
        ("PUT", "/api/auth/login", {"POST"}),
        ("POST", "/api/streams/cam", {"GET", "PUT", "DELETE"}),
        ("DELETE", "/api/health", {"GET"}),
    ):
        resp = await hub.client.request(method, url, json={"name": "x"})
        message = await error_of(resp, 405)
        assert method in message
        assert allow <= set(resp.headers["Allow"].split(",")), (url, resp.headers["Allow"])
    assert await snap.take() == before


BAD_NAMES = ["..%2F..%2Fetc", "..%2F..%2Fetc%2Fpasswd", "cam%00", "%00", "c" * 65, "%2e%2e"]
NAME_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("GET", "/full", None),
    ("PUT", "", {"priority": 1}),
    ("DELETE", "", None),
    ("POST", "/refresh", None),
    ("GET", "/zones", None),
    ("POST", "/zones", {"zones": [ZONE]}),
    ("DELETE", "/zones", None),
    ("GET", "/retention", None),
    ("PUT", "/retention", {"retention_days": 1}),
]


async def test_path_tricks_in_stream_names_are_400_or_404(hub: Hub, bob: int) -> None:
    snap = Snapshot(hub, bob)
    before = await snap.take()
    for name in BAD_NAMES:
        for method, suffix, body in NAME_ROUTES:
            resp = await hub.client.request(method, f"/api/streams/{name}{suffix}", json=body)
            assert resp.status in (400, 404), (method, name, suffix, resp.status)
            await error_of(resp, resp.status)
    for bad in ("../../etc", "cam\x00", "a/b", ".hidden", " lead", "c" * 65):
        resp = await hub.client.post("/api/streams", json={"name": bad, "url": "rtsp://h/s"})
        assert "'name'" in await error_of(resp, 400)
    assert await snap.take() == before


async def test_nul_in_a_query_value_is_400_not_a_database_error(hub: Hub, bob: int) -> None:
    message = await error_of(await hub.client.get("/api/recordings?stream=cam%00"), 400)
    assert "stream" in message
    resp = await hub.client.get("/api/recordings?stream=cam")
    assert resp.status == 200


@pytest.mark.parametrize("base", ["/api/auth/users", "/api/recordings"])
async def test_out_of_range_ids_are_404(hub: Hub, bob: int, base: str) -> None:
    for big in ("3000000000", "9223372036854775808"):
        await error_of(await hub.client.get(f"{base}/{big}"), 404)


async def test_missing_static_file_is_404_json(hub: Hub) -> None:
    await error_of(await hub.client.get("/static/nope.css"), 404)


async def test_duplicate_keys_are_refused(hub: Hub) -> None:
    await hub.login()
    raw = b'{"name": "y", "url": "rtsp://192.0.2.1/s", "name": "z", "enabled": false}'
    resp = await hub.client.post(
        "/api/streams", data=raw, headers={"Content-Type": "application/json"}
    )
    assert "'name' appears twice" in await error_of(resp, 400)
    assert await hub.app[keys.STREAMS].all() == []
