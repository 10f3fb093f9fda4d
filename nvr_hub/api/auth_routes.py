"""Login, TOTP login, logout and session verification."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import SESSION_COOKIE, client_address, json_response, principal, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest
from nvr_hub.services.auth import LoginResult, user_json
from nvr_hub.validation import text, validate

LOGIN_SCHEMA = vol.Schema(
    {vol.Required("username"): text(64, min_len=1), vol.Required("password"): text(1024)},
    extra=vol.PREVENT_EXTRA,
)
TOTP_LOGIN_SCHEMA = vol.Schema(
    {
        vol.Exclusive("token", "token"): text(256, min_len=1),
        vol.Exclusive("totp_token", "token"): text(256, min_len=1),
        vol.Exclusive("totp_code", "code"): text(16, min_len=1),
        vol.Exclusive("code", "code"): text(16, min_len=1),
    },
    extra=vol.PREVENT_EXTRA,
)


def _is_tls(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def cookie_path(request: web.Request) -> str:
    """`/`, or the Home Assistant ingress prefix so the cookie stays within this add-on."""
    prefix = request.headers.get("X-Ingress-Path", "")
    if prefix.startswith("/") and all(c.isalnum() or c in "/_-." for c in prefix):
        return prefix.rstrip("/") + "/"
    return "/"


def _session_response(request: web.Request, result: LoginResult) -> web.Response:
    response = json_response({"success": True, "user": user_json(result.user)})
    cfg = request.app[keys.CONFIG].auth
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token or "",
        httponly=True,
        samesite="Lax",
        secure=_is_tls(request),
        path=cookie_path(request),
        max_age=cfg.session_absolute_hours * 3600,
    )
    return response


async def login(request: web.Request) -> web.Response:
    """Check username and password; set the session cookie or ask for a TOTP code."""
    body = validate(LOGIN_SCHEMA, await read_json(request))
    result = await request.app[keys.AUTH].login(
        body["username"], body["password"], client_address(request)
    )
    if result.pending_token is not None:
        return json_response({"totp_required": True, "token": result.pending_token})
    return _session_response(request, result)


async def login_totp(request: web.Request) -> web.Response:
    """Finish a two-step login with the pending token and a TOTP code."""
    body: dict[str, Any] = validate(TOTP_LOGIN_SCHEMA, await read_json(request))
    token = body.get("token") or body.get("totp_token")
    code = body.get("totp_code") or body.get("code")
    if not token:
        raise BadRequest("missing field 'token'")
    if not code:
        raise BadRequest("missing field 'totp_code'")
    result = await request.app[keys.AUTH].login_totp(token, code, client_address(request))
    return _session_response(request, result)


async def _end_session(request: web.Request) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await request.app[keys.AUTH].logout(token)


async def logout(request: web.Request) -> web.Response:
    """End the current session and clear the cookie."""
    await _end_session(request)
    response = json_response({"success": True})
    response.del_cookie(SESSION_COOKIE, path=cookie_path(request))
    return response


async def logout_redirect(request: web.Request) -> web.Response:
    """`GET /logout`: end the session and go back to the login page."""
    await _end_session(request)
    # Relative, so it stays under a path prefix (Home Assistant ingress).
    response = web.Response(status=302, headers={"Location": "login.html"})
    response.del_cookie(SESSION_COOKIE, path=cookie_path(request))
    return response


async def verify(request: web.Request) -> web.Response:
    """Who am I: the signed-in user, or 401 (from the middleware)."""
    found = principal(request)
    user = await request.app[keys.AUTH].get_user(found.user_id)
    return json_response({"authenticated": True, "user": user_json(user), "method": found.method})


def add_routes(table: RouteTable) -> None:
    """Declare the authentication routes."""
    table.add("POST", "/api/auth/login", login, Access.PUBLIC, "Log in", LOGIN_SCHEMA)
    table.add(
        "POST",
        "/api/auth/login/totp",
        login_totp,
        Access.PUBLIC,
        "Finish a TOTP login",
        TOTP_LOGIN_SCHEMA,
    )
    table.add("POST", "/api/auth/logout", logout, Access.ANY, "Log out")
    table.add("GET", "/logout", logout_redirect, Access.ANY, "Log out and go to the login page")
    table.add("GET", "/api/auth/verify", verify, Access.ANY, "Verify the current credentials")
