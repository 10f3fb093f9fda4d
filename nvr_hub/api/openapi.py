"""`GET /api/openapi.json`: the machine-readable API, built from the route table."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import voluptuous as vol
from aiohttp import web
from aiohttp.web_urldispatcher import StaticResource

from nvr_hub import __version__, keys
from nvr_hub.api.access import Access
from nvr_hub.api.http import json_response
from nvr_hub.api.routing import RouteSpec, RouteTable

_PARAM_RE = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def to_json_schema(schema: Any) -> dict[str, Any]:
    """Best-effort JSON schema of a voluptuous schema (dicts, lists, described leaves)."""
    if isinstance(schema, vol.Schema):
        out = to_json_schema(schema.schema)
        if isinstance(schema.schema, dict) and schema.extra == vol.PREVENT_EXTRA:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, dict):
        props: dict[str, Any] = {}
        required: list[str] = []
        for key, value in schema.items():
            name = str(key.schema if isinstance(key, vol.Marker) else key)
            props[name] = to_json_schema(value)
            if isinstance(key, vol.Required):
                required.append(name)
        obj: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            obj["required"] = required
        return obj
    if isinstance(schema, list):
        return {"type": "array", "items": to_json_schema(schema[0]) if schema else {}}
    if isinstance(schema, vol.All):
        for validator in schema.validators:
            found = to_json_schema(validator)
            if found:
                return found
        return {}
    if isinstance(schema, vol.Any):
        return {"anyOf": [to_json_schema(v) for v in schema.validators]}
    if isinstance(schema, vol.In):
        return {"enum": list(schema.container)}  # type: ignore[arg-type]
    described = getattr(schema, "json_schema", None)
    if isinstance(described, dict):
        return dict(described)
    if schema in (int, float, str, bool):
        return {"type": {int: "integer", float: "number", str: "string", bool: "boolean"}[schema]}
    return {}


def build(table: RouteTable) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every declared route."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in _all_specs(table):
        path = _PARAM_RE.sub(r"{\1}", spec.path)
        op: dict[str, Any] = {
            "summary": spec.summary,
            "tags": list(spec.tags),
            "operationId": f"{spec.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower())}",
            "responses": {
                "200": {"description": "Success"},
                "400": {"description": "Bad input", "content": _error_content()},
            },
            "x-access": spec.access.value,
        }
        params = _PARAM_RE.findall(spec.path)
        if params:
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        if spec.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": to_json_schema(spec.body)}},
            }
        if spec.access is Access.PUBLIC:
            op["security"] = []
        else:
            op["responses"]["401"] = {"description": "No credentials", "content": _error_content()}
            op["responses"]["403"] = {
                "description": "Role not allowed",
                "content": _error_content(),
            }
        paths.setdefault(path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nvr-hub",
            "version": __version__,
            "description": "LightNVR-compatible REST API served by nvr-hub.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            }
        },
        "security": [{"session": []}, {"apiKey": []}, {"bearer": []}, {"basic": []}],
    }


def _all_specs(table: RouteTable) -> list[RouteSpec]:
    """The declared routes plus those added straight to the router (the web UI pages)."""
    specs = list(table.specs)
    seen = {(spec.method, spec.path) for spec in specs}
    for route, spec in table.by_route.items():
        if route.method == "HEAD" or (spec.method, spec.path) in seen:
            continue
        seen.add((spec.method, spec.path))
        path = spec.path
        if isinstance(route.resource, StaticResource):
            path = path.rstrip("/") + "/{filename}"
        specs.append(dataclasses.replace(spec, path=path, tags=("web",)))
    return specs


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": _ERROR}}


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI document."""
    return json_response(build(request.app[keys.ROUTES]))


def add_routes(table: RouteTable) -> None:
    """Declare the OpenAPI route."""
    table.add("GET", "/api/openapi.json", openapi, Access.PUBLIC, "This API, as OpenAPI 3.1")
