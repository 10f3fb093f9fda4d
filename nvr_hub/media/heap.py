"""Hand the C heap's free pages back to the OS now and then (glibc's `malloc_trim`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

# Every camera thread allocates and frees keyframes and MP4 fragment buffers in its own
# glibc arena, and each arena keeps the pages it freed: at 64 cameras that is ~50 MB of
# free heap the process holds on to. Trimming every 10 s gives most of it back for
# a few milliseconds of work (bench/README.md, "Recording").
TRIM_INTERVAL = 10.0


class HeapTrimmer:
    """Calls glibc's `malloc_trim(0)`: every arena's free pages go back to the OS.

    A no-op (`available` False) where the C library is not glibc (musl, macOS). The
    call is made through ctypes, which drops the GIL, so camera threads keep running.
    """

    def __init__(self) -> None:
        self._trim: Callable[[int], int] | None = None
        if not sys.platform.startswith("linux"):
            return
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.gnu_get_libc_version  # noqa: B018 - glibc only; musl's has no such trim
            trim = libc.malloc_trim
        except (OSError, AttributeError):
            return
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
        self._trim = trim

    @property
    def available(self) -> bool:
        """True where `trim` does something."""
        return self._trim is not None

    def trim(self) -> bool:
        """Release free heap pages; True if any memory went back (blocking, a few ms)."""
        return self._trim is not None and bool(self._trim(0))
