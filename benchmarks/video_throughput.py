"""Video throughput: this project (each engine) vs MediaPipe 0.10.14's legacy solution in video
mode and MediaPipe Tasks (newest wheel) in VIDEO mode, same run, same model files.

Both sides decode the same file with OpenCV and track + smooth every frame with the same model
file (MediaPipe: ``static_image_mode=False``, ``smooth_landmarks=True``); the clock covers
decoding and processing of every frame, not model loading; CPU ms per frame is the process time
(all threads, decoding included) over the same loop. Tasks runs a ``.task`` bundle built from
this project's verified files (reference.tasks_bundle). Clips: the squats fixture (65 frames,
720x1280) and the same clip looped to >= 1,000 frames (written once to a temporary MJPG AVI so
both sides decode identical frames). Ours: ``PoseLandmarker.process_video`` (decoding in a
background thread, overlapping inference). Also timed: the full CLI (`blazepose video` with JSON,
CSV and annotated video output), for the record.

    .venv/bin/python benchmarks/video_throughput.py [--quick] [--model full] [--engines litert openvino]
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clips import SQUATS, looped_squats  # noqa: E402
from reference import run_reference, run_tasks, tasks_bundle  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def ours(model: str, path: Path, engine: str = "litert") -> dict:
    from blazepose import PoseLandmarker

    with PoseLandmarker(model, engine=engine) as pl:
        t, c = time.perf_counter(), time.process_time()
        n = found = ran = 0
        for r in pl.process_video(path):
            n += 1
            found += len(r) > 0
            ran += r.meta["detector"]
        secs, cpu = time.perf_counter() - t, time.process_time() - c
        return {"frames": n, "seconds": secs, "cpu_seconds": cpu, "with_pose": found, "detector": ran,
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
    ap.add_argument("--engines", nargs="+", default=["litert", "openvino"])
    ap.add_argument("--no-tasks", action="store_true", help="leave out MediaPipe Tasks")
    ap.add_argument("--quick", action="store_true", help="looped clip of 130 frames, no CLI timing")
    a = ap.parse_args()
    if a.quick:
        a.min_frames = 130
    engines = [e for e in a.engines if e != "openvino" or importlib.util.find_spec("openvino")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        long_clip = looped_squats(tmp / "looped.avi", a.min_frames, whole_loops=True)
        print(f"model {a.model}; fps = frames / seconds including decoding (higher is better); "
              "cpu = CPU ms per frame (all threads); x = our fps / the reference's")
        print(f"{'clip':<16}{'frames':>7}{'side':>20}{'fps':>8}{'cpu':>7}{'vs legacy':>11}{'vs tasks':>10}"
              f"{'detector runs':>15}")
        for name, clip in (("squats", SQUATS), ("squats looped", long_clip)):
            r = run_reference(HERE / "_mp_video.py", str(COMPLEXITY[a.model]), str(clip))
            fr = r["frames"] / r["seconds"]
            print(f"{name:<16}{r['frames']:>7}{'mediapipe legacy':>20}{fr:>8.1f}"
                  f"{r['cpu_seconds'] * 1000 / r['frames']:>7.1f}", flush=True)
            ft = None
            if not a.no_tasks:
                t = run_tasks(str(tasks_bundle(a.model, tmp)), "VIDEO", "1", str(clip))
                ft = t["frames"] / t["seconds"]
                assert t["frames"] == r["frames"], (t, r)
                print(f"{'':<16}{t['frames']:>7}{'mediapipe tasks':>20}{ft:>8.1f}{t['cpu_ms']:>7.1f}"
                      f"   (MediaPipe {t['version']})", flush=True)
            for engine in engines:
                o = ours(a.model, clip, engine)
                fo = o["frames"] / o["seconds"]
                assert o["frames"] == r["frames"], (o, r)
                vs_t = f"{fo / ft:.2f}x" if ft else "-"
                print(f"{'':<16}{o['frames']:>7}{'blazepose ' + engine:>20}{fo:>8.1f}"
                      f"{o['cpu_seconds'] * 1000 / o['frames']:>7.1f}{fo / fr:>10.2f}x{vs_t:>10}"
                      f"{o['detector']:>15}", flush=True)
        if not a.quick:
            c = cli(a.model, long_clip, tmp)
            print(f"CLI with JSON + CSV + annotated video, looped clip: {o['frames'] / c['seconds']:.1f} fps "
                  "(including start-up and model loading)")
    print(f"(blazepose: {o['threads']} threads; the landmark model runs without its segmentation branch)")


if __name__ == "__main__":
    main()
