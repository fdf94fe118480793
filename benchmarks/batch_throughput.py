"""Batch throughput: images per second on a folder of photos, this project vs MediaPipe 0.10.14.

The folder holds ``--images`` photos (default 240) made from the six fixture photos (reference and
COCO): originals, mirror images, crops and resized copies, as JPEG files in a temporary folder.
Measured in the same run, on the same files, full model (or ``--model``):

- ``blazepose batch`` (``run_batch``, fresh output folder) for every split of the cores into
  worker processes x engine threads, each with landmark-model batches of 1 and 4 images; times
  include starting the workers and writing every result file;
- one file at a time in one process (what looping over ``blazepose image`` does, without the
  start-up): ``process_image`` then a JSON result file, engine on all cores;
- MediaPipe 0.10.14's legacy solution looping over the files (``static_image_mode=True``,
  ``model_complexity`` of the model; read with OpenCV), in its own environment (reference.py);
- the same loop as one process per core, each on its share of the files, started together: wall
  time from the start of the first process to the end of the last (interpreter and graph
  start-up included, as our worker start-up is), CPU time from the children's rusage.

The rate of each configuration is the median of ``--rounds`` interleaved passes; CPU ms/image
(median over the passes, workers included) tells which split wastes least when the cores are
shared with other work (for worker processes:
the CPU time they report, model loading included, interpreter start-up left out).

    .venv/bin/python benchmarks/batch_throughput.py [--images 240] [--model full] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FIXTURES = HERE.parents[0] / "tests" / "data"

from reference import ensure_reference_env, run_reference  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def make_folder(folder: Path, n: int) -> list[Path]:
    """``n`` JPEG photos from the fixture photos: flips, crops, resizes (deterministic)."""
    import cv2

    srcs = [FIXTURES / "reference" / "pose.jpg", FIXTURES / "reference" / "dance.jpg",
            *sorted((FIXTURES / "coco").glob("*.jpg"))]
    images = [cv2.imread(str(p)) for p in srcs]
    out = []
    for i in range(n):
        img = images[i % len(images)]
        v = i // len(images)
        if v % 2:
            img = img[:, ::-1]
        h, w = img.shape[:2]
        c = (v // 2) % 4                      # crop 0, 4, 8, 12 % of each side
        img = img[h * c // 25: h - h * c // 25, w * c // 25: w - w * c // 25]
        scale = (1.0, 0.8, 0.6, 1.25)[(v // 8) % 4]
        if scale != 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        p = folder / f"{i // 50:02d}" / f"photo_{i:04d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(p)
    return out


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def one_at_a_time(model: str, paths: list[Path], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the CLI-equivalent loop: one landmarker, one image and one JSON
    file at a time."""
    from blazepose import PoseLandmarker
    from blazepose.outputs.export import JsonWriter, header

    with PoseLandmarker(model) as pl:
        pl.process_image(paths[0])            # warm-up, like MediaPipe's
        t, c = time.perf_counter(), cpu_seconds()
        for i, p in enumerate(paths):
            res = pl.process_image(p)
            with JsonWriter(out / f"{i}.json", header(model, source=str(p))) as w:
                w.write(res)
        return time.perf_counter() - t, cpu_seconds() - c


