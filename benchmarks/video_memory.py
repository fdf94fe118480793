"""Peak memory of a long video: 10,000 frames vs 1,000 frames (should be flat).

A synthetic long clip (the squats fixture at 360x640, looped, MJPG AVI) is written once; then
``blazepose video`` runs on its first 1,000 and on all 10,000 frames in fresh processes, writing
JSON, CSV and an annotated video (the whole streaming path). Peak RSS is each child's
``ru_maxrss``. Prints both and the ratio (goal: within 10 %).

    .venv/bin/python benchmarks/video_memory.py [--quick]     # --quick: 100 vs 1,000 frames
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clips import looped_squats  # noqa: E402

CHILD = r"""
import resource, sys
from blazepose.apps.cli import main
rc = main(sys.argv[1:])
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
sys.exit(rc)
"""


def peak_kb(clip: Path, n: int, out: Path) -> tuple[int, float]:
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, "video", str(clip), "--max-frames", str(n),
                        "--json", str(out / f"{n}.json"), "--csv", str(out / f"{n}.csv"),
                        "-o", str(out / f"{n}.mp4")], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    kb = int([ln for ln in p.stdout.splitlines() if ln.startswith("PEAK_KB")][-1].split()[1])
    return kb, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    short, long = (100, 1000) if a.quick else (1000, 10000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = looped_squats(tmp / "long.avi", long, size=(360, 640), fps=30.0)
        (s_kb, s_t), (l_kb, l_t) = peak_kb(clip, short, tmp), peak_kb(clip, long, tmp)
        sizes = {n: os.path.getsize(tmp / f"{n}.json") for n in (short, long)}
    print(f"{'frames':>8}{'peak RSS (MiB)':>16}{'seconds':>9}{'JSON (MiB)':>12}")
    for n, kb, t in ((short, s_kb, s_t), (long, l_kb, l_t)):
        print(f"{n:>8}{kb / 1024:>16.1f}{t:>9.1f}{sizes[n] / 2**20:>12.1f}")
    print(f"ratio {long}/{short}: {l_kb / s_kb:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
