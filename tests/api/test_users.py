"""User management, passwords, the last-admin rule and TOTP two-step login."""

from __future__ import annotations

import time

import pyotp

from tests.conftest import ADMIN_PASSWORD, Hub, basic


async def test_user_crud_roundtrip(hub: Hub) -> None:
    await hub.login()
    resp = await hub.client.post(
        "/api/auth/users",
        json={"username": "carol", "password": "carol-pass-1", "email": "c@example.com"},
    )
    assert resp.status == 201
    carol = await resp.json()
    assert carol["role"] == "user" and carol["email"] == "c@example.com"
    assert set(carol) == {
        "id",
        "username",
        "email",
        "role",
        "is_active",
        "totp_enabled",
        "password_change_locked",
        "created_at",
        "last_login",
    }
    assert carol["created_at"].endswith("Z")

    # The original's integer roles are accepted too.
    resp = await hub.client.post(
        "/api/auth/users", json={"username": "vic", "password": "vic-pass-12", "role": 2}
    )
    assert (await resp.json())["role"] == "viewer"

    resp = await hub.client.post(
        "/api/auth/users", json={"username": "carol", "password": "another-pass"}
    )
    assert resp.status == 409

    resp = await hub.client.put(f"/api/auth/users/{carol['id']}", json={"role": "viewer"})
    assert resp.status == 200 and (await resp.json())["role"] == "viewer"

    users = (await (await hub.client.get("/api/auth/users")).json())["users"]
    assert [u["username"] for u in users] == ["admin", "carol", "vic"]

    resp = await hub.client.delete(f"/api/auth/users/{carol['id']}")
    assert resp.status == 200 and (await resp.json()) == {"success": True}
    assert (await hub.client.get(f"/api/auth/users/{carol['id']}")).status == 404


async def test_short_password_rejected(hub: Hub) -> None:
    await hub.login()
    resp = await hub.client.post("/api/auth/users", json={"username": "x", "password": "short"})
    assert resp.status == 400
    assert "password" in (await resp.json())["error"]


async def test_last_admin_cannot_be_deleted_or_demoted(hub: Hub) -> None:
    await hub.login()
    assert (await hub.client.delete("/api/auth/users/1")).status == 409
    resp = await hub.client.put("/api/auth/users/1", json={"role": "user"})
    assert resp.status == 409
    assert "last admin" in (await resp.json())["error"]
    assert (await hub.client.put("/api/auth/users/1", json={"is_active": False})).status == 409
    # With a second admin, the first may go.
    await hub.add_user("root2", "admin", "root2-pass-1")
    assert (await hub.client.put("/api/auth/users/1", json={"role": "user"})).status == 200
    # A re-roled user signs in again.
    assert (await hub.client.get("/api/auth/verify")).status == 401
    await hub.login("root2", "root2-pass-1")
    assert (await hub.client.delete("/api/auth/users/1")).status == 200


async def test_change_password_needs_old_one_unless_admin(hub: Hub) -> None:
    uid = await hub.add_user("dave", "user", "dave-pass-1")
    await hub.login("dave", "dave-pass-1")
    url = f"/api/auth/users/{uid}/password"
    resp = await hub.client.put(url, json={"new_password": "dave-pass-2"})
    assert resp.status == 400
    resp = await hub.client.put(url, json={"old_password": "wrong", "new_password": "dave-pass-2"})
    assert resp.status == 400
    resp = await hub.client.put(
        url, json={"old_password": "dave-pass-1", "new_password": "dave-pass-2"}
    )
    assert resp.status == 200
    # The changer's own session survives; the new password works.
    assert (await hub.client.get("/api/auth/verify")).status == 200
    hub.client.session.cookie_jar.clear()
    assert (
        await hub.client.get("/api/streams", headers=basic("dave", "dave-pass-2"))
    ).status == 200

    await hub.login()
    resp = await hub.client.put(url, json={"new_password": "dave-pass-3"})
    assert resp.status == 200
    assert (
        await hub.client.get("/api/streams", headers=basic("dave", "dave-pass-3"))
    ).status == 200


