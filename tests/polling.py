"""Waiting in tests: poll a condition instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_until(
    predicate: Callable[[], Awaitable[Any]] | Callable[[], Any],
    within: float = 10.0,
    what: str = "condition",
    step: float = 0.05,
) -> Any:
    """Poll `predicate` (sync or async) until truthy and return its value; fail after `within` s."""
    end = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(step)
