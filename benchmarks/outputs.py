"""Outputs: cost per frame of the exporters, joint angles, rep counting and drawing.

Runs on the squats clip (720x1280, 65 frames) with MediaPipe's own landmarks from the reference
file (so no model runs here: this measures the outputs layer alone), repeated to ``--frames``.
Drawing is compared with MediaPipe 0.10.14's ``drawing_utils.draw_landmarks`` on the same frames
and landmarks, in the same run (ratio = blazepose / mediapipe). Also reports how close the knee
angles computed by this package from its own landmarks are to the same angles computed from
MediaPipe's landmarks on the clip.

    .venv/bin/python benchmarks/outputs.py [--frames 2000] [--quick]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REF = HERE.parents[0] / "tests" / "data" / "reference"

from reference import run_reference  # noqa: E402


def clip_frames(n: int) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(REF / "pose_squats.mp4"))
    out = []
    while len(out) < n:
        ok, f = cap.read()
        if not ok:
            break
        out.append(np.ascontiguousarray(f[..., ::-1]))
    return out


def mediapipe_results(n: int):
    from blazepose import PoseResult

    d = json.loads((REF / "pose_squats.mediapipe.full.json").read_text())
    base = list(zip(d["predictions"], d["predictions_world"]))
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        p, w = base[i % len(base)]
        out.append(PoseResult(np.array([p]), rng.uniform(0.5, 1, (1, 33)), rng.uniform(0.5, 1, (1, 33)),
                              np.array([w]), [0.99], np.array([[360, 640, 700, 700, 0.1]]), [0], (720, 1280),
                              frame_index=i, timestamp_ms=i * 200.0))
    return out


def per_frame_ms(fn, items) -> float:
    t = time.perf_counter()
    for it in items:
        fn(it)
    return (time.perf_counter() - t) * 1000 / len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=2000, help="frames for the exporters and angles")
    ap.add_argument("--draw-repeats", type=int, default=3, help="passes over the 65 frames for drawing")
    ap.add_argument("--quick", action="store_true", help="200 frames, one drawing pass")
    a = ap.parse_args()
    if a.quick:
        a.frames, a.draw_repeats = 200, 1
    from blazepose.outputs.angles import AnglesWriter, joint_angles
    from blazepose.outputs.draw import draw_pose
    from blazepose.outputs.export import CocoWriter, CsvWriter, JsonWriter, NpzWriter, header
    from blazepose.outputs.reps import RepCounter

    res = mediapipe_results(a.frames)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        rows.append(("PoseResult.to_dict", per_frame_ms(lambda r: r.to_dict(), res)))
        for name, w in (("JSON writer", JsonWriter(t / "a.json", header("full"))), ("CSV writer", CsvWriter(t / "a.csv")),
                        ("COCO writer", CocoWriter(t / "a.coco.json"))):
            with w:
                rows.append((name, per_frame_ms(w.write, res)))
        npz = NpzWriter(t / "a.npz")
        tt = time.perf_counter()
        for r in res:
            npz.write(r)
        npz.close()
        rows.append((".npz writer (incl. save)", (time.perf_counter() - tt) * 1000 / len(res)))
        size = {p.suffix: p.stat().st_size / len(res) for p in t.iterdir()}
        rows.append(("joint angles (2-D + 3-D)", per_frame_ms(joint_angles, res)))
        with AnglesWriter(t / "ang.csv") as aw:
            rows.append(("angles CSV writer", per_frame_ms(aw.write, res)))
        counter = RepCounter("squat")
        rows.append(("rep counter (squat)", per_frame_ms(counter.update, res)))
    print(f"{a.frames} frames, 1 person, 33 landmarks; milliseconds per frame")
    for name, ms in rows:
        print(f"  {name:<28}{ms:>8.3f}")
    print("  bytes per frame: " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(size.items())))
    print(f"  squats counted: {counter.count} in {a.frames // 65} passes over the clip + "
          f"{a.frames % 65} frames")

    frames = clip_frames(65)
    draw_res = mediapipe_results(len(frames))
    ours = []
    for _ in range(a.draw_repeats):
        for img, r in zip(frames, draw_res):
            tt = time.perf_counter()
            draw_pose(img, r, min_visibility=0.0)
            ours.append((time.perf_counter() - tt) * 1000)
    ref = run_reference(HERE / "_mp_draw.py", str(REF / "pose_squats.mp4"),
                        str(REF / "pose_squats.mediapipe.full.json"), str(len(frames)), str(a.draw_repeats))
    o, m = statistics.median(ours), statistics.median(ref["times_ms"])
    print(f"drawing one pose on 720x1280, median ms: blazepose {o:.2f}, mediapipe {m:.2f}, ratio {o / m:.2f}")

    # knee angles: ours (full model, video mode: tracking + smoothing, like the reference file)
    # vs the same formula on MediaPipe's landmarks
    from blazepose import PoseLandmarker

    with PoseLandmarker("full") as pl:
        mine = list(pl.process_video(str(REF / "pose_squats.mp4")))
    from blazepose.outputs.angles import JOINT_NAMES

    k = [JOINT_NAMES.index("left_knee"), JOINT_NAMES.index("right_knee")]
    for kind in ("2d", "3d"):
        ours_k = np.array([joint_angles(r).angles(kind)[0, k] for r in mine])
        ref_k = np.array([joint_angles(r).angles(kind)[0, k] for r in draw_res])
        d = np.abs(ours_k - ref_k)
        print(f"knee angle {kind} vs MediaPipe's landmarks (65 frames x 2 knees): median "
              f"{np.median(d):.1f} deg, 90th percentile {np.percentile(d, 90):.1f}, max {d.max():.1f}")


if __name__ == "__main__":
    main()
