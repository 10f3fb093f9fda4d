"""Deny by default: every registered route is classified, and each role gets exactly its share."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.web_urldispatcher import StaticResource

from nvr_hub import keys
from nvr_hub.app import create_app
from nvr_hub.config import Config
from tests.conftest import ADMIN_PASSWORD, Hub, basic

# The roles matrix of contract/NOTES.md, written out independently of nvr_hub/api/access.py.
# None marks a public route. For routes under /api/auth/users/{id}, a non-admin role in the
# set may call it with its own id only; every non-admin gets 403 on someone else's id.
ALL = frozenset({"admin", "user", "viewer", "api"})
OPERATE = frozenset({"admin", "user", "api"})  # streams, zones, retention...
OWN = frozenset({"admin", "user", "viewer"})  # own password, own TOTP, own record
OWN_KEY = frozenset({"admin", "user"})  # own API key: account management, not for viewer/api
ADMIN = frozenset({"admin"})
PUBLIC = None
NO_RECORDING = 999_999  # recording ids: the gate answers before the lookup (403 vs 404)
USER = "/api/auth/users/{id}"
STREAM = "/api/streams/{name}"
REC = "/api/recordings/{id}"

EXPECTED: dict[tuple[str, str], frozenset[str] | None] = {
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/login/totp"): PUBLIC,
    ("POST", "/api/auth/logout"): ALL,
    ("GET", "/logout"): ALL,
    ("GET", "/api/auth/verify"): ALL,
    ("GET", "/api/auth/users"): ADMIN,
    ("POST", "/api/auth/users"): ADMIN,
    ("GET", USER): OWN,
    ("PUT", USER): ADMIN,
    ("POST", USER + "/api-key"): OWN_KEY,
    ("PUT", USER + "/password"): OWN,
    ("PUT", USER + "/password-lock"): ADMIN,
    ("POST", USER + "/totp/setup"): OWN,
    ("POST", USER + "/totp/verify"): OWN,
    ("POST", USER + "/totp/disable"): OWN,
    ("GET", USER + "/totp/status"): OWN,
    ("DELETE", USER): ADMIN,
    ("GET", "/api/streams"): ALL,
    ("POST", "/api/streams"): OPERATE,
    ("POST", "/api/streams/test"): OPERATE,
    ("GET", STREAM): ALL,
    ("GET", STREAM + "/full"): ALL,
    ("PUT", STREAM): OPERATE,
    ("POST", STREAM + "/refresh"): OPERATE,
    ("GET", STREAM + "/retention"): ALL,
    ("PUT", STREAM + "/retention"): OPERATE,
    ("GET", STREAM + "/zones"): ALL,
    ("POST", STREAM + "/zones"): OPERATE,
    ("DELETE", STREAM + "/zones"): OPERATE,
    ("DELETE", STREAM): OPERATE,
    ("GET", "/api/recordings"): ALL,
    ("GET", "/api/recordings/protected"): ALL,
    ("GET", REC): ALL,
    ("GET", "/api/recordings/play/{id}{ext}"): ALL,  # playback
    ("GET", "/api/recordings/download/{id}"): ALL,  # download
    ("GET", "/api/recordings/files/check"): ALL,
    ("GET", "/api/recordings/batch-delete/progress/{job_id}"): ALL,
    ("PUT", REC + "/protect"): OPERATE,
    ("PUT", REC + "/retention"): OPERATE,
    ("POST", "/api/recordings/batch-protect"): OPERATE,
    ("POST", "/api/recordings/batch-delete"): OPERATE,
    ("POST", "/api/recordings/sync"): OPERATE,
    ("DELETE", REC): OPERATE,
    ("DELETE", "/api/recordings/files"): ADMIN,
    ("GET", "/api/timeline/segments"): ALL,
    ("GET", "/api/timeline/manifest"): ALL,
    ("GET", "/api/timeline/play"): ALL,
    ("GET", "/api/system"): ALL,
    ("GET", "/api/system/info"): ALL,
    ("GET", "/api/system/status"): ALL,
    ("GET", "/api/system/logs"): ADMIN,
    ("POST", "/api/system/logs/clear"): ADMIN,
    ("POST", "/api/system/backup"): ADMIN,
    ("POST", "/api/system/restart"): ADMIN,
    ("POST", "/api/system/shutdown"): ADMIN,
    ("GET", "/api/settings"): ALL,
    ("POST", "/api/settings"): ADMIN,
    ("GET", STREAM + "/snapshot.jpg"): ALL,
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/health/hls"): PUBLIC,
    ("GET", "/api/ice-servers"): ALL,
    ("GET", "/api/detection/results/{name}"): ALL,
    ("GET", "/api/detection/models"): ALL,
    ("GET", "/api/motion/config/{name}"): ALL,
    ("POST", "/api/motion/config/{name}"): OPERATE,
    ("DELETE", "/api/motion/config/{name}"): OPERATE,
    ("POST", "/api/motion/test/{name}"): OPERATE,
    ("GET", "/api/motion/stats/{name}"): ALL,
    ("GET", "/api/motion/recordings/{name}"): ALL,
    ("DELETE", "/api/motion/recordings/{id}"): OPERATE,
    ("POST", "/api/motion/cleanup"): OPERATE,
    ("GET", "/api/motion/storage"): ALL,
    ("GET", "/api/motion/events/{name}"): ALL,
    ("GET", "/api/motion/events/{id}/snapshot.jpg"): ALL,
    ("POST", "/api/webrtc"): ALL,  # live view: go2rtc JSON offer or WHEP
    ("DELETE", "/api/webrtc/{session}"): ALL,  # end a WHEP session (its id is the secret)
    ("GET", "/hls/{stream}/{filename}"): ALL,  # live HLS playlist and segments
    ("GET", "/live.html"): PUBLIC,  # the live view page (its API calls need a login)
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/login.html"): PUBLIC,
    ("GET", "/static/{filename}"): PUBLIC,  # the static UI files
}

_ZONE = {"name": "door", "polygon": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]}
# Valid bodies, so an allowed call really does its job; harmless to what later calls need.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/auth/login"): {},  # 400: proves it is reachable without touching limits
    ("POST", "/api/auth/login/totp"): {},
    ("PUT", USER): {"email": "someone@example.com"},
    ("PUT", USER + "/password"): {"old_password": "password-123", "new_password": "password-123"},
    ("PUT", USER + "/password-lock"): {"locked": False},
    ("POST", USER + "/totp/verify"): {"code": "abcdef"},  # a wrong code: TOTP stays off
    ("POST", "/api/streams/test"): {"url": "demo://probe"},
    ("PUT", STREAM): {"priority": 6},
    ("PUT", STREAM + "/retention"): {"retention_days": 7},
    ("POST", STREAM + "/zones"): {"zones": [_ZONE]},
    ("POST", "/api/settings"): {"snapshot_interval": 0},
    ("PUT", REC + "/protect"): {"protected": True},
    ("PUT", REC + "/retention"): {"retention_days": 5},
    ("POST", "/api/recordings/batch-protect"): {"ids": [NO_RECORDING], "protected": True},
    ("POST", "/api/recordings/batch-delete"): {"ids": [NO_RECORDING]},
    ("POST", "/api/motion/config/{name}"): {"enabled": False, "pre_buffer_seconds": 2},
    ("POST", "/api/motion/test/{name}"): {"label": "person"},
    ("POST", "/api/motion/cleanup"): {"retention_days": 30},
}
_UNIQUE = itertools.count()


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path pattern) of every route in the router, HEAD twins left out."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        found.add((route.method, route.resource.canonical))
    return found


PLAUSIBLE = {"{name}": "cam", "{id}": str(NO_RECORDING), "{ext}": ".mp4", "{job_id}": "job-1"}


def concrete(path: str, user_id: int) -> str:
    """A requestable URL for a path pattern; `{id}` is a user's id on account routes."""
    if path == "/static/{filename}":
        return "/static/app.css"
    if path.startswith(USER):
        path = path.replace("{id}", str(user_id))
    for param, value in PLAUSIBLE.items():
        path = path.replace(param, value)
    return re.sub(r"\{\w+\}", "1", path)


