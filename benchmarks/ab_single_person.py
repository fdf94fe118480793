"""A/B: single-person speed of this tree against an earlier revision, same run, interleaved.

Issue 7 asks that multi-person support costs nothing for the single-person default. This runs
the default still-image path (``process_image`` over the fixture photos) and the default video
path (``process_video`` on the squats clip) from two source trees -- the working tree and
``git archive`` of a base revision -- in alternating child processes, and prints the medians
and the ratio (this tree / base; < 1.05 is the goal).

    .venv/bin/python benchmarks/ab_single_person.py --image-base 6a5283f --video-base d93510a [--rounds 5]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "data"

CHILD = r"""
import json, sys, time, statistics
from pathlib import Path
from blazepose import PoseLandmarker
from blazepose.io.images import read_image
fix = Path(sys.argv[2])
out = {}
with PoseLandmarker("full") as pl:
    if sys.argv[1] == "image":
        imgs = [read_image(p) for p in [fix / "reference/pose.jpg", fix / "reference/dance.jpg",
                                         *sorted((fix / "coco").glob("*.jpg"))]]
        pl.process_image(imgs[0])
        ts = []
        for _ in range(8):
            for im in imgs:
                t = time.perf_counter(); pl.process_image(im); ts.append((time.perf_counter() - t) * 1000)
        out["value"] = statistics.median(ts)
    else:
        t = time.perf_counter(); n = sum(1 for _ in pl.process_video(str(fix / "reference/pose_squats.mp4")))
        out["value"] = n / (time.perf_counter() - t)
print(json.dumps(out))
"""


def export(rev: str, dest: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest)
    return dest / "src"


def measure(src: Path, kind: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    p = subprocess.run([sys.executable, "-c", CHILD, kind, str(FIX)], env=env, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])["value"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image-base", required=True)
    ap.add_argument("--video-base", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for kind, rev, unit in (("image", a.image_base, "ms/image"), ("video", a.video_base, "fps")):
            base_src = export(rev, Path(tmp) / kind)
            base, new = [], []
            for r in range(a.rounds):
                order = [(base, base_src), (new, ROOT / "src")]
                for acc, src in (order if r % 2 == 0 else order[::-1]):
                    acc.append(measure(src, kind))
            b, n = statistics.median(base), statistics.median(new)
            slow = n / b if kind == "image" else b / n
            rows.append((kind, rev, unit, b, n, slow))
        print(f"{'path':<7}{'base':>10}{'unit':>10}{'base':>10}{'this tree':>11}{'slowdown':>10}")
        for kind, rev, unit, b, n, slow in rows:
            print(f"{kind:<7}{rev:>10}{unit:>10}{b:>10.2f}{n:>11.2f}{slow:>10.3f}")
        print(f"(medians of {a.rounds} alternating rounds; slowdown = time ratio this tree / base)")


if __name__ == "__main__":
    main()
