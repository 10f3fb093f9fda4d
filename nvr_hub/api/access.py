"""Who may call what: one access level per route, checked by one middleware."""

from __future__ import annotations

import enum

from nvr_hub.errors import Forbidden
from nvr_hub.services.auth import Principal


class Access(enum.Enum):
    """The access level a route requires (see contract/NOTES.md, Roles)."""

    PUBLIC = "public"  # no credentials
    ANY = "any"  # any signed-in principal (verify, logout)
    VIEW = "view"  # admin, user, viewer, api: read-only
    OPERATE = "operate"  # admin, user, api: streams, recordings, zones, PTZ, motion...
    SELF = "self"  # admin for anyone; user and viewer for their own {id}
    SELF_KEY = "self_key"  # admin for anyone; user for their own {id}
    ADMIN = "admin"


_ROLES: dict[Access, frozenset[str]] = {
    Access.ANY: frozenset({"admin", "user", "viewer", "api"}),
    Access.VIEW: frozenset({"admin", "user", "viewer", "api"}),
    Access.OPERATE: frozenset({"admin", "user", "api"}),
    Access.SELF: frozenset({"admin", "user", "viewer"}),
    Access.SELF_KEY: frozenset({"admin", "user"}),
    Access.ADMIN: frozenset({"admin"}),
}


def check(access: Access, principal: Principal, target_user_id: str | None) -> None:
    """Raise Forbidden unless `principal` may use a route with `access`."""
    if access is Access.PUBLIC:
        return
    if principal.role not in _ROLES[access]:
        raise Forbidden(f"the '{principal.role}' role may not do this")
    if access in (Access.SELF, Access.SELF_KEY) and principal.role != "admin":
        if target_user_id is None or target_user_id != str(principal.user_id):
            raise Forbidden("you may only manage your own account")
