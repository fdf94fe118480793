"""Where a still image's time goes outside the two model calls, stage by stage.

``process_image`` (full model, one person, LiteRT, arrays already decoded) on the six fixture
photos; every stage it runs is timed where it runs (right after a model call, as in real use)
and again warm (the same call with the same arguments repeated back to back). The gap between
the two columns is what running after a model call costs the same Python and numpy code: the
model's work evicts it from the caches, so each stage pays its first touch again. MediaPipe
0.10.14's own median time per image is printed in the same run.

    .venv/bin/python benchmarks/stage_times.py [--repeats 30] [--no-reference]
"""
from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FIXTURES = HERE.parents[0] / "tests" / "data"

#: (module, function) pairs that process_image calls by module attribute, in pipeline order.
STAGES = (("detector", "detector_input"), ("detector", "decode"), ("detector", "weighted_nms"),
          ("detector", "remove_letterbox"), ("landmarks", "landmark_input"), ("landmarks", "decode_pose"))


def images() -> list[Path]:
    return [FIXTURES / "reference" / "pose.jpg", FIXTURES / "reference" / "dance.jpg",
            *sorted((FIXTURES / "coco").glob("*.jpg"))]


def measure(repeats: int) -> tuple[dict, dict, list, list]:
    from blazepose import PoseLandmarker
    from blazepose.io.images import read_image
    from blazepose.stages import detector, landmarks
    from image_latency import time_model_calls

    modules = {"detector": detector, "landmarks": landmarks}
    cold: dict[str, list[float]] = {}
    last: dict[str, collections.deque] = {}   # each stage's calls on the last round of photos
    originals = {}

    def timed(name, fn):
        def wrapper(*args, **kw):
            t = time.perf_counter()
            out = fn(*args, **kw)
            cold.setdefault(name, []).append((time.perf_counter() - t) * 1000)
            last.setdefault(name, collections.deque(maxlen=len(arrays))).append((fn, args, kw))
            return out
        return wrapper

    arrays = [read_image(p) for p in images()]
    totals: list[float] = []
    with PoseLandmarker("full") as pl:
        for mod, fn in STAGES:
            originals[(mod, fn)] = getattr(modules[mod], fn)
            setattr(modules[mod], fn, timed(fn, originals[(mod, fn)]))
        pl._result = timed("result", pl._result)
        model = time_model_calls(pl)
        try:
            for a in arrays:        # warm-up
                pl.process_image(a)
            cold.clear()
            model.clear()
            for _ in range(repeats):
                for a in arrays:
                    t = time.perf_counter()
                    pl.process_image(a)
                    totals.append((time.perf_counter() - t) * 1000)
            warm = {}
            for name, calls in last.items():
                per_call = []
                for fn, args, kw in calls:
                    ts = []
                    for _ in range(20):
                        t = time.perf_counter()
                        fn(*args, **kw)
                        ts.append((time.perf_counter() - t) * 1000)
                    per_call.append(statistics.median(ts[1:]))
                warm[name] = statistics.mean(per_call)
        finally:
            for (mod, fn), orig in originals.items():
                setattr(modules[mod], fn, orig)
    return cold, warm, totals, model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--no-reference", action="store_true", help="leave out MediaPipe 0.10.14")
    a = ap.parse_args()
    paths = images()
    if not a.no_reference:
        from reference import run_reference

        ref = run_reference(HERE / "_mp_image.py", "1", str(a.repeats), *map(str, paths))
        print(f"mediapipe 0.10.14 legacy, full: {statistics.median(ref['times_ms']):.2f} ms per image (median)")
    cold, warm, totals, model = measure(a.repeats)
    n = len(totals)
    per_image = {k: sum(v) / n for k, v in cold.items()}
    print(f"blazepose process_image, full, {len(paths)} photos x {a.repeats}: median {statistics.median(totals):.2f} ms, "
          f"mean {statistics.mean(totals):.2f} ms, of which the two model calls {sum(model) / n:.2f} ms")
    print(f"{'stage':<18}{'in pipeline':>13}{'warm':>8}   (ms per image; warm: each photo's call repeated, median, then the mean over the photos)")
    for name, ms in per_image.items():
        print(f"{name:<18}{ms:>13.3f}{warm[name]:>8.3f}")
    rest = statistics.mean(totals) - sum(model) / n - sum(per_image.values())
    print(f"{'everything else':<18}{rest:>13.3f}")
    print(f"overhead outside the model calls: {statistics.mean(totals) - sum(model) / n:.2f} ms "
          f"({1 - sum(model) / sum(totals):.1%} of the time)")


if __name__ == "__main__":
    main()
