"""``run_batch``: every input into its outputs under ``out``, on every core, resumable; the report."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ...errors import OutputWriteError, UsageError
from ...runtime.threads import usable_cores
from .. import interrupts
from ..progress import progress_bar
from .runners import chunks_of, run_local, run_ray
from .inputs import check_out_folder, collect_inputs
from .lock import BatchLock
from .options import DEFAULT_THREADS_PER_WORKER, BatchOptions
from .resume import is_up_to_date, remove_partials, write_bytes_atomic

log = logging.getLogger(__name__)

REPORT_NAME = "batch_report.json"
#: How a batch runs its workers: a local process pool (the default) or Ray.
RUNNERS = ("local", "ray")
#: Below this much work (images, a video counting as 100), starting worker processes (about half
#: a second each) costs more than it gains: one in-process worker with every core's threads.
SMALL_BATCH = 64


@dataclass
class BatchReport:
    """What a batch did: written to ``OUT/batch_report.json``."""

    out: str
    runner: str
    workers: int | None
    threads: int
    options: dict
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    pending: list = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    #: Why ``batch_report.json`` could not be written (a full disk: the message names the file),
    #: None when it was.
    report_error: str | None = None

    def to_dict(self) -> dict:
        from ... import __version__

        return {"blazepose_version": __version__, "out": self.out, "runner": self.runner,
                "workers": self.workers, "threads_per_worker": self.threads, "options": self.options,
                "counts": {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed),
                           "pending": len(self.pending)},
                "seconds": round(self.seconds, 3), "interrupted": self.interrupted,
                "done": self.done, "skipped": self.skipped, "failed": self.failed, "pending": self.pending}

    def summary(self) -> str:
        lines = [f"{len(self.done)} done, {len(self.skipped)} skipped (up to date), {len(self.failed)} failed"
                 + (f", {len(self.pending)} not done (interrupted)" if self.interrupted else "")
                 + f" in {self.seconds:.1f} s"]
        lines += [f"  failed: {f['error']}" for f in self.failed]
        return "\n".join(lines)


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the batch; ``report`` is what ``batch_report.json`` now holds."""

    def __init__(self, report: BatchReport):
        super().__init__("batch interrupted")
        self.report = report


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """In the main thread: SIGTERM stops the batch like Ctrl-C (workers stopped, report written).
    Signals the command line held while it started (``interrupts.hold``) come back as the usual ones."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    interrupts.release()
    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_batch(inputs: Iterable[str], out: str | os.PathLike, options: BatchOptions = BatchOptions(), *,
              workers: int | None = None, threads: int | None = None, runner: str = "local",
              address: str | None = None, force: bool = False, progress_stream=None,
              engine: str | None = None) -> BatchReport:
    """Process every input into ``out``; return (and write) the report. Never raises for a bad input.

    ``runner`` is ``"local"`` (a process pool) or ``"ray"``; ``engine=`` is its deprecated old name
    (the inference engine is ``options.pose.engine``).

    An ``out`` that is or holds an input is refused (``UsageError``) before anything is written.
    One batch at a time per ``out`` (``BatchBusyError`` otherwise, see ``lock.py``); its lock
    files are removed when it ends. Stopped by
    Ctrl-C or SIGTERM, it stops its workers, writes the report (what is complete on disk counts as
    done, the rest as pending) and raises ``BatchInterrupted`` (a ``KeyboardInterrupt`` carrying it).
    Stopped before it found its inputs, the report lists the inputs as given, pending.
    """
    if engine is not None:   # the old name of ``runner`` (the inference engine is options.engine)
        warnings.warn("run_batch(engine=) is deprecated: use runner='local' or 'ray'", DeprecationWarning, stacklevel=2)
        runner = engine
    if runner not in RUNNERS:
        raise UsageError(f"runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    inputs = list(inputs)
    check_out_folder(inputs, out)   # nothing is written into an input folder
    out = os.path.abspath(out)
    with _sigterm_as_interrupt(), BatchLock(out):   # Ctrl-C still stops a wait for the folder's lock
        return _run_locked(list(inputs), out, options, workers, threads, runner, address, force, progress_stream)


def _plan(todo, options: BatchOptions, runner: str, workers, threads) -> tuple[list, int | None, int]:
    """(chunks, workers, engine threads per worker) for the inputs to process."""
    chunks = chunks_of(todo, max(1, options.batch_size))
    cores = usable_cores()
    if runner == "local":   # never more workers than tasks; the cores left go to engine threads
        if workers is None:
            work = sum(100 if it.kind == "video" else 1 for it in todo)
            workers = 1 if work < SMALL_BATCH else max(1, cores // (threads or DEFAULT_THREADS_PER_WORKER))
        workers = max(1, min(workers, len(chunks)))
    if threads is None:
        threads = max(1, cores // workers) if workers else DEFAULT_THREADS_PER_WORKER
    return chunks, workers, threads


def _run_locked(inputs, out, options, workers, threads, runner, address, force, progress_stream) -> BatchReport:
    t0 = time.perf_counter()
    report = BatchReport(out, runner, workers, threads or 0, {**options.fingerprint(), "extras": options.extras()})
    items: list = []
    todo: list = []
    prog = None

    def on_outcome(o: dict) -> None:
        (report.done if o["status"] == "done" else report.failed).append(
            {k: v for k, v in o.items() if k != "status"})
        prog.update(1)
        if report.failed:
            prog.set_postfix(failed=len(report.failed), refresh=False)

    try:
        interrupts.raise_pending()   # Ctrl-C or SIGTERM while the command line started
        Path(out).mkdir(parents=True, exist_ok=True)
        remove_partials(out)     # what a killed or failed run left; this run writes its own
        items, missing = collect_inputs(inputs, exclude=out)
        for it in items:
            if not force and is_up_to_date(it, out, options):
                report.skipped.append({"input": it.source, "rel": it.rel})
            else:
                todo.append(it)
        chunks, report.workers, report.threads = _plan(todo, options, runner, workers, threads)
        report.failed += missing
        log.info("%d inputs: %d up to date, %d to process", len(items), len(report.skipped), len(todo))
        prog = progress_bar(len(todo), "file", stream=progress_stream)
        if todo:
            if runner == "ray":
                run_ray(chunks, options, out, report.workers, report.threads, on_outcome, address)
            else:
                run_local(chunks, options, out, report.workers, report.threads, on_outcome)
    except KeyboardInterrupt as exc:
        report.interrupted = True
        if not items:   # stopped before the inputs were found: they are all still to do
            report.pending += [{"input": raw} for raw in inputs]
        raise BatchInterrupted(report) from exc   # the report is completed below, before it is seen
    finally:
        if prog is not None:
            prog.close()
        _count_from_disk(report, todo, out, options)
        report.seconds = time.perf_counter() - t0
        order = {it.source: i for i, it in enumerate(items)}
        for lst in (report.done, report.failed):
            lst.sort(key=lambda d: order.get(d["input"], -1))
        _write_report(report)
    return report


def _write_report(report: BatchReport) -> None:
    """``OUT/batch_report.json``; when it cannot be written (a full disk) ``report.report_error``
    says why, and the batch still ends with its summary (the report's content is in memory)."""
    try:
        write_bytes_atomic(Path(report.out) / REPORT_NAME, (json.dumps(report.to_dict(), indent=1) + "\n").encode())
    except OutputWriteError as exc:
        report.report_error = str(exc)


def _count_from_disk(report: BatchReport, todo, out: str, options: BatchOptions) -> None:
    """Inputs of this run with no outcome (the batch stopped first): done if their outputs are
    complete on disk (a worker finished them as the batch stopped), else pending."""
    seen = {d["input"] for d in report.done + report.failed}
    for it in todo:
        if it.source in seen:
            continue
        if is_up_to_date(it, out, options):
            report.done.append({"input": it.source, "rel": it.rel, "note": "finished as the batch stopped"})
        else:
            report.pending.append({"input": it.source, "rel": it.rel})
