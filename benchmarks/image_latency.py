"""Still-image latency and CPU time: this project (each engine) vs MediaPipe 0.10.14's legacy
solution and MediaPipe Tasks (the newest wheel, IMAGE mode), same run, same model files.

All sides process the same photos (the reference fixtures and the COCO fixtures); MediaPipe
legacy with ``static_image_mode=True``; Tasks with a ``.task`` bundle built from this project's
verified detector and landmark files (reference.tasks_bundle). Prints, per model and side, the
median wall-clock ms per image, the CPU ms per image (process time, all threads, over the timed
loop), the ratios to each reference, and our pipeline overhead: the share of our wall time
spent outside the two model calls (detector and landmark model).

    .venv/bin/python benchmarks/image_latency.py [--repeats 15] [--models lite full heavy]
        [--engines litert openvino] [--no-tasks]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FIXTURES = HERE.parents[0] / "tests" / "data"

from reference import run_reference, run_tasks, tasks_bundle  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def images() -> list[Path]:
    ref = FIXTURES / "reference"
    return [ref / "pose.jpg", ref / "dance.jpg", *sorted((FIXTURES / "coco").glob("*.jpg"))]


def time_model_calls(pl) -> list[float]:
    """Wrap a landmarker's two engines so that each model call appends its wall ms to the list
    returned (clear it after the warm-up)."""
    model_ms: list[float] = []
    for eng in (pl._detector, pl._landmarker):
        run = eng.run

        def timed(batch, _run=run):
            t = time.perf_counter()
            out = _run(batch)
            model_ms.append((time.perf_counter() - t) * 1000)
            return out
        eng.run = timed
    return model_ms


def measure_ours(model: str, paths: list[Path], repeats: int, engine: str) -> dict:
    from blazepose import PoseLandmarker
    from blazepose.io.images import read_image

    arrays = [read_image(p) for p in paths]
    with PoseLandmarker(model, engine=engine) as pl:
        model_ms = time_model_calls(pl)
        first = pl.process_image(arrays[0])   # warm-up
        model_ms.clear()
        totals = []
        c0 = time.process_time()
        for _ in range(repeats):
            for a in arrays:
                t = time.perf_counter()
                pl.process_image(a)
                totals.append((time.perf_counter() - t) * 1000)
        cpu = (time.process_time() - c0) * 1000 / len(totals)
        threads = pl.num_threads
    return {"median_ms": statistics.median(totals), "cpu_ms": cpu, "threads": threads,
            "overhead": 1 - sum(model_ms) / sum(totals), "first": first.xyn[0] if len(first) else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--models", nargs="+", default=["lite", "full", "heavy"], choices=list(COMPLEXITY))
    ap.add_argument("--engines", nargs="+", default=["litert", "openvino"])
    ap.add_argument("--no-tasks", action="store_true", help="leave out MediaPipe Tasks")
    ap.add_argument("--quick", action="store_true", help="3 repeats, full model only")
    a = ap.parse_args()
    if a.quick:
        a.repeats, a.models = 3, ["full"]
    engines = [e for e in a.engines if e != "openvino" or importlib.util.find_spec("openvino")]
    paths = images()
    print(f"{len(paths)} images x {a.repeats} repeats; wall = median ms per image, cpu = CPU ms per image "
          "(all threads); ratios = ours / reference (wall, cpu)")
    print(f"{'model':<7}{'side':<18}{'wall':>8}{'cpu':>8}{'vs legacy':>13}{'vs tasks':>13}{'overhead':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for m in a.models:
            ref = run_reference(HERE / "_mp_image.py", str(COMPLEXITY[m]), str(a.repeats), *map(str, paths))
            legacy = (statistics.median(ref["times_ms"]), ref["cpu_ms"])
            tasks = None
            if not a.no_tasks:
                t = run_tasks(str(tasks_bundle(m, Path(tmp))), "IMAGE", str(a.repeats), *map(str, paths))
                tasks = (statistics.median(t["times_ms"]), t["cpu_ms"])
            print(f"{m:<7}{'mediapipe legacy':<18}{legacy[0]:>8.1f}{legacy[1]:>8.1f}")
            if tasks:
                print(f"{m:<7}{'mediapipe tasks':<18}{tasks[0]:>8.1f}{tasks[1]:>8.1f}   "
                      f"(MediaPipe {t['version']})")
            for engine in engines:
                o = measure_ours(m, paths, a.repeats, engine)
                vs_t = f"{o['median_ms'] / tasks[0]:.2f}, {o['cpu_ms'] / tasks[1]:.2f}" if tasks else "-"
                print(f"{m:<7}{'blazepose ' + engine:<18}{o['median_ms']:>8.1f}{o['cpu_ms']:>8.1f}"
                      f"{o['median_ms'] / legacy[0]:>7.2f},{o['cpu_ms'] / legacy[1]:>5.2f}{vs_t:>13}"
                      f"{o['overhead'] * 100:>9.1f}%", flush=True)
                if tasks and t.get("first") is not None and o["first"] is not None:
                    import numpy as np
                    d = np.abs(np.asarray(t["first"]) - o["first"][:, :2]).max()
                    if d > 0.05:
                        print(f"        (warning: Tasks' landmarks on {paths[0].name} differ from ours by {d:.3f})")
    print(f"(blazepose: {o['threads']} threads; the landmark model runs without its segmentation branch)")


if __name__ == "__main__":
    main()
