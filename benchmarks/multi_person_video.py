"""Several people in video: ids kept, newcomers found, re-identification, and what it costs.

The clip is built from the two fixture photos (the yoga man of pose.jpg on the left, the seated
woman of dance.jpg on the right, pasted on a 640x240 grey canvas, swaying a few pixels per
frame) at 30 fps: the man is there all along; the woman walks in at 20 % of the clip, is away
for 0.5 s at 60 %, and comes back at the same place. Ground truth is which side each person is
on (a pose whose hip centre is left of x = 300 is the man's). Printed per configuration:

- found: person-frames with a pose on that person / person-frames where the person is there;
- ids: distinct ids each person got (1 each is ideal: the woman's return re-identified);
- switches: frames where a person's id differs from their previous frame's;
- newcomer: frames from the woman's entry to her first pose;
- fps (wall clock, decoding included) and detector runs.

MediaPipe 0.10.14's legacy solution (one person, no ids) runs on the same file for comparison.

    .venv/bin/python benchmarks/multi_person_video.py [--quick] [--model full]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REFERENCE = HERE.parents[0] / "tests" / "data" / "reference"

from reference import run_reference  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
W, H, PERSON_H, SPLIT_X = 640, 240, 180, 300


def build_clip(dest: Path, n: int, fps: float = 30.0):
    """Write the clip (MJPG AVI); return per frame (man there, woman there) and the woman's entry."""
    import cv2

    def fit(im):
        return cv2.resize(im, (round(im.shape[1] * PERSON_H / im.shape[0]), PERSON_H), interpolation=cv2.INTER_AREA)

    man = fit(cv2.imread(str(REFERENCE / "pose.jpg"))[200:667, 230:780])
    woman = fit(cv2.imread(str(REFERENCE / "dance.jpg"))[40:600, 140:870])
    enter, away = int(0.2 * n), range(int(0.6 * n), int(0.6 * n) + round(0.5 * fps))
    truth = []
    vw = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    for i in range(n):
        c = np.full((H, W, 3), 120, np.uint8)
        y, x = 30 + round(6 * np.sin(i / 7)), 20 + round(15 * np.sin(i / 8))
        c[y:y + PERSON_H, x:x + man.shape[1]] = man
        has_woman = i >= enter and i not in away
        if has_woman:
            y, x = 40, 340 + round(15 * np.sin(i / 11 + 1))
            c[y:y + PERSON_H, x:x + woman.shape[1]] = woman
        vw.write(c)
        truth.append((True, has_woman))
    vw.release()
    return truth, enter


def score(results, truth) -> dict:
    seen = {0: [], 1: []}                       # per person (0 man, 1 woman): id per frame (None: missed)
    for r, (m, w) in zip(results, truth):
        got = {0: None, 1: None}
        for lm, pid in zip(r.landmarks, r.ids):
            got[0 if lm[[23, 24], 0].mean() < SPLIT_X else 1] = int(pid)
        for p, present in ((0, m), (1, w)):
            if present:
                seen[p].append(got[p])
    found = sum(v is not None for s in seen.values() for v in s)
    total = sum(len(s) for s in seen.values())
    ids = [len({v for v in s if v is not None}) for s in seen.values()]
    switches = sum(sum(1 for a, b in zip(s, s[1:]) if a is not None and b is not None and a != b)
                   for s in seen.values())
    woman = seen[1]
    first = next((i for i, v in enumerate(woman) if v is not None), None)
    return {"found": found, "total": total, "ids": ids, "switches": switches, "newcomer": first}


def ours(model: str, clip: Path, **kw):
    from blazepose import PoseLandmarker

    with PoseLandmarker(model, **kw) as pl:
        t = time.perf_counter()
        results = list(pl.process_video(clip))
        secs = time.perf_counter() - t
        return results, len(results) / secs, sum(r.meta["detector"] for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="full", choices=list(COMPLEXITY))
    ap.add_argument("--frames", type=int, default=240, help="clip length at 30 fps (default 240: 8 s)")
    ap.add_argument("--quick", action="store_true", help="90 frames, fewer configurations")
    a = ap.parse_args()
    n = 90 if a.quick else a.frames
    configs = [("max_num_poses=1", {}), ("max_num_poses=2", {"max_num_poses": 2}),
               ("max_num_poses=2, reid off", {"max_num_poses": 2, "reid_timeout_ms": 0.0})]
    if not a.quick:
        configs += [("max_num_poses=5", {"max_num_poses": 5}),
                    ("max_num_poses=5, interval 0", {"max_num_poses": 5, "detection_interval_ms": 0.0}),
                    ("max_num_poses=5, interval 1000", {"max_num_poses": 5, "detection_interval_ms": 1000.0})]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "two.avi"
        truth, enter = build_clip(clip, n)
        print(f"model {a.model}; {n} frames 640x240 at 30 fps; {sum(m + w for m, w in truth)} person-frames; "
              f"the woman enters at frame {enter}, is away 0.5 s at frame {int(0.6 * n)}")
        print(f"{'configuration':<32}{'found':>10}{'ids (man, woman)':>18}{'switches':>10}"
              f"{'newcomer':>10}{'fps':>7}{'detector runs':>15}")
        r = run_reference(HERE / "_mp_video.py", str(COMPLEXITY[a.model]), str(clip))
        print(f"{'MediaPipe 0.10.14 (one person)':<32}{r['with_pose']:>5} poses{'-':>18}{'-':>10}{'-':>10}"
              f"{r['frames'] / r['seconds']:>7.1f}{'-':>15}", flush=True)
        for name, kw in configs:
            results, fps, det = ours(a.model, clip, **kw)
            s = score(results, truth)
            newcomer = "never" if s["newcomer"] is None else s["newcomer"]
            print(f"{name:<32}{s['found']:>4} / {s['total']:<4}{str(tuple(s['ids'])):>18}{s['switches']:>10}"
                  f"{newcomer:>10}{fps:>7.1f}{det:>15}", flush=True)
    print("(found: person-frames with a pose on that person; newcomer: frames from entry to first pose; "
          "fps includes decoding; 2-core machine shared with other jobs)")


if __name__ == "__main__":
    main()
