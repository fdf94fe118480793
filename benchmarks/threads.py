"""Model-call latency: which engine thread count is fastest here, and what pruning the mask saves.

    .venv/bin/python benchmarks/threads.py [--repeats 50] [--engines litert openvino] [--skip-threads]

Table 1 (LiteRT): per-model median latency for 1..N threads; the result sets the default
(``blazepose.runtime.engine.default_num_threads``: all usable cores).
Table 2: per landmark model and engine, the median landmark call on the official file and on the
file without its segmentation branch (``blazepose.models.prune``), both at the default thread
count, interleaved call by call in the same run, and their ratio.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time

import numpy as np


def median_ms(eng, x, repeats: int) -> float:
    eng.run(x)
    ts = []
    for _ in range(repeats):
        s = time.perf_counter()
        eng.run(x)
        ts.append((time.perf_counter() - s) * 1000)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--max-threads", type=int, default=max(2, os.cpu_count() or 1))
    ap.add_argument("--engines", nargs="+", default=["litert", "openvino"])
    ap.add_argument("--skip-threads", action="store_true", help="only the pruning table")
    a = ap.parse_args()
    from blazepose.models import prune, registry
    from blazepose.runtime.engine import DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, LiteRTEngine, load_engine

    rng = np.random.default_rng(0)
    if not a.skip_threads:
        print(f"{'model':<10}" + "".join(f"{f'{t} thr':>10}" for t in range(1, a.max_threads + 1))
              + "   (LiteRT, median ms per call)")
        for name in ("detector", "lite", "full", "heavy"):
            names = DETECTOR_OUTPUTS if name == "detector" else LANDMARK_OUTPUTS
            row = []
            for t in range(1, a.max_threads + 1):
                eng = LiteRTEngine(registry.resolve(name), names, num_threads=t)
                x = rng.uniform(-1, 1, eng.input_shape).astype(np.float32)
                row.append(median_ms(eng, x, a.repeats))
            print(f"{name:<10}" + "".join(f"{v:>10.1f}" for v in row), flush=True)

    engines = [e for e in a.engines if e != "openvino" or importlib.util.find_spec("openvino")]
    print(f"\n{'model':<7}{'engine':<10}{'official':>10}{'no mask':>10}{'ratio':>8}   (median ms per landmark call)")
    wanted = ["landmarks", "pose_flag", "heatmap", "world"]
    for name in ("lite", "full", "heavy"):
        x = rng.uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
        for engine in engines:
            full = load_engine(registry.resolve(name), LANDMARK_OUTPUTS, outputs=wanted, engine=engine)
            small = load_engine(prune.pruned_path(name), LANDMARK_OUTPUTS, outputs=wanted, engine=engine)
            ta, tb = [], []
            for _ in range(max(1, a.repeats // 5)):   # interleaved, so load drifts hit both alike
                ta.append(median_ms(full, x, 5))
                tb.append(median_ms(small, x, 5))
            ma, mb = statistics.median(ta), statistics.median(tb)
            print(f"{name:<7}{engine:<10}{ma:>10.2f}{mb:>10.2f}{mb / ma:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
