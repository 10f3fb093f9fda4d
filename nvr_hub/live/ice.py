"""Which local addresses a peer connection offers as ICE host candidates.

aioice gathers on every interface address except 127.0.0.1 and has no option to
change that. A hub behind Docker's NAT, or one watched from the same machine, needs
to name its addresses; so aioice's address lookup is wrapped once to consult a
context variable, which `host_addresses()` sets around one negotiation only. Tasks
that aiortc starts while gathering copy the context, so nothing else is affected.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aioice.ice
from aiortc import RTCIceServer

_ADDRESSES: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "nvr_hub_ice_host_addresses", default=None
)
_MARK = "_nvr_hub_wrapped"


def _install() -> None:
    original: Callable[..., list[str]] = aioice.ice.get_host_addresses
    if getattr(original, _MARK, False):
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        chosen = _ADDRESSES.get()
        if chosen is None:
            return original(use_ipv4, use_ipv6)
        return [
            address
            for address in chosen
            if (use_ipv4 if ipaddress.ip_address(address).version == 4 else use_ipv6)
        ]

    setattr(get_host_addresses, _MARK, True)
    aioice.ice.get_host_addresses = get_host_addresses


@contextmanager
def host_addresses(addresses: Sequence[str]) -> Iterator[None]:
    """Within this block, gather host candidates on exactly `addresses` (empty: aioice's own)."""
    _install()
    token = _ADDRESSES.set(tuple(addresses) if addresses else None)
    try:
        yield
    finally:
        _ADDRESSES.reset(token)


def ice_servers(raw: Sequence[dict[str, Any]]) -> list[RTCIceServer]:
    """The `ice_servers` setting as aiortc's RTCIceServer objects."""
    return [
        RTCIceServer(
            urls=list(server["urls"]),
            username=server.get("username"),
            credential=server.get("credential"),
        )
        for server in raw
    ]
