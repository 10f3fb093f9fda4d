"""HeapTrimmer: freed C heap in a camera thread's arena goes back to the OS."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from nvr_hub.media.heap import HeapTrimmer

BLOCK = 64 * 1024  # under glibc's mmap threshold: served from the thread's arena
BLOCKS = 480  # 30 MiB


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_trim_gives_a_threads_freed_heap_back() -> None:
    heap = HeapTrimmer()
    assert heap.available  # this is Linux with glibc, as the hub's images are
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    readings: dict[str, float] = {}
    done = threading.Event()
    keep: list[int] = []

    def camera_like() -> None:
        # What a camera thread does to its arena: big buffers, touched, then freed, with
        # a live block above them so that glibc cannot just shrink the heap's top.
        blocks = [libc.malloc(BLOCK) for _ in range(BLOCKS)]
        for block in blocks:
            ctypes.memset(block, 1, BLOCK)
        keep.append(libc.malloc(BLOCK))
        for block in blocks:
            libc.free(block)
        readings["freed"] = rss_mb()
        done.set()

    before = rss_mb()
    thread = threading.Thread(target=camera_like)
    thread.start()
    thread.join()
    assert done.is_set()
    # glibc keeps what the thread freed: the process still holds it.
    assert readings["freed"] - before > 20
    assert heap.trim()
    assert readings["freed"] - rss_mb() > 20
    libc.free(keep[0])
