"""Video throughput: this project vs MediaPipe 0.10.14's legacy solution in video mode, same run.

Both sides decode the same file with OpenCV and track + smooth every frame with the same model
file (MediaPipe: ``static_image_mode=False``, ``smooth_landmarks=True``); the clock covers
decoding and processing of every frame, not model loading. Clips: the squats fixture (65 frames,
720x1280) and the same clip looped to >= 1,000 frames (written once to a temporary MJPG AVI so
both sides decode identical frames). Ours: ``PoseLandmarker.process_video`` (decoding in a
background thread, overlapping inference). Also timed: the full CLI (`blazepose video` with JSON,
CSV and annotated video output), for the record.

    .venv/bin/python benchmarks/video_throughput.py [--quick] [--model full]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clips import SQUATS, looped_squats  # noqa: E402
from reference import run_reference  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def ours(model: str, path: Path) -> dict:
    from blazepose import PoseLandmarker

    with PoseLandmarker(model) as pl:
        t = time.perf_counter()
        n = found = 0
        for r in pl.process_video(path):
            n += 1
            found += len(r) > 0
        secs = time.perf_counter() - t
        return {"frames": n, "seconds": secs, "with_pose": found, "detector": pl.video_stats["detector_frames"],
                "threads": pl.num_threads}


def cli(model: str, path: Path, out: Path) -> dict:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "video", str(path), "--model", model,
                    "--json", str(out / "o.json"), "--csv", str(out / "o.csv"), "-o", str(out / "o.mp4")],
                   check=True, capture_output=True)
    return {"seconds": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="full", choices=list(COMPLEXITY))
    ap.add_argument("--min-frames", type=int, default=1000, help="length of the looped clip")
    ap.add_argument("--quick", action="store_true", help="looped clip of 130 frames, no CLI timing")
    a = ap.parse_args()
    if a.quick:
        a.min_frames = 130
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        long_clip = looped_squats(tmp / "looped.avi", a.min_frames, whole_loops=True)
        print(f"model {a.model}; fps = frames / seconds including decoding (higher is better)")
        print(f"{'clip':<22}{'frames':>7}{'blazepose':>11}{'mediapipe':>11}{'ratio':>8}{'detector runs':>15}")
        for name, clip in (("squats (720x1280)", SQUATS), (f"squats looped", long_clip)):
            o = ours(a.model, clip)
            r = run_reference(HERE / "_mp_video.py", str(COMPLEXITY[a.model]), str(clip))
            fo, fr = o["frames"] / o["seconds"], r["frames"] / r["seconds"]
            assert o["frames"] == r["frames"], (o, r)
            print(f"{name:<22}{o['frames']:>7}{fo:>11.1f}{fr:>11.1f}{fo / fr:>7.2f}x{o['detector']:>15}", flush=True)
        if not a.quick:
            c = cli(a.model, long_clip, tmp)
            print(f"CLI with JSON + CSV + annotated video, looped clip: {o['frames'] / c['seconds']:.1f} fps "
                  "(including start-up and model loading)")
    print(f"(blazepose: ai-edge-litert, {o['threads']} threads; ratio = blazepose fps / mediapipe fps)")


if __name__ == "__main__":
    main()
