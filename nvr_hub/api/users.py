"""User management, API keys, passwords and TOTP (contract: User Management, TOTP/MFA)."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import SESSION_COOKIE, json_response, path_id, principal, read_json
from nvr_hub.api.routing import RouteTable
from nvr_hub.errors import BadRequest, Conflict
from nvr_hub.services.auth import ROLE_NUMBERS, ROLES, user_json
from nvr_hub.validation import described, strict_bool, text, validate

_USERNAME = vol.All(
    text(64, min_len=1),
    vol.Match(r"^[A-Za-z0-9_.@-]+$", msg="may hold letters, digits, '_', '.', '@' and '-'"),
)
_PASSWORD = text(1024, min_len=8)
_EMAIL = vol.All(text(255), vol.Match(r"^$|^[^@\s]+@[^@\s]+$", msg="must be an email address"))


def _role(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value in ROLE_NUMBERS:
        return ROLE_NUMBERS[value]
    if value in ROLES:
        return str(value)
    raise vol.Invalid(f"must be one of {', '.join(ROLES)} (or 0-3)")


_role = described(_role, {"anyOf": [{"enum": list(ROLES)}, {"enum": list(ROLE_NUMBERS)}]})

CREATE_SCHEMA = vol.Schema(
    {
        vol.Required("username"): _USERNAME,
        vol.Required("password"): _PASSWORD,
        vol.Optional("email", default=""): _EMAIL,
        vol.Optional("role", default="user"): _role,
        vol.Optional("is_active"): strict_bool,
    },
    extra=vol.PREVENT_EXTRA,
)
UPDATE_SCHEMA = vol.Schema(
    {
        vol.Optional("username"): _USERNAME,
        vol.Optional("email"): _EMAIL,
        vol.Optional("role"): _role,
        vol.Optional("is_active"): strict_bool,
    },
    extra=vol.PREVENT_EXTRA,
)
PASSWORD_SCHEMA = vol.Schema(
    {vol.Optional("old_password"): text(1024), vol.Required("new_password"): _PASSWORD},
    extra=vol.PREVENT_EXTRA,
)
LOCK_SCHEMA = vol.Schema({vol.Required("locked"): strict_bool}, extra=vol.PREVENT_EXTRA)
TOTP_VERIFY_SCHEMA = vol.Schema(
    {vol.Exclusive("code", "code"): text(16), vol.Exclusive("totp_code", "code"): text(16)},
    extra=vol.PREVENT_EXTRA,
)


def _user_id(request: web.Request) -> int:
    return path_id(request)


async def list_users(request: web.Request) -> web.Response:
    """All users (admin)."""
    users = await request.app[keys.AUTH].list_users()
    return json_response({"users": [user_json(u) for u in users]})


async def create_user(request: web.Request) -> web.Response:
    """Create a user → 201."""
    body = validate(CREATE_SCHEMA, await read_json(request))
    auth = request.app[keys.AUTH]
    user = await auth.create_user(
        body["username"], body["password"], email=body["email"], role=body["role"]
    )
    if body.get("is_active") is False:
        user = await auth.update_user(user.id, {"is_active": False})
    return json_response(user_json(user), status=201)


async def get_user(request: web.Request) -> web.Response:
    """One user (admin, or the user themself)."""
    return json_response(user_json(await request.app[keys.AUTH].get_user(_user_id(request))))


async def update_user(request: web.Request) -> web.Response:
    """Change username, email, role or active flag (admin)."""
    body = validate(UPDATE_SCHEMA, await read_json(request))
    user = await request.app[keys.AUTH].update_user(_user_id(request), body)
    return json_response(user_json(user))


async def delete_user(request: web.Request) -> web.Response:
    """Delete a user (admin); never the last admin."""
    await request.app[keys.AUTH].delete_user(_user_id(request))
    return json_response({"success": True})


async def create_api_key(request: web.Request) -> web.Response:
    """A new API key, shown once; the previous key of that user stops working."""
    key = await request.app[keys.AUTH].create_api_key(_user_id(request))
    return json_response({"api_key": key}, status=201)


async def change_password(request: web.Request) -> web.Response:
    """Change a password; the old one is required unless an admin does it."""
    body = validate(PASSWORD_SCHEMA, await read_json(request))
    actor = principal(request)
    await request.app[keys.AUTH].change_password(
        actor,
        _user_id(request),
        body.get("old_password"),
        body["new_password"],
        keep_token=request.cookies.get(SESSION_COOKIE),
    )
    return json_response({"success": True})


async def password_lock(request: web.Request) -> web.Response:
    """Lock or unlock a user's own password changes (admin)."""
    body = validate(LOCK_SCHEMA, await read_json(request))
    user = await request.app[keys.AUTH].set_password_lock(_user_id(request), body["locked"])
    return json_response({"success": True, "password_change_locked": user.password_change_locked})


