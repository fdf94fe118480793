"""Several people per image on the COCO fixtures: how many annotated people get a pose.

For every COCO fixture annotation with at least 8 labelled keypoints, a person is *found* when a
predicted pose is matched to it (greedy one-to-one matching by PCK@0.2, see
``blazepose.apps.evaluate.match_people``) with PCK@0.2 >= 0.5. Prints the found fraction, the
number of poses returned, the duplicate pairs among them (OKS > 0.3), the detector calls per image
and the median time per image, for
``max_num_poses=1`` (the default, MediaPipe's path) and ``max_num_poses=10`` with the tiled detection
pass off (``detection_tiles=0``), on its default ``"auto"`` plan, and as today's 2x2 + 3x3 grids
(``detection_tiles=3``), optionally with other tile zooms for the auto plan (``--zooms``), and
for MediaPipe 0.10.14's legacy solution (one person per image, with its own median time) in the same run; then the time of
max_num_poses=10 (auto) over max_num_poses=1, both timed alternately in one loop.

    .venv/bin/python benchmarks/multi_person_coco.py [--repeats 5] [--tiles 3] [--zooms 2.0 2.5] [--no-reference]
    .venv/bin/python benchmarks/multi_person_coco.py --quick
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
COCO = HERE.parents[0] / "tests" / "data" / "coco"

MIN_LABELLED = 8
ALPHA, MIN_PCK = 0.2, 0.5


def eligible(anns: list[dict]) -> list[dict]:
    return [a for a in anns if sum(1 for v in a["keypoints"][2::3] if v > 0) >= MIN_LABELLED]


def found_people(coco17_by_image: dict, images: dict, anns: dict) -> tuple[int, int]:
    """(annotated people found, eligible annotated people) over the fixture images."""
    from blazepose.apps.evaluate import match_people

    found = total = 0
    for iid in images:
        people = eligible(anns.get(iid, []))
        total += len(people)
        found += len(match_people(coco17_by_image[iid], people, ALPHA, MIN_PCK))
    return found, total


def run_ours(max_num_poses: int, tiles, repeats: int, images: dict, anns: dict) -> dict:
    from blazepose import PoseLandmarker

    with PoseLandmarker("full", max_num_poses=max_num_poses, detection_tiles=tiles) as pl:
        calls = []
        run = pl._detector.run
        pl._detector.run = lambda batch: (calls.append(1), run(batch))[1]
        arrays = {iid: pl.load(COCO / im["file_name"]) for iid, im in images.items()}
        pl.process_image(next(iter(arrays.values())))  # warm-up
        calls.clear()
        times, results = [], {}
        for _ in range(repeats):
            for iid, rgb in arrays.items():
                t = time.perf_counter()
                results[iid] = pl.process_image(rgb)
                times.append((time.perf_counter() - t) * 1000)
    found, total = found_people({i: r.coco17 for i, r in results.items()}, images, anns)
    return {"found": found, "total": total, "poses": sum(len(r) for r in results.values()),
            "duplicates": sum(duplicate_pairs(r) for r in results.values()),
            "detector_calls": len(calls) / (repeats * len(arrays)), "median_ms": statistics.median(times)}


def duplicate_pairs(res, threshold: float = 0.3) -> int:
    """Pairs of returned poses whose OKS (over landmarks both see) exceeds ``threshold``."""
    from blazepose.stages.multi import oks

    return sum(oks(res.landmarks[i], res.landmarks[j], res.visibility[i], res.visibility[j]) > threshold
               for i in range(len(res)) for j in range(i))


def interleaved_ratio(repeats: int, images: dict) -> tuple[float, float]:
    """Median ms/image of max_num_poses=1 and of max_num_poses=10 (auto), timed alternately image
    by image in one loop so that both see the same machine load."""
    from blazepose import PoseLandmarker

    with PoseLandmarker("full") as one, PoseLandmarker("full", max_num_poses=10) as many:
        arrays = [one.load(COCO / im["file_name"]) for im in images.values()]
        one.process_image(arrays[0]), many.process_image(arrays[0])
        t1, t10 = [], []
        for _ in range(repeats):
            for rgb in arrays:
                for pl, ts in ((one, t1), (many, t10)):
                    t = time.perf_counter()
                    pl.process_image(rgb)
                    ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(t1), statistics.median(t10)


def run_reference_side(images: dict, anns: dict, repeats: int) -> dict:
    from reference import run_reference

    from blazepose.landmark import COCO17_FROM_BLAZEPOSE

    paths = {iid: str(COCO / im["file_name"]) for iid, im in images.items()}
    got = run_reference(HERE / "_mp_coco.py", "1", *paths.values())
    coco17 = {}
    for iid, p in paths.items():
        pts = got[p]
        coco17[iid] = (np.zeros((0, 17, 2)) if pts is None
                       else np.asarray(pts, dtype=np.float64)[list(COCO17_FROM_BLAZEPOSE)][None])
    found, total = found_people(coco17, images, anns)
    timed = run_reference(HERE / "_mp_image.py", "1", str(repeats), *paths.values())
    return {"found": found, "total": total, "poses": sum(len(c) for c in coco17.values()),
            "median_ms": statistics.median(timed["times_ms"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats over the 4 images (default 5)")
    ap.add_argument("--tiles", type=int, default=3, help="detection_tiles for the tiled rows (default 3)")
    ap.add_argument("--zooms", type=float, nargs="*", default=[],
                    help="also run max_num_poses=10 auto with these tile zooms instead of "
                         "stages.multi.AUTO_ZOOM (e.g. 2.0 2.5), one row each")
    ap.add_argument("--no-reference", action="store_true", help="skip MediaPipe")
    ap.add_argument("--quick", action="store_true", help="1 repeat")
    a = ap.parse_args()
    if a.quick:
        a.repeats = 1
    from blazepose.apps.evaluate import load_coco

    images, anns = load_coco(COCO / "person_keypoints.json")
    n_eligible = sum(len(eligible(anns.get(i, []))) for i in images)
    print(f"COCO fixtures: {len(images)} images, {n_eligible} people with >= {MIN_LABELLED} labelled keypoints; "
          f"found = matched with PCK@{ALPHA} >= {MIN_PCK}; full model")
    print(f"{'configuration':<44}{'found':>9}{'fraction':>10}{'poses':>7}{'dups':>6}{'det calls':>11}{'ms/image':>10}")
    from blazepose.stages import multi

    default_zoom = multi.AUTO_ZOOM
    rows = [(1, "auto", None), (10, 0, None), (10, "auto", None), (10, a.tiles, None)]
    for n, tiles, zoom in rows + [(10, "auto", z) for z in a.zooms]:
        multi.AUTO_ZOOM = default_zoom if zoom is None else zoom
        try:
            r = run_ours(n, tiles, a.repeats, images, anns)
        finally:
            multi.AUTO_ZOOM = default_zoom
        name = f"blazepose max_num_poses={n} tiles={tiles}" + ("" if zoom is None else f" zoom {zoom:g}")
        print(f"{name:<44}{r['found']:>4}/{r['total']:<4}{r['found'] / r['total']:>10.2f}{r['poses']:>7}"
                  f"{r['duplicates']:>6}{r['detector_calls']:>11.0f}{r['median_ms']:>10.1f}", flush=True)
    if not a.no_reference:
        r = run_reference_side(images, anns, a.repeats)
        name = "mediapipe 0.10.14 legacy (1 person)"
        print(f"{name:<44}{r['found']:>4}/{r['total']:<4}{r['found'] / r['total']:>10.2f}{r['poses']:>7}"
              f"{'':>6}{'':>11}{r['median_ms']:>10.1f}")
    t1, t10 = interleaved_ratio(a.repeats, images)
    print(f"interleaved, same loop: max_num_poses=1 {t1:.1f} ms, max_num_poses=10 (auto) {t10:.1f} ms "
          f"per image: {t10 / t1:.1f}x")


if __name__ == "__main__":
    main()
