"""How many threads an engine uses (shared by every engine; imports nothing of the package)."""
from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_num_threads() -> int:
    """Threads per engine: ``BLAZEPOSE_NUM_THREADS`` if set, else the number of usable cores.

    Measured on a 2-core machine (benchmarks/threads.py): 2 threads beat 1 on every model (full:
    9.9 vs 21.1 ms), so all cores is the default; batch workers set it to cores / workers.
    """
    env = os.environ.get("BLAZEPOSE_NUM_THREADS")
    if env:
        return max(1, int(env))
    return usable_cores()