async def totp_setup(request: web.Request) -> web.Response:
    """Start TOTP enrolment: the secret and the otpauth:// URI for a QR code."""
    auth = request.app[keys.AUTH]
    user = await auth.get_user(_user_id(request))
    if user.totp_enabled:
        raise Conflict("TOTP is already enabled; disable it first")
    secret, uri = await auth.totp_setup(user.id)
    return json_response({"secret": secret, "otpauth_uri": uri})


async def totp_verify(request: web.Request) -> web.Response:
    """Confirm enrolment with a code; TOTP is enabled from then on."""
    body = validate(TOTP_VERIFY_SCHEMA, await read_json(request))
    code = body.get("code") or body.get("totp_code")
    if not code:
        raise BadRequest("missing field 'code'")
    await request.app[keys.AUTH].totp_verify(_user_id(request), code)
    return json_response({"success": True, "totp_enabled": True})


async def totp_disable(request: web.Request) -> web.Response:
    """Turn TOTP off."""
    await read_json(request, optional=True)
    await request.app[keys.AUTH].totp_disable(_user_id(request))
    return json_response({"success": True, "totp_enabled": False})


async def totp_status(request: web.Request) -> web.Response:
    """Whether TOTP is enabled, and whether a secret is configured."""
    user = await request.app[keys.AUTH].get_user(_user_id(request))
    return json_response(
        {"totp_enabled": user.totp_enabled, "totp_configured": bool(user.totp_secret)}
    )


def add_routes(table: RouteTable) -> None:
    """Declare the user-management routes."""
    base = "/api/auth/users"
    one = base + r"/{id:\d+}"
    table.add("GET", base, list_users, Access.ADMIN, "List users")
    table.add("POST", base, create_user, Access.ADMIN, "Create a user", CREATE_SCHEMA)
    table.add("GET", one, get_user, Access.SELF, "Get a user")
    table.add("PUT", one, update_user, Access.ADMIN, "Update a user", UPDATE_SCHEMA)
    table.add("DELETE", one, delete_user, Access.ADMIN, "Delete a user")
    table.add("POST", one + "/api-key", create_api_key, Access.SELF_KEY, "Generate an API key")
    table.add(
        "PUT",
        one + "/password",
        change_password,
        Access.SELF,
        "Change a password",
        PASSWORD_SCHEMA,
    )
    table.add(
        "PUT",
        one + "/password-lock",
        password_lock,
        Access.ADMIN,
        "Lock password changes",
        LOCK_SCHEMA,
    )
    table.add("POST", one + "/totp/setup", totp_setup, Access.SELF, "Start TOTP setup")
    table.add(
        "POST",
        one + "/totp/verify",
        totp_verify,
        Access.SELF,
        "Verify and enable TOTP",
        TOTP_VERIFY_SCHEMA,
    )
    table.add("POST", one + "/totp/disable", totp_disable, Access.SELF, "Disable TOTP")
    table.add("GET", one + "/totp/status", totp_status, Access.SELF, "TOTP status")
