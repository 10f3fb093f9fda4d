"""The route table: every route with its access level and description."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import voluptuous as vol
from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from nvr_hub.api.access import Access

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RouteSpec:
    """One route: where, who may call it, and what it does (for the OpenAPI document)."""

    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    body: vol.Schema | None = None
    tags: tuple[str, ...] = ()


@dataclass
class RouteTable:
    """Every API route with its access level; the auth middleware reads it."""

    specs: list[RouteSpec] = field(default_factory=list)
    by_route: dict[AbstractRoute, RouteSpec] = field(default_factory=dict)

    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        access: Access,
        summary: str,
        body: vol.Schema | None = None,
    ) -> None:
        """Declare a route; `register` adds it to the router."""
        tag = path.split("/")[2] if path.startswith("/api/") else path.split("/")[1]
        self.specs.append(RouteSpec(method, path, handler, access, summary, body, (tag,)))

    def register(self, app: web.Application) -> None:
        """Add every declared route to the app's router."""
        for spec in self.specs:
            if spec.method == "GET":
                route = app.router.add_get(spec.path, spec.handler)
                for sibling in route.resource or ():
                    if sibling.method == "HEAD":
                        self.by_route[sibling] = spec
            else:
                route = app.router.add_route(spec.method, spec.path, spec.handler)
            self.by_route[route] = spec

    def mark_public(self, route: AbstractRoute, summary: str) -> None:
        """Record a route added directly to the router (static files) as public."""
        path = route.resource.canonical if route.resource else ""

        async def _unused(_request: web.Request) -> web.StreamResponse:
            raise web.HTTPNotFound()

        self.by_route[route] = RouteSpec(route.method, path, _unused, Access.PUBLIC, summary)