async def test_password_lock_blocks_the_user_not_the_admin(hub: Hub) -> None:
    uid = await hub.add_user("erin", "user", "erin-pass-1")
    await hub.login()
    resp = await hub.client.put(f"/api/auth/users/{uid}/password-lock", json={"locked": True})
    assert resp.status == 200
    user = await (await hub.client.get(f"/api/auth/users/{uid}")).json()
    assert user["password_change_locked"] is True
    hub.client.session.cookie_jar.clear()
    await hub.login("erin", "erin-pass-1")
    resp = await hub.client.put(
        f"/api/auth/users/{uid}/password",
        json={"old_password": "erin-pass-1", "new_password": "erin-pass-2"},
    )
    assert resp.status == 403


async def test_totp_enrol_two_step_login_and_no_replay(hub: Hub) -> None:
    await hub.login()
    resp = await hub.client.post("/api/auth/users/1/totp/setup")
    assert resp.status == 200
    setup = await resp.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    assert setup["secret"] in setup["otpauth_uri"]
    status = await (await hub.client.get("/api/auth/users/1/totp/status")).json()
    assert status == {"totp_enabled": False, "totp_configured": True}

    totp = pyotp.TOTP(setup["secret"])
    resp = await hub.client.post("/api/auth/users/1/totp/verify", json={"code": "000000"})
    assert resp.status == 400
    # Use the previous step's code for enrolment so the current one stays fresh for login.
    previous = totp.at(time.time() - 30)
    resp = await hub.client.post("/api/auth/users/1/totp/verify", json={"code": previous})
    assert resp.status == 200 and (await resp.json())["totp_enabled"] is True

    hub.client.session.cookie_jar.clear()
    resp = await hub.client.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    body = await resp.json()
    assert body["totp_required"] is True and "Set-Cookie" not in resp.headers
    assert (await hub.client.get("/api/auth/verify")).status == 401
    # Basic auth cannot bypass the second factor.
    assert (
        await hub.client.get("/api/streams", headers=basic("admin", ADMIN_PASSWORD))
    ).status == 401

    resp = await hub.client.post(
        "/api/auth/login/totp", json={"token": body["token"], "totp_code": "123456"}
    )
    assert resp.status == 401
    resp = await hub.client.post(
        "/api/auth/login/totp", json={"token": body["token"], "totp_code": totp.now()}
    )
    # A failed code used up the pending token: it works once.
    assert resp.status == 401

    resp = await hub.client.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    token = (await resp.json())["token"]
    code = totp.now()
    resp = await hub.client.post("/api/auth/login/totp", json={"totp_token": token, "code": code})
    assert resp.status == 200 and "session=" in resp.headers["Set-Cookie"]
    assert (await hub.client.get("/api/auth/verify")).status == 200

    # The same code cannot be replayed for another login within its window.
    hub.client.session.cookie_jar.clear()
    resp = await hub.client.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    token = (await resp.json())["token"]
    resp = await hub.client.post("/api/auth/login/totp", json={"token": token, "totp_code": code})
    assert resp.status == 401


async def test_totp_disable(hub: Hub) -> None:
    uid = await hub.add_user("fay", "viewer", "fay-pass-12")
    await hub.login("fay", "fay-pass-12")
    secret = (await (await hub.client.post(f"/api/auth/users/{uid}/totp/setup")).json())["secret"]
    code = pyotp.TOTP(secret).now()
    assert (
        await hub.client.post(f"/api/auth/users/{uid}/totp/verify", json={"totp_code": code})
    ).status == 200
    resp = await hub.client.post(f"/api/auth/users/{uid}/totp/disable")
    assert resp.status == 200
    status = await (await hub.client.get(f"/api/auth/users/{uid}/totp/status")).json()
    assert status == {"totp_enabled": False, "totp_configured": False}
    hub.client.session.cookie_jar.clear()
    resp = await hub.client.post(
        "/api/auth/login", json={"username": "fay", "password": "fay-pass-12"}
    )
    assert (await resp.json())["success"] is True