def body_for(method: str, path: str) -> Any:
    """The JSON body to send, fresh names where the route creates something."""
    if (method, path) == ("POST", "/api/streams"):
        return {"name": f"cam-{next(_UNIQUE)}", "url": "rtsp://10.0.0.1/s", "enabled": False}
    if (method, path) == ("POST", "/api/auth/users"):
        return {"username": f"new-{next(_UNIQUE)}", "password": "password-123", "role": "viewer"}
    return BODIES.get((method, path))


async def add_stream(hub: Hub) -> None:
    # Disabled: no camera connection is attempted; the API treats it like any other.
    await hub.app[keys.STREAMS].add(
        {"name": "cam", "url": "rtsp://cam:secret@10.0.0.1/s", "enabled": False}
    )


async def test_every_registered_route_is_classified(hub: Hub) -> None:
    # A new route must be added to EXPECTED (and so given a role set) before this passes.
    registered = registered_routes(hub.app)
    assert registered - EXPECTED.keys() == set(), "unclassified routes"
    assert EXPECTED.keys() - registered == set(), "classified routes that no longer exist"
    # UI files go through the app's own handler (JSON 404s), not aiohttp's static resource.
    assert not [r for r in hub.app.router.resources() if isinstance(r, StaticResource)]


async def test_without_credentials_only_public_routes_answer(hub: Hub) -> None:
    await add_stream(hub)
    routes = [(r.method, r.resource.canonical) for r in hub.app.router.routes() if r.resource]
    assert len(routes) > len(EXPECTED)  # the HEAD twins are walked too
    for method, path in routes:
        # An unclassified route must still be closed: deny by default.
        allowed = EXPECTED.get(("GET", path) if method == "HEAD" else (method, path), ADMIN)
        url = concrete(path, user_id=1)
        resp = await hub.client.request(
            method, url, json=body_for(method, path), allow_redirects=False
        )
        raw = await resp.read()
        assert b"Traceback" not in raw
        if allowed is PUBLIC:
            assert resp.status not in (401, 403) and resp.status < 500, (method, url, raw)
            continue
        assert resp.status == 401, (method, url, resp.status, raw)
        if method != "HEAD":
            assert resp.content_type == "application/json", (method, url)
            assert isinstance((await resp.json())["error"], str), (method, url)
    # Nothing an anonymous caller sent took effect.
    assert not hub.app[keys.STOP_EVENT].is_set()
    assert [s.name for s in await hub.app[keys.STREAMS].all()] == ["cam"]
    assert [u.username for u in await hub.app[keys.AUTH].list_users()] == ["admin"]


