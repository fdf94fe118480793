"""``run_batch``: every input into its outputs under ``out``, on every core, resumable; the report."""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ...runtime.engine import usable_cores
from ..progress import progress_bar
from .engines import chunks_of, run_local, run_ray
from .inputs import collect_inputs
from .options import DEFAULT_THREADS_PER_WORKER, BatchOptions
from .resume import is_up_to_date, write_bytes_atomic

log = logging.getLogger(__name__)

REPORT_NAME = "batch_report.json"
#: Below this much work (images, a video counting as 100), starting worker processes (about half
#: a second each) costs more than it gains: one in-process worker with every core's threads.
SMALL_BATCH = 64


@dataclass
class BatchReport:
    """What a batch did: written to ``OUT/batch_report.json``."""

    out: str
    engine: str
    workers: int | None
    threads: int
    options: dict
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def to_dict(self) -> dict:
        from ... import __version__

        return {"blazepose_version": __version__, "out": self.out, "engine": self.engine,
                "workers": self.workers, "threads_per_worker": self.threads, "options": self.options,
                "counts": {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed)},
                "seconds": round(self.seconds, 3), "interrupted": self.interrupted,
                "done": self.done, "skipped": self.skipped, "failed": self.failed}

    def summary(self) -> str:
        lines = [f"{len(self.done)} done, {len(self.skipped)} skipped (up to date), {len(self.failed)} failed"
                 + (" (interrupted)" if self.interrupted else "") + f" in {self.seconds:.1f} s"]
        lines += [f"  failed: {f['error']}" for f in self.failed]
        return "\n".join(lines)


def run_batch(inputs: Iterable[str], out: str | os.PathLike, options: BatchOptions = BatchOptions(), *,
              workers: int | None = None, threads: int | None = None, engine: str = "local",
              address: str | None = None, force: bool = False, progress_stream=None) -> BatchReport:
    """Process every input into ``out``; return (and write) the report. Never raises for a bad input."""
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    t0 = time.perf_counter()
    out = os.path.abspath(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    items, missing = collect_inputs(inputs, exclude=out)
    todo, skipped = [], []
    for it in items:
        if not force and is_up_to_date(it, out, options):
            skipped.append({"input": it.source, "rel": it.rel})
        else:
            todo.append(it)
    chunks = chunks_of(todo, max(1, options.batch_size))
    cores = usable_cores()
    if engine == "local":   # never more workers than tasks; the cores left go to engine threads
        if workers is None:
            work = sum(100 if it.kind == "video" else 1 for it in todo)
            workers = 1 if work < SMALL_BATCH else max(1, cores // (threads or DEFAULT_THREADS_PER_WORKER))
        workers = max(1, min(workers, len(chunks)))
    if threads is None:
        threads = max(1, cores // workers) if workers else DEFAULT_THREADS_PER_WORKER
    report = BatchReport(out, engine, workers, threads,
                         {**options.fingerprint(), "extras": options.extras()})
    report.failed += missing
    report.skipped += skipped
    log.info("%d inputs: %d up to date, %d to process", len(items), len(report.skipped), len(todo))
    prog = progress_bar(len(todo), "file", stream=progress_stream)

    def on_outcome(o: dict) -> None:
        (report.done if o["status"] == "done" else report.failed).append(
            {k: v for k, v in o.items() if k != "status"})
        prog.update(1)
        if report.failed:
            prog.set_postfix(failed=len(report.failed), refresh=False)

    try:
        if todo:
            if engine == "ray":
                run_ray(chunks, options, out, workers, threads, on_outcome, address)
            else:
                run_local(chunks, options, out, workers, threads, on_outcome)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        prog.close()
        report.seconds = time.perf_counter() - t0
        order = {it.source: i for i, it in enumerate(items)}
        for lst in (report.done, report.failed):
            lst.sort(key=lambda d: order.get(d["input"], -1))
        write_bytes_atomic(Path(out) / REPORT_NAME, (json.dumps(report.to_dict(), indent=1) + "\n").encode())
    return report
