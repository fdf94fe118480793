"""Which engine thread count is fastest here: per-model median latency for 1..N threads.

    .venv/bin/python benchmarks/threads.py [--repeats 50]

The result sets the default (``blazepose.runtime.engine.default_num_threads``: all usable cores).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--max-threads", type=int, default=max(2, os.cpu_count() or 1))
    a = ap.parse_args()
    from blazepose.models import registry
    from blazepose.runtime.engine import DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, LiteRTEngine

    rng = np.random.default_rng(0)
    print(f"{'model':<10}" + "".join(f"{f'{t} thr':>10}" for t in range(1, a.max_threads + 1)) + "   (median ms)")
    for name in ("detector", "lite", "full", "heavy"):
        names = DETECTOR_OUTPUTS if name == "detector" else LANDMARK_OUTPUTS
        row = []
        for t in range(1, a.max_threads + 1):
            eng = LiteRTEngine(registry.resolve(name), names, num_threads=t)
            x = rng.uniform(-1, 1, eng.input_shape).astype(np.float32)
            eng.run(x)
            ts = []
            for _ in range(a.repeats):
                s = time.perf_counter()
                eng.run(x)
                ts.append((time.perf_counter() - s) * 1000)
            row.append(statistics.median(ts))
        print(f"{name:<10}" + "".join(f"{v:>10.1f}" for v in row), flush=True)


if __name__ == "__main__":
    main()
