"""Where batch workers run: a local process pool, or Ray actors.

Local workers start from a fork server that has imported the pipeline once (POSIX), else from a
fresh interpreter (spawn); never a fork of the caller. Each worker ignores Ctrl-C (the driver
handles it), tells the driver its process id at start, and watches the driver: when the driver is
gone (whatever killed it) the worker exits within ``DRIVER_CHECK_S``, so no worker outlives its
batch. The fork server needs nothing more: it exits when the last process holding its "alive"
pipe is gone, that is the driver and every worker it forked (Python hands that pipe to each
child). Workers also hold the folder's workers lock (``lock.py``) for their life, so a new batch
on the same ``--out`` waits until they are gone (``tests/test_kill.py`` checks both, at several
kill points).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from typing import Callable

from ...errors import BlazePoseError
from ...runtime.threads import usable_cores
from .. import interrupts
from .inputs import BatchItem
from .lock import hold_workers_lock
from .options import BatchOptions
from .worker import BatchWorker, outcome

#: How often a worker checks that its driver still runs (seconds).
DRIVER_CHECK_S = 0.2
_WORKER: BatchWorker | None = None
_WORKERS_LOCK: int | None = None   # kept open for the worker's life (see lock.py)


def _driver_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # a process of another user has the id: the driver is gone
        return False
    # A killed driver stays a zombie until its parent reaps it, and os.kill succeeds on a zombie:
    # workers went on for seconds (as long as the parent waits) processing the inputs queued to them.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):   # no /proc (macOS): os.kill's answer stands
        return True


def _watch_driver(pid: int) -> None:
    while _driver_alive(pid):
        time.sleep(DRIVER_CHECK_S)
    os._exit(3)   # the driver is gone: nothing will read this worker's results


def _init_worker(options: BatchOptions, out: str, num_threads: int, driver: int, pids) -> None:
    global _WORKER, _WORKERS_LOCK
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the driver's to handle
    if hasattr(signal, "pthread_sigmask"):         # blocked since the fork server started
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _WORKERS_LOCK = hold_workers_lock(out)         # a new batch on `out` waits until this process is gone
    pids.put(os.getpid())
    threading.Thread(target=_watch_driver, args=(driver,), name="blazepose-driver-watch", daemon=True).start()
    _WORKER = BatchWorker(options, out, num_threads)


def _run_chunk(items: list[BatchItem]) -> list[dict]:
    assert _WORKER is not None
    return _WORKER.run(items)


def chunks_of(items: list[BatchItem], size: int) -> list[list[BatchItem]]:
    """Images in chunks of ``size`` (one landmark-model batch), every video alone."""
    out, cur = [], []
    for it in items:
        if it.kind == "video":
            out.append([it])
            continue
        cur.append(it)
        if len(cur) >= size:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def run_local(chunks, options: BatchOptions, out: str, workers: int, threads: int,
              on_outcome: Callable[[dict], None]) -> None:
    """A process pool (or this process for one worker); inputs a dead worker lost are retried
    one per task, twice at most, then reported as failed."""
    if workers <= 1:
        worker = BatchWorker(options, out, threads)
        try:
            for chunk in chunks:
                for o in worker.run(chunk):
                    on_outcome(o)
        finally:
            worker.close()
        return
    ctx = _mp_context()
    pending = list(chunks)
    for _ in range(3):
        if not pending:
            return
        broken = _pool_pass(pending, ctx, options, out, workers, threads, on_outcome)
        # A worker died (a crash in native code): retry those inputs one per task; a died worker
        # takes down the tasks beside it, so the culprit is only known after a retry.
        pending = [[it] for chunk in broken for it in chunk]
    for (it,) in pending:
        on_outcome(outcome(it, "failed", time.perf_counter(),
                           error=f"{it.source}: the worker process died on this input"))


def _mp_context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["blazepose.apps.batch.runners", "blazepose.api.landmarker"])
        _start_forkserver_without_sigint()
        return ctx
    return multiprocessing.get_context("spawn")


def _start_forkserver_without_sigint() -> None:
    """Start the fork server (and multiprocessing's resource tracker) with Ctrl-C blocked.

    Ctrl-C reaches every process of the terminal's group. The fork server ignores it only once it
    has imported the pipeline (about half a second); before that, a Ctrl-C printed a 14-38 line
    traceback from it. Started with SIGINT blocked, it never sees one (a blocked signal stays
    pending until the server sets SIGINT to ignored, which discards it); the workers it forks
    inherit the block and unblock it once they ignore SIGINT (``_init_worker``). A Ctrl-C meanwhile
    reaches this process when the block is lifted below.
    """
    from multiprocessing import forkserver, resource_tracker

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        return
    # The tracker first: starting it unblocks SIGINT in this process (it blocks, spawns, unblocks),
    # which would undo the block below; once it runs, the fork server's start leaves it alone.
    resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _terminate(pids) -> None:
    """Stop the pool's workers now (their pids came through the queue at start)."""
    while not pids.empty():
        try:
            os.kill(pids.get(), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass


def _stop_processes(procs, timeout: float = 5.0) -> None:
    """SIGTERM each process still running, then wait for them (``timeout`` seconds in all)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    t_end = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, t_end - time.monotonic()))


def _pool_pass(chunks, ctx, options, out, workers, threads, on_outcome) -> list[list[BatchItem]]:
    """One pool over ``chunks`` (at most two per worker in flight); the chunks a dead worker lost."""
    broken: list[list[BatchItem]] = []
    queue = iter(chunks)
    pids = ctx.SimpleQueue()
    with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                initargs=(options, out, threads, os.getpid(), pids)) as pool:
        futs: dict[cf.Future, list[BatchItem]] = {}
        try:
            with interrupts.deferred():   # the first submits start the processes: never cut halfway
                for chunk in queue:
                    futs[pool.submit(_run_chunk, chunk)] = chunk
                    if len(futs) >= 2 * workers:
                        break
            while futs:
                done, _ = cf.wait(futs, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    chunk = futs.pop(f)
                    try:
                        outcomes = f.result()
                    except cf.process.BrokenProcessPool:
                        broken.append(chunk)
                        continue
                    for o in outcomes:
                        on_outcome(o)
                    if not broken:
                        nxt = next(queue, None)
                        if nxt is not None:
                            futs[pool.submit(_run_chunk, nxt)] = nxt
        except BaseException:   # Ctrl-C: stop now; unfinished outputs stay .partial, never final
            # every process started, ready or not: one still starting when this process exits
            # printed a traceback (its pickled locks were gone)
            started = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            _terminate(pids)
            _stop_processes(started)
            raise
    return broken + list(queue)


def run_ray(chunks, options: BatchOptions, out: str, workers: int | None, threads: int,
            on_outcome: Callable[[dict], None], address: str | None = None) -> None:
    """The same worker code as Ray actors (one landmarker each); a local Ray unless ``address``."""
    try:
        import ray
    except ImportError:
        raise BlazePoseError("--runner ray needs Ray: pip install 'blazepose[ray]'") from None
    started = False
    if not ray.is_initialized():
        kw = {"address": address} if address else {"num_cpus": (workers or usable_cores()) * threads}
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)
        started = True
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        actor_cls = ray.remote(num_cpus=threads)(BatchWorker)
        free = [actor_cls.remote(options, str(out), threads) for _ in range(workers)]
        inflight: dict = {}
        queue = iter(chunks)
        try:
            while True:
                while free:
                    chunk = next(queue, None)
                    if chunk is None:
                        break
                    actor = free.pop()
                    inflight[actor.run.remote(chunk)] = (actor, chunk)
                if not inflight:
                    break
                (ref,), _ = ray.wait(list(inflight), num_returns=1)
                actor, chunk = inflight.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the actor died: its chunk fails, a new one starts
                    t0 = time.perf_counter()
                    outcomes = [outcome(it, "failed", t0, error=f"{it.source}: the Ray worker failed "
                                         f"({type(exc).__name__})") for it in chunk]
                    ray.kill(actor)
                    actor = actor_cls.remote(options, str(out), threads)
                free.append(actor)
                for o in outcomes:
                    on_outcome(o)
        finally:
            for actor in free + [a for a, _ in inflight.values()]:
                ray.kill(actor)
    finally:
        if started:
            ray.shutdown()