def mediapipe_per_core(model: str, paths: list[Path], folder: Path, cores: int) -> tuple[float, float, int]:
    """Wall and CPU seconds (and poses found) of ``cores`` MediaPipe processes splitting the files."""
    import json
    import os
    import subprocess

    py = ensure_reference_env()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("GLOG_minloglevel", "2")
    lists = []
    for k in range(cores):
        lf = folder / f"list-{k}.txt"
        lf.write_text("\n".join(map(str, paths[k::cores])) + "\n")
        lists.append(lf)
    t, c = time.perf_counter(), cpu_seconds()
    procs = [subprocess.Popen([str(py), str(HERE / "_mp_batch.py"), str(COMPLEXITY[model]), str(lf)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
             for lf in lists]
    outs = [p.communicate()[0] for p in procs]
    s, cpu = time.perf_counter() - t, cpu_seconds() - c
    if any(p.returncode for p in procs):
        raise RuntimeError("a MediaPipe process failed")
    found = sum(json.loads(o.strip().splitlines()[-1])["found"] for o in outs)
    return s, cpu, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--model", choices=list(COMPLEXITY), default="full")
    ap.add_argument("--rounds", type=int, default=3,
                    help="passes over every configuration, interleaved; the median counts (default 3)")
    ap.add_argument("--quick", action="store_true", help="24 images, one round, the default split only")
    a = ap.parse_args()
    if a.quick:
        a.images, a.rounds = 24, 1
    from blazepose.apps.batch import BatchOptions, run_batch
    from blazepose.options import PoseOptions
    from blazepose.runtime.engine import usable_cores

    cores = usable_cores()
    configs = [(w, cores // w, b) for w in range(1, cores + 1) if cores % w == 0 for b in (1, 4)]
    if a.quick:
        configs = [(cores, 1, 4)]
    with tempfile.TemporaryDirectory(prefix="blazepose-bench-") as tmp:
        tmp = Path(tmp)
        paths = make_folder(tmp / "photos", a.images)
        n = len(paths)
        listfile = tmp / "list.txt"
        listfile.write_text("\n".join(map(str, paths)) + "\n")
        rates: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}

        def record(name: str, seconds: float, cpu_s: float) -> None:
            rates.setdefault(name, []).append(n / seconds)
            cpus.setdefault(name, []).append(cpu_s / n * 1000)
            print(f"  {name}: {n / seconds:.1f} images/s, {cpu_s / n * 1000:.1f} CPU ms/image", flush=True)

        print(f"{n} photos, model {a.model}, {cores} cores, median of {a.rounds} interleaved rounds")
        for r in range(a.rounds):
            for w, t, b in configs[r % len(configs):] + configs[:r % len(configs)]:
                out = tmp / f"out-{r}-{w}x{t}-b{b}"
                t0, c0 = time.perf_counter(), cpu_seconds()
                rep = run_batch([str(tmp / "photos")], out, BatchOptions(PoseOptions(model=a.model), batch_size=b),
                                workers=w, threads=t)
                s, c = time.perf_counter() - t0, cpu_seconds() - c0
                if w > 1:   # workers are not our children (fork server): they report their CPU time
                    c += sum(d["cpu_seconds"] for d in rep.done)
                assert len(rep.done) == n and not rep.failed, rep.summary()
                record(f"batch {w} proc x {t} thr, batch {b}", s, c)
            single = tmp / f"single-{r}"
            single.mkdir()
            record("one file at a time", *one_at_a_time(a.model, paths, single))
            ref = run_reference(HERE / "_mp_batch.py", str(COMPLEXITY[a.model]), str(listfile))
            record("mediapipe 0.10.14 loop", ref["seconds"] * n / ref["images"], ref["cpu_seconds"] * n / ref["images"])
            if cores > 1:
                s, c, _ = mediapipe_per_core(a.model, paths, tmp, cores)
                record(f"mediapipe 0.10.14 {cores} proc", s, c)
    best = {k: statistics.median(v) for k, v in rates.items()}
    cpu_ms = {k: statistics.median(v) for k, v in cpus.items()}
    mp_rate = best["mediapipe 0.10.14 loop"]
    mp_procs = best.get(f"mediapipe 0.10.14 {cores} proc")
    print(f"\n{'':<34}{'images/s':>10}{'x mp loop':>11}{'x mp procs':>12}{'CPU ms/image':>14}")
    for name, rate in best.items():
        vs = f"{rate / mp_procs:.2f}" if mp_procs else "-"
        print(f"{name:<34}{rate:>10.1f}{rate / mp_rate:>11.2f}{vs:>12}{cpu_ms[name]:>14.1f}")
    fastest = max((k for k in best if k.startswith("batch")), key=best.get)
    print(f"(fastest batch: {fastest}; MediaPipe found a pose in {ref['found']}/{ref['images']})")


if __name__ == "__main__":
    main()
