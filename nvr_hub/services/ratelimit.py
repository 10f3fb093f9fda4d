"""Login rate limiting: N failures per user or address within a window → 429."""

from __future__ import annotations

import math
import time
from collections import deque

from nvr_hub.errors import RateLimited


class LoginLimiter:
    """Counts failed logins per key (`user:NAME`, `addr:IP`) in a sliding window."""

    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, *keys: str) -> None:
        """Raise `RateLimited` with the seconds to wait if any key is over the limit."""
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self._max:
                wait = max(wait, times[-self._max] + self._window - now)
        if wait > 0:
            raise RateLimited(
                "too many failed login attempts; try again later", retry_after=math.ceil(wait)
            )

    def fail(self, *keys: str) -> None:
        """Record one failure against every key."""
        now = time.monotonic()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
            # Bound memory under a flood from many addresses.
            if len(self._failures[key]) > self._max * 4:
                self._failures[key].popleft()
        if len(self._failures) > 100_000:
            for key in list(self._failures)[:50_000]:
                del self._failures[key]

    def reset(self, *keys: str) -> None:
        """Forget failures after a successful login."""
        for key in keys:
            self._failures.pop(key, None)
