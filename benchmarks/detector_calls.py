"""Detector calls for several people: can tiles be made cheaper by batching or by parallel calls?

The several-people plan (``detection_tiles="auto"``) runs the person detector on the whole image
and on 6 tiles or so. This measures, on the official detector file with LiteRT, the median time
per image of:

- one call per image at 1 and at all engine threads (the default);
- batched calls: 2, 4 and 8 images in one call (the input resized to that batch);
- two interpreters of one thread each, called from two Python threads at once.

    .venv/bin/python benchmarks/detector_calls.py [--repeats 40]
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np


def interpreter(path, threads: int, batch: int):
    """A LiteRT interpreter of the detector with its input resized to ``batch`` images (the
    model's final reshape then folds the batch into the anchor axis: fine for timing)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=threads)
    idx = it.get_input_details()[0]["index"]
    if batch != 1:
        it.resize_tensor_input(idx, [batch, 224, 224, 3])
    it.allocate_tensors()
    return it, idx


def per_image_ms(it, idx: int, batch: np.ndarray, repeats: int) -> float:
    it.set_tensor(idx, batch)
    it.invoke()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        it.set_tensor(idx, batch)
        it.invoke()
        ts.append((time.perf_counter() - t) * 1000 / len(batch))
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=40)
    a = ap.parse_args()

    from blazepose.models.registry import resolve
    from blazepose.runtime.engine import default_num_threads

    path = resolve("detector")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    cores = default_num_threads()
    print(f"person detector, LiteRT, median ms per image over {a.repeats} calls; {cores} engine threads by default")
    for threads in sorted({1, cores}):
        for n in (1, 2, 4, 8):
            it, idx = interpreter(path, threads, n)
            print(f"  {threads} thread(s), batch {n}: {per_image_ms(it, idx, np.repeat(x, n, 0), a.repeats):6.2f} ms")
    pair_its = [interpreter(path, 1, 1) for _ in range(2)]
    for it, idx in pair_its:
        per_image_ms(it, idx, x, 1)

    def work(it, idx):
        for _ in range(a.repeats):
            it.set_tensor(idx, x)
            it.invoke()
    t = time.perf_counter()
    pair = [threading.Thread(target=work, args=p) for p in pair_its]
    for th in pair:
        th.start()
    for th in pair:
        th.join()
    print(f"  2 interpreters x 1 thread, side by side: {(time.perf_counter() - t) * 1000 / (2 * a.repeats):6.2f} ms")


if __name__ == "__main__":
    main()
