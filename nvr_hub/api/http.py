"""HTTP plumbing: the route table, JSON bodies, and the error and auth middlewares."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from nvr_hub import keys
from nvr_hub.api.access import Access, check
from nvr_hub.api.routing import Handler
from nvr_hub.errors import BadRequest, NotFound, NvrHubError, RateLimited, Unauthorized
from nvr_hub.services.auth import Principal

_LOGGER = logging.getLogger(__name__)

PRINCIPAL = web.RequestKey("principal", Principal)
SESSION_COOKIE = "session"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def json_response(data: Any, status: int = 200, **kwargs: Any) -> web.Response:
    """A JSON response that never escapes non-ASCII needlessly."""
    return web.json_response(
        data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False), **kwargs
    )


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """The single error shape: `{"error": "..."}`."""
    return json_response({"error": message}, status=status, headers=headers)


async def read_json(request: web.Request, *, optional: bool = False) -> Any:
    """The parsed JSON body, with precise errors for the wrong type or malformed text."""
    ctype = request.content_type
    if request.body_exists and ctype not in ("application/json", "application/octet-stream", ""):
        if not ctype.endswith("+json"):
            raise web.HTTPUnsupportedMediaType(text="expected a JSON body")
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("a JSON body is required")
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as err:
        raise BadRequest(f"malformed JSON body: the key '{err}' appears twice") from err
    except UnicodeDecodeError as err:
        raise BadRequest("the body is not valid UTF-8") from err
    except json.JSONDecodeError as err:
        raise BadRequest(
            f"malformed JSON body: {err.msg} at line {err.lineno} column {err.colno}"
        ) from err
    except RecursionError as err:
        raise BadRequest("malformed JSON body: nested too deeply") from err
    except ValueError as err:  # an integer beyond Python's digit limit
        raise BadRequest("malformed JSON body: a number has too many digits") from err
    bad = _unencodable_field(data)
    if bad is not None:
        # A lone surrogate escape ("\ud800") parses, but no database can store it.
        raise BadRequest(f"invalid field '{bad}': not valid Unicode text")
    return data


class _DuplicateKey(ValueError):
    """A JSON object names one key twice (which one wins is not the client's choice)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key[:64])
        out[key] = value
    return out


def _unencodable_field(data: Any) -> str | None:
    """The path of the first string (or key) that is not encodable as UTF-8, if any."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not _encodable(key):
                    return path or "body"
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str) and not _encodable(value):
            return path or "body"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL


def path_id(request: web.Request, name: str = "id") -> int:
    """A numeric path id; one past any column's range cannot exist (404, not 500)."""
    value = int(request.match_info[name])
    if value > MAX_ID:
        raise NotFound("not found")
    return value


def principal(request: web.Request) -> Principal:
    """The authenticated caller (the auth middleware guarantees one on non-public routes)."""
    return request[PRINCIPAL]


def client_address(request: web.Request) -> str:
    """The peer address used for rate limiting."""
    return request.remote or "unknown"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map the error tree and aiohttp's HTTP errors to `{"error"}`; never a traceback."""
    try:
        return await handler(request)
    except RateLimited as err:
        return error_response(err.status, str(err), {"Retry-After": str(err.retry_after)})
    except NvrHubError as err:
        return error_response(err.status, str(err))
    except web.HTTPException as err:
        if err.status < 400:
            raise
        message = {
            404: "not found",
            405: f"method {request.method} not allowed",
            413: "request body too large",
            415: "unsupported media type; send JSON",
        }.get(err.status, err.reason)
        if (
            err.text
            and err.status not in (404, 405, 413)
            and not err.text.startswith(str(err.status))
        ):
            message = err.text
        headers = {
            k: v for k, v in err.headers.items() if k in ("Allow", "Retry-After", "Content-Range")
        }
        return error_response(err.status, message, headers)
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception:
        _LOGGER.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error")


def _origin_ok(request: web.Request) -> bool:
    """Browsers send Origin on cross-origin writes; it must name this host (or its proxy)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    hosts = {request.host.lower()}
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded:
        hosts.add(forwarded.split(",")[0].strip().lower())
    return urlsplit(origin).netloc.lower() in hosts


async def _authenticate(request: web.Request) -> Principal | None:
    auth = request.app[keys.AUTH]
    key = request.headers.get("X-API-Key")
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if key is None and scheme.lower() == "bearer" and value.strip():
        key = value.strip()
    if key is not None:
        by_key: Principal | None = await auth.api_key_principal(key)
        if by_key is None:
            raise Unauthorized("invalid API key")
        return by_key
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise Unauthorized("malformed Basic credentials") from err
        username, sep, password = decoded.partition(":")
        if not sep:
            raise Unauthorized("malformed Basic credentials")
        basic: Principal = await auth.basic_principal(username, password, client_address(request))
        return basic
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        by_cookie: Principal | None = await auth.session_principal(token)
        return by_cookie
    return None


def _check_nul(request: web.Request) -> None:
    """No path or query parameter holds NUL: PostgreSQL refuses even to compare with one."""
    sources = (("path parameter", request.match_info), ("query parameter", request.query))
    for where, values in sources:
        for name, value in values.items():
            if "\x00" in value:
                raise BadRequest(f"invalid {where} '{name}': must not contain NUL characters")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Deny by default: every route needs credentials unless it is declared public."""
    table = request.app[keys.ROUTES]
    match_info = request.match_info
    if match_info.http_exception is not None:
        raise match_info.http_exception
    spec = table.by_route.get(match_info.route)
    access = spec.access if spec is not None else Access.ADMIN
    if access is Access.PUBLIC:
        _check_nul(request)
        return await handler(request)
    found = await _authenticate(request)
    if found is None:
        raise Unauthorized("authentication required")
    if found.method == "session" and request.method in _UNSAFE and not _origin_ok(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    check(access, found, match_info.get("id"))
    request[PRINCIPAL] = found
    _check_nul(request)
    return await handler(request)
