"""Still-image latency: this project vs MediaPipe 0.10.14's legacy solution, same run.

Both sides process the same photos (the reference fixtures and the COCO fixtures) with the same
model files, MediaPipe with ``static_image_mode=True``. Prints, per model, the median latency
per image for each side, their ratio, and our pipeline overhead: the share of our time spent
outside the two model calls (detector and landmark model).

    .venv/bin/python benchmarks/image_latency.py [--repeats 15] [--models lite full heavy]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FIXTURES = HERE.parents[0] / "tests" / "data"

from reference import run_reference  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def images() -> list[Path]:
    ref = FIXTURES / "reference"
    return [ref / "pose.jpg", ref / "dance.jpg", *sorted((FIXTURES / "coco").glob("*.jpg"))]


def measure_ours(model: str, paths: list[Path], repeats: int) -> dict:
    from blazepose import PoseLandmarker
    from blazepose.io.images import read_image

    arrays = [read_image(p) for p in paths]
    with PoseLandmarker(model) as pl:
        model_ms = []
        for eng in (pl._detector, pl._landmarker):
            run = eng.run

            def timed(batch, _run=run):
                t = time.perf_counter()
                out = _run(batch)
                model_ms.append((time.perf_counter() - t) * 1000)
                return out
            eng.run = timed
        pl.process_image(arrays[0])   # warm-up
        model_ms.clear()
        totals = []
        for _ in range(repeats):
            for a in arrays:
                t = time.perf_counter()
                pl.process_image(a)
                totals.append((time.perf_counter() - t) * 1000)
        threads = pl.num_threads
    return {"median_ms": statistics.median(totals), "overhead": 1 - sum(model_ms) / sum(totals),
            "threads": threads}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--models", nargs="+", default=["lite", "full", "heavy"], choices=list(COMPLEXITY))
    ap.add_argument("--quick", action="store_true", help="3 repeats, full model only")
    a = ap.parse_args()
    if a.quick:
        a.repeats, a.models = 3, ["full"]
    paths = images()
    print(f"{len(paths)} images x {a.repeats} repeats, medians per image (ms)")
    print(f"{'model':<7}{'blazepose':>11}{'mediapipe':>11}{'ratio':>8}{'overhead':>10}")
    for m in a.models:
        ours = measure_ours(m, paths, a.repeats)
        ref = run_reference(HERE / "_mp_image.py", str(COMPLEXITY[m]), str(a.repeats), *map(str, paths))
        mp_med = statistics.median(ref["times_ms"])
        print(f"{m:<7}{ours['median_ms']:>11.1f}{mp_med:>11.1f}{ours['median_ms'] / mp_med:>8.2f}"
              f"{ours['overhead'] * 100:>9.1f}%", flush=True)
    print(f"(blazepose: ai-edge-litert, {ours['threads']} threads; ratio = blazepose / mediapipe)")


if __name__ == "__main__":
    main()
