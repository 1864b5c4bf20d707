"""How a process that builds a large site handles its heap: the garbage collector kept
out of a cold pass, and memory handed back to the system (glibc's malloc) after it.

Nothing here changes what the process computes; elsewhere than glibc, malloc is left
as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
from collections.abc import Iterator


def few_malloc_arenas(arenas: int = 2) -> None:
    """Have glibc keep ``arenas`` malloc arenas, not up to eight per core, in a process
    that runs for long: each thread that allocates gets an arena of its own and keeps
    what it frees there, so a `serve` whose passes rewrote hundreds of archives grew by
    45 MiB over a few deletion bursts, and held 175 MiB instead of 219 MiB with two.
    An operator's MALLOC_ARENA_MAX wins; elsewhere than glibc, nothing happens."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)


M_ARENA_MAX = -8  # glibc's malloc.h


def give_back() -> None:
    """Return the free memory at the top of the heap and in whole free pages to the
    system: after a cold pass, whose reads and renders peaked far above what the
    process then keeps (a 100,000-article pass: 760 MiB resident, 500 MiB after)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextlib.contextmanager
def cold_pass() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a cold pass.

    A cold pass makes a few million objects that all live on (the catalog, the
    entries, the state) and no cycles: the collector would walk the growing heap
    again and again, a fifth of the pass, and free nothing. Afterwards the
    survivors are frozen, out of every later collection's way, so a long-running
    publisher does not walk its catalog each time the collector runs either; and what
    the pass freed goes back to the system."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
        give_back()
