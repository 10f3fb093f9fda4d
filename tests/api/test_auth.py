"""Login, sessions, logout, Basic, API keys, rate limiting and cross-site protection."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from nvr_hub import keys
from nvr_hub.storage.models import Session as DbSession
from nvr_hub.storage.models import utcnow
from tests.conftest import ADMIN_PASSWORD, Hub, basic


async def test_login_sets_httponly_lax_cookie_and_verify_sees_user(hub: Hub) -> None:
    resp = await hub.client.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["success"] is True
    assert body["user"]["username"] == "admin" and body["user"]["role"] == "admin"
    assert "password_hash" not in body["user"]
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here

    resp = await hub.client.get("/api/auth/verify")
    assert resp.status == 200
    assert (await resp.json())["user"]["username"] == "admin"


async def test_cookie_is_secure_behind_tls_proxy(hub: Hub) -> None:
    resp = await hub.client.post(
        "/api/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in resp.headers["Set-Cookie"]


async def test_cookie_is_scoped_to_the_ingress_path(hub: Hub) -> None:
    resp = await hub.client.post(
        "/api/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-Ingress-Path": "/api/hassio_ingress/abc123"},
    )
    assert "Path=/api/hassio_ingress/abc123/" in resp.headers["Set-Cookie"]


async def test_wrong_password_is_401_and_no_cookie(hub: Hub) -> None:
    resp = await hub.client.post("/api/auth/login", json={"username": "admin", "password": "nope"})
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid username or password"
    assert "Set-Cookie" not in resp.headers
    resp = await hub.client.get("/api/auth/verify")
    assert resp.status == 401


async def test_logout_ends_the_session_both_ways(hub: Hub) -> None:
    await hub.login()
    cookie = hub.client.session.cookie_jar.filter_cookies(hub.client.make_url("/"))["session"].value
    resp = await hub.client.post("/api/auth/logout")
    assert resp.status == 200
    # The old token no longer works even if a client kept it.
    resp = await hub.client.get("/api/streams", cookies={"session": cookie})
    assert resp.status == 401

    await hub.login()
    resp = await hub.client.get("/logout", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "login.html"
    assert (await hub.client.get("/api/auth/verify")).status == 401


async def test_session_idle_and_absolute_expiry(hub: Hub) -> None:
    await hub.login()
    assert (await hub.client.get("/api/auth/verify")).status == 200
    idle = hub.config.auth.session_idle_minutes
    async with hub.app[keys.SESSIONS]() as s, s.begin():
        await s.execute(update(DbSession).values(last_seen=utcnow() - timedelta(minutes=idle + 1)))
    assert (await hub.client.get("/api/auth/verify")).status == 401

    await hub.login()
    async with hub.app[keys.SESSIONS]() as s, s.begin():
        await s.execute(update(DbSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await hub.client.get("/api/auth/verify")).status == 401


async def test_basic_auth_and_api_keys_on_routes(hub: Hub) -> None:
    resp = await hub.client.get("/api/streams", headers=basic("admin", ADMIN_PASSWORD))
    assert resp.status == 200
    resp = await hub.client.get("/api/streams", headers=basic("admin", "wrong"))
    assert resp.status == 401

    await hub.login()
    resp = await hub.client.post("/api/auth/users/1/api-key")
    assert resp.status == 201
    key = (await resp.json())["api_key"]
    hub.client.session.cookie_jar.clear()
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        resp = await hub.client.get("/api/auth/verify", headers=headers)
        assert resp.status == 200
        assert (await resp.json())["method"] == "api_key"
    resp = await hub.client.get("/api/streams", headers={"X-API-Key": key + "x"})
    assert resp.status == 401
    # A new key replaces the old one.
    new_key = await hub.api_key(1)
    assert (await hub.client.get("/api/streams", headers={"X-API-Key": key})).status == 401
    assert (await hub.client.get("/api/streams", headers={"X-API-Key": new_key})).status == 200


async def test_api_key_is_stored_only_as_sha256(hub: Hub) -> None:
    import hashlib

    from sqlalchemy import select

    from nvr_hub.storage.models import ApiKey, User

    key = await hub.api_key(1)
    async with hub.app[keys.SESSIONS]() as s:
        row = await s.scalar(select(ApiKey))
        user = await s.scalar(select(User))
    assert row is not None and user is not None
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (row.key_hash, row.prefix)
    assert user.password_hash.startswith("$argon2id$")


async def test_login_rate_limit_429_with_retry_after(hub: Hub) -> None:
    for _ in range(5):
        resp = await hub.client.post(
            "/api/auth/login", json={"username": "admin", "password": "bad"}
        )
        assert resp.status == 401
    resp = await hub.client.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 300
    assert "too many" in (await resp.json())["error"]


async def test_cross_site_writes_with_cookie_are_refused(hub: Hub) -> None:
    await hub.login()
    body = {"name": "cam", "url": "rtsp://10.0.0.1/s"}
    resp = await hub.client.post(
        "/api/streams", json=body, headers={"Origin": "https://evil.example"}
    )
    assert resp.status == 403
    resp = await hub.client.post(
        "/api/streams", json=body, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert resp.status == 403
    assert (await (await hub.client.get("/api/streams")).json())["streams"] == []
    # Same origin is fine.
    origin = f"http://{hub.client.host}:{hub.client.port}"
    resp = await hub.client.post("/api/streams", json=body, headers={"Origin": origin})
    assert resp.status == 201


async def test_inactive_user_cannot_log_in(hub: Hub) -> None:
    uid = await hub.add_user("bob", "user")
    await hub.app[keys.AUTH].update_user(uid, {"is_active": False})
    resp = await hub.client.post(
        "/api/auth/login", json={"username": "bob", "password": "password-123"}
    )
    assert resp.status == 401