async def test_public_ui_and_docs_are_served(hub: Hub) -> None:
    for url in ("/", "/login.html", "/static/app.css", "/api/openapi.json", "/api/health"):
        resp = await hub.client.get(url)
        assert resp.status == 200, url


@dataclass
class Caller:
    """One signed-in role, by API key or by session cookie."""

    hub: Hub
    role: str
    username: str
    password: str
    user_id: int
    method: str = "api_key"
    key: str = ""

    async def sign_in(self) -> None:
        self.hub.client.session.cookie_jar.clear()
        if self.method == "api_key":
            self.key = await self.hub.api_key(self.user_id)
        else:
            await self.hub.login(self.username, self.password)

    async def call(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        headers = {"X-API-Key": self.key} if self.method == "api_key" else {}
        resp = await self.hub.client.request(
            method, url, json=body, headers=headers, allow_redirects=False
        )
        raw = await resp.read()
        assert b"Traceback" not in raw and resp.status < 500, (method, url, resp.status, raw)
        if resp.status in (401, 403):
            assert (await resp.json())["error"], (method, url)
        return resp.status, (await resp.json() if resp.content_type == "application/json" else None)


async def _walk(hub: Hub, caller: Caller, victim: dict[str, int]) -> None:
    stop = hub.app[keys.STOP_EVENT]
    role = caller.role
    for (method, path), allowed in EXPECTED.items():
        if allowed is PUBLIC:
            allowed = ALL
        targets: list[tuple[int, bool]]  # (user id, expected allowed)
        if not path.startswith(USER):
            targets = [(caller.user_id, role in allowed)]
        elif role == "admin":
            targets = [(victim["id"], True)]
        else:
            targets = [(caller.user_id, role in allowed), (victim["id"], False)]
        for user_id, expect_allowed in targets:
            url = concrete(path, user_id)
            status, data = await caller.call(method, url, body_for(method, path))
            where = f"{role} via {caller.method}: {method} {url} -> {status}"
            if not expect_allowed:
                assert status == 403, where
                continue
            assert status not in (401, 403), where
            # Undo what later calls rely on.
            if path.endswith(("/restart", "/shutdown")):
                assert status == 200, where
                assert stop.is_set(), where
                stop.clear()
                hub.app[keys.SYSTEM].stop_request.requested = False
            elif (method, path) == ("DELETE", STREAM):
                await add_stream(hub)
            elif (method, path) == ("DELETE", USER):
                victim["id"] = await hub.add_user(f"victim-{next(_UNIQUE)}", "user")
            elif path.endswith("/api-key") and user_id == caller.user_id:
                caller.key = data["api_key"]  # the new key replaces the one in use
            elif path in ("/api/auth/logout", "/logout") and caller.method == "session":
                await caller.sign_in()
    assert not stop.is_set(), "a role that may not stop the hub stopped it"


@pytest.mark.parametrize("role", ["admin", "user", "viewer", "api"])
async def test_each_role_gets_exactly_its_routes(hub: Hub, role: str) -> None:
    await add_stream(hub)
    victim = {"id": await hub.add_user("victim", "user")}
    if role == "admin":
        caller = Caller(hub, role, "admin", ADMIN_PASSWORD, 1)
    else:
        user_id = await hub.add_user(f"the-{role}", role)
        caller = Caller(hub, role, f"the-{role}", "password-123", user_id)
    for method in ("api_key", "session"):
        caller.method = method
        await caller.sign_in()
        await _walk(hub, caller, victim)
    # What the role was refused did not happen anyway.
    stream = await hub.app[keys.STREAMS].get("cam")
    users = {u.username: u for u in await hub.app[keys.AUTH].list_users()}
    if role not in OPERATE:
        assert stream.priority == 5 and stream.retention_days == 0
        assert await hub.app[keys.STREAMS].zones("cam") == []
        assert [s.name for s in await hub.app[keys.STREAMS].all()] == ["cam"]
    if role != "admin":
        assert set(users) == {"admin", "victim", caller.username}
        assert users["victim"].email == "" and not users["victim"].totp_secret


async def test_a_route_added_outside_the_table_is_admin_only(
    hub: Hub, aiohttp_client: Any, hub_config: Config
) -> None:
    # Someone registering a handler straight on the router must not open a hole.
    async def forgotten(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = create_app(hub_config, setup_logs=False)
    app.router.add_get("/api/forgotten", forgotten)
    client = await aiohttp_client(app)
    await hub.add_user("watcher", "viewer")
    assert (await client.get("/api/forgotten")).status == 401
    resp = await client.get("/api/forgotten", headers=basic("watcher", "password-123"))
    assert resp.status == 403
    resp = await client.get("/api/forgotten", headers=basic("admin", ADMIN_PASSWORD))
    assert resp.status == 200
