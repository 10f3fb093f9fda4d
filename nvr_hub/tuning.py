"""Process-wide tuning applied at start-up, before any thread exists."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt(3) parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

# Two arenas instead of glibc's 8 per core: every camera thread allocates (packets,
# fragment buffers) and would otherwise get an arena of its own, each keeping freed
# memory. Blocks from 256 KiB up (keyframes, the muxer's fragment buffers) are mmapped,
# so they go back to the OS when freed; a fixed threshold also stops glibc from raising
# it (up to 32 MiB) after the first large free.
# Measured with bench/record.py at 64 cameras: peak RSS 285 -> 225 MB, but on a loaded
# 2-core machine 1.4-2.5x the CPU and context switches (arena-lock and mmap/munmap
# contention between camera threads), so nothing calls this by default; it is
# `bench/record.py --tune-malloc`.
ARENA_MAX = 2
MMAP_THRESHOLD = 256 * 1024

# What glibc reads from the environment for the same settings: an explicit value there
# wins over ours.
_ENV = {
    M_ARENA_MAX: "MALLOC_ARENA_MAX",
    M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_",
}


def tune_malloc() -> bool:
    """Apply the glibc malloc settings above; False where malloc is not glibc's.

    Call it first thing in the process: arenas made by threads that already ran keep
    existing.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - musl has mallopt but ignores it
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = True
    for param, value in (
        (M_ARENA_MAX, ARENA_MAX),
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    ):
        if _ENV[param] in os.environ:
            continue
        ok = bool(mallopt(param, value)) and ok
    return ok
