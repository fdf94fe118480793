"""``blazepose batch``: many photos and videos at once, on every core, resumable, or on Ray.

Inputs are files, folders (searched recursively for image and video files) and glob patterns.
Each input gets one JSON result file in a folder tree under ``--out`` that mirrors the inputs'
tree below their common folder: ``photos/a/b.jpg`` → ``OUT/a/b.jpg.json`` (plus
``b.jpg.annotated.png`` with ``--annotate``, ``.annotated.mp4`` for a video, and
``b.jpg.angles.json`` with ``--angles``: ``outputs.angles.AnglesWriter``'s joint angles and
range-of-motion summary). The JSON is the streaming format of ``outputs.export.JsonWriter`` (one
frame for a photo; one per frame for a video, in video mode: tracking and smoothing) with a
leading ``"batch"`` record: the input's relative path, size and mtime, and the options that shape
the outputs.

Safety and resuming: every output is written under a ``.partial`` name and renamed only once
complete, so a file with its final name is always whole. A re-run skips an input whose result file
exists with the same input size, mtime and options (and whose extra outputs exist when asked).
A bad input is reported and skipped; it never stops the batch. The summary (done, skipped, failed
with reasons) is printed and written to ``OUT/batch_report.json``.

Engines: ``local`` (default) is a process pool, one ``PoseLandmarker`` per worker process, each
engine using ``cores / workers`` threads; ``ray`` runs the same worker code as Ray actors, on a
local Ray or on a cluster (``--address``; inputs and ``--out`` must then be on a filesystem every
node sees). Coordinates in the outputs are those of ``PoseResult.to_dict``: image pixels, x right,
y down.
"""
from __future__ import annotations

import concurrent.futures as cf
import glob
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import BlazePoseError, InputError, VideoReadError
from ..io.images import IMAGE_SUFFIXES
from ..io.video import VIDEO_SUFFIXES
from ..runtime.engine import usable_cores

log = logging.getLogger(__name__)

REPORT_NAME = "batch_report.json"
RESULT_SUFFIX = ".json"
PARTIAL = ".partial"
#: The split measured fastest on a 2-core machine (benchmarks/batch_throughput.py, README): one
#: worker process per core, one engine thread each, the landmark model on 4 images per call.
DEFAULT_THREADS_PER_WORKER = 1
DEFAULT_BATCH_SIZE = 4
#: Below this much work (images, a video counting as 100), starting worker processes (about half
#: a second each) costs more than it gains: one in-process worker with every core's threads.
SMALL_BATCH = 64
_BATCH_PREFIX = '{"batch": '


# ---- what to do ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOptions:
    """Everything that shapes a result file; recorded in it and compared when resuming."""

    model: str = "full"
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    upper_body_only: bool = False
    max_num_poses: int = 1
    detection_tiles: int = 0
    smooth_landmarks: bool = True
    annotate: bool = False
    angles: bool = False
    min_visibility: float = 0.5
    batch_size: int = DEFAULT_BATCH_SIZE

    def fingerprint(self) -> dict:
        """The options that change the result file (not its speed, not the extra outputs)."""
        d = asdict(self)
        for k in ("batch_size", "annotate", "angles", "min_visibility"):
            d.pop(k)
        return d

    def extras(self) -> dict:
        """The extra outputs asked for, with the options that shape them (None: not asked)."""
        return {"annotated": {"min_visibility": self.min_visibility} if self.annotate else None,
                "angles": {"min_visibility": self.min_visibility} if self.angles else None}


@dataclass(frozen=True)
class BatchItem:
    """One input file: its path as found, and its path relative to the mirrored root."""

    source: str
    rel: str
    kind: str  # "image" | "video"


def kind_of(path: str | os.PathLike) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def collect_inputs(inputs: Iterable[str], exclude: str | os.PathLike | None = None
                   ) -> tuple[list[BatchItem], list[dict]]:
    """Expand files, folders (recursive) and globs into items; also the inputs that matched nothing.

    A file named explicitly is always attempted (a non-image fails with its reason); in folders and
    glob matches, only image and video files are taken. Files under ``exclude`` (the output
    folder) are never inputs. Relative paths are taken from the common folder of the inputs.
    """
    excl = Path(os.path.abspath(exclude)) if exclude is not None else None
    found: dict[str, str] = {}        # absolute path -> kind
    bases: list[str] = []
    missing: list[dict] = []

    def add(p: Path, explicit: bool) -> None:
        ap = Path(os.path.abspath(p))
        if excl is not None and _is_within(ap, excl):
            return
        k = kind_of(ap)
        if k is None and not explicit:
            return
        found.setdefault(str(ap), k or "image")

    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            bases.append(os.path.abspath(p))
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    add(f, explicit=False)
        elif p.exists() or p.is_symlink():
            bases.append(os.path.dirname(os.path.abspath(p)))
            add(p, explicit=True)
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            for d in (Path(m) for m in matches if Path(m).is_dir()):
                files += [f for f in sorted(d.rglob("*")) if f.is_file()]
            if not files:
                missing.append({"input": raw, "error": f"{raw}: no file matches this pattern"})
                continue
            stem = []
            for part in Path(raw).parts:
                if glob.has_magic(part):
                    break
                stem.append(part)
            bases.append(os.path.abspath(Path(*stem)) if stem else os.getcwd())
            for f in files:
                add(f, explicit=False)
        else:
            missing.append({"input": raw, "error": f"{raw}: no such file or folder"})
    if not found:
        return [], missing
    root = os.path.commonpath(bases + [os.path.dirname(f) for f in found])
    items = [BatchItem(src, Path(os.path.relpath(src, root)).as_posix(), k) for src, k in sorted(found.items())]
    return items, missing


def output_paths(out: str | os.PathLike, item: BatchItem, options: BatchOptions) -> dict[str, Path]:
    """The files one input produces under ``out``: ``result``; with --annotate ``annotated``
    (``NAME.annotated.png`` or ``.mp4``); with --angles ``angles`` (``NAME.angles.json``)."""
    base = Path(out) / item.rel
    paths = {"result": base.with_name(base.name + RESULT_SUFFIX)}
    if options.annotate:
        paths["annotated"] = base.with_name(base.name + (".annotated.png" if item.kind == "image"
                                                         else ".annotated.mp4"))
    if options.angles:
        paths["angles"] = base.with_name(base.name + ".angles.json")
    return paths


def source_record(item: BatchItem, options: BatchOptions) -> dict:
    st = os.stat(item.source)
    return {"input": item.rel, "kind": item.kind, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "options": options.fingerprint(), "extras": options.extras()}


def read_batch_record(path: str | os.PathLike) -> dict | None:
    """The ``"batch"`` record of a complete result file, or None (missing, partial, foreign)."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536).decode("utf-8", errors="replace")
            f.seek(0, os.SEEK_END)
            if f.tell() < 8:
                return None
            f.seek(-8, os.SEEK_END)
            tail = f.read()
    except OSError:
        return None
    # a whole document (this tool only ever renames complete files; this guards against a copy
    # cut short): it starts with our record and ends by closing the frame list and the document
    # on a line of their own (frames are one line each, so a cut inside a frame never does)
    if not head.startswith(_BATCH_PREFIX) or not tail.rstrip().endswith(b"\n]}"):
        return None
    try:
        record, _ = json.JSONDecoder().raw_decode(head, len(_BATCH_PREFIX))
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def is_up_to_date(item: BatchItem, out: str | os.PathLike, options: BatchOptions) -> bool:
    """True when this input's outputs are complete and were made from this file with these options."""
    paths = output_paths(out, item, options)
    rec = read_batch_record(paths["result"])
    if rec is None:
        return False
    try:
        now = source_record(item, options)
    except OSError:
        return False
    if any(rec.get(k) != now[k] for k in ("input", "size", "mtime_ns", "options")):
        return False
    # an extra output asked for must have been made with the same options; one not asked for
    # (an earlier run's annotated video, say) does not matter
    done = rec.get("extras") or {}
    return all(done.get(k) == v and paths[k].is_file() for k, v in now["extras"].items() if v is not None)


# ---- the work, in a worker -------------------------------------------------------------------
def _partial(path: Path) -> Path:
    """The temporary name of an output (keeps the suffix: encoders choose the format by it)."""
    return path.with_name(path.stem + PARTIAL + path.suffix)


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _partial(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def video_frames(landmarker, path: str, with_frames: bool) -> Iterator:
    """``(rgb_frame or None, PoseResult)`` for every frame of a video, in order, in the
    landmarker's video mode (tracking and smoothing, container timestamps)."""
    if with_frames:
        yield from landmarker.process_video(path, return_frames=True)
    else:
        for res in landmarker.process_video(path):
            yield None, res


class BatchWorker:
    """Processes items and writes their outputs; one per worker process (or Ray actor)."""

    def __init__(self, options: BatchOptions, out: str, num_threads: int):
        self.options = options
        self.out = str(out)
        self.num_threads = int(num_threads)
        self._landmarker = None

    @property
    def landmarker(self):
        if self._landmarker is None:
            from ..api.landmarker import PoseLandmarker

            o = self.options
            self._landmarker = PoseLandmarker(
                o.model, min_detection_confidence=o.min_detection_confidence,
                min_tracking_confidence=o.min_tracking_confidence, upper_body_only=o.upper_body_only,
                max_num_poses=o.max_num_poses, detection_tiles=o.detection_tiles,
                smooth_landmarks=o.smooth_landmarks, num_threads=self.num_threads)
        return self._landmarker

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def run(self, items: list[BatchItem]) -> list[dict]:
        """Process a chunk of items; one outcome dict per item, never raising for a bad input.

        Each outcome carries ``cpu_seconds``: this worker's CPU time for the chunk, shared evenly.
        """
        cpu0 = time.process_time()
        outcomes: dict[int, dict] = {}
        images: list[tuple[int, BatchItem, object, dict]] = []
        for idx, item in enumerate(items):
            t0 = time.perf_counter()
            try:
                record = source_record(item, self.options)
                if item.kind == "video":
                    n = self._video(item, record)
                    outcomes[idx] = _outcome(item, "done", t0, frames=n)
                else:
                    images.append((idx, item, self.landmarker.load(item.source), record))
            except Exception as exc:  # a bad input never stops the batch
                outcomes[idx] = _failure(item, exc, t0)
        if images:
            t0 = time.perf_counter()
            try:
                results = self.landmarker.process_batch([im for _, _, im, _ in images],
                                                        batch_size=self.options.batch_size)
            except Exception as exc:
                if len(images) == 1:
                    results = [exc]
                else:  # find the culprit: one image at a time
                    results = []
                    for _, _, im, _ in images:
                        try:
                            results += self.landmarker.process_batch([im])
                        except Exception as exc1:
                            results.append(exc1)
            for (idx, item, rgb, record), res in zip(images, results):
                try:
                    if isinstance(res, Exception):
                        raise res
                    self._write_image(item, record, rgb, res)
                    outcomes[idx] = _outcome(item, "done", t0, people=len(res))
                except Exception as exc:
                    outcomes[idx] = _failure(item, exc, t0)
        cpu = round((time.process_time() - cpu0) / max(1, len(items)), 4)
        return [{**outcomes[i], "cpu_seconds": cpu} for i in range(len(items))]

    # outputs: each written under its .partial name, renamed when complete; the result file last
    def _meta(self, record: dict) -> dict:
        from ..outputs.export import header

        return {"batch": record, **header(self.options.model, source=record["input"])}

    def _angles_writer(self, paths: dict, record: dict):
        from ..outputs.angles import AnglesWriter
        from ..outputs.export import header

        return AnglesWriter(_partial(paths["angles"]), header(self.options.model, source=record["input"]),
                            min_visibility=self.options.min_visibility)

    def _write_image(self, item: BatchItem, record: dict, rgb, res) -> None:
        from ..outputs.export import JsonWriter

        paths = output_paths(self.out, item, self.options)
        if "annotated" in paths:
            import cv2

            from ..outputs.draw import draw_pose

            img = draw_pose(rgb, res, min_visibility=self.options.min_visibility)
            ok, buf = cv2.imencode(".png", img[..., ::-1])
            if not ok:
                raise BlazePoseError(f"{item.source}: cannot encode the annotated image")
            _write_bytes_atomic(paths["annotated"], buf.tobytes())
        if "angles" in paths:
            with self._angles_writer(paths, record) as aw:
                aw.write(res, frame=0)
            os.replace(_partial(paths["angles"]), paths["angles"])
        tmp = _partial(paths["result"])
        with JsonWriter(tmp, self._meta(record)) as w:
            w.write(res)
        os.replace(tmp, paths["result"])

    def _video(self, item: BatchItem, record: dict) -> int:
        from ..outputs.draw import draw_pose
        from ..outputs.export import JsonWriter

        paths = output_paths(self.out, item, self.options)
        tmp = _partial(paths["result"])
        extra_tmps = [_partial(paths[k]) for k in ("annotated", "angles") if k in paths]
        vw = aw = None
        n = 0
        try:
            with JsonWriter(tmp, self._meta(record)) as w:
                if "angles" in paths:
                    aw = self._angles_writer(paths, record)
                for rgb, res in video_frames(self.landmarker, item.source, "annotated" in paths):
                    if "annotated" in paths:
                        if vw is None:
                            vw = _VideoOut(_partial(paths["annotated"]), item.source, rgb.shape[1], rgb.shape[0])
                        vw.write(draw_pose(rgb, res, min_visibility=self.options.min_visibility))
                    if aw is not None:
                        aw.write(res)
                    w.write(res)
                    n += 1
            if n == 0:
                raise VideoReadError(item.source, "no frame could be decoded")
            for k, writer in (("annotated", vw), ("angles", aw)):
                if writer is not None:
                    writer.close()
                    os.replace(_partial(paths[k]), paths[k])
        except BaseException as exc:
            for writer in (vw, aw):
                if writer is not None:
                    writer.close()
            for t in extra_tmps:
                t.unlink(missing_ok=True)
            if n and isinstance(exc, BlazePoseError):
                # keep what was computed: the .partial JSON is valid and holds every frame so far
                raise InputError(f"{exc} (after {n} frames; those are kept in {tmp})") from exc
            if not n:
                tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, paths["result"])
        return n


class _VideoOut:
    """An annotated copy of a video (mp4v), at the source's frame rate."""

    def __init__(self, path: Path, source: str, width: int, height: int):
        import cv2

        cap = cv2.VideoCapture(source)
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        cap.release()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not self._w.isOpened():
            raise BlazePoseError(f"{path}: cannot write an mp4 video here")

    def write(self, rgb) -> None:
        self._w.write(np.ascontiguousarray(rgb[..., ::-1]))

    def close(self) -> None:
        self._w.release()


def _outcome(item: BatchItem, status: str, t0: float, **extra) -> dict:
    return {"input": item.source, "rel": item.rel, "status": status,
            "seconds": round(time.perf_counter() - t0, 4), **extra}


def _failure(item: BatchItem, exc: BaseException, t0: float) -> dict:
    if isinstance(exc, BlazePoseError):
        reason = str(exc)
    elif isinstance(exc, ImportError):
        reason = f"{item.source}: {exc}"
    else:
        log.debug("unexpected error on %s", item.source, exc_info=True)
        reason = f"{item.source}: {type(exc).__name__}: {exc}"
    return _outcome(item, "failed", t0, error=reason)


# ---- engines ---------------------------------------------------------------------------------
_WORKER: BatchWorker | None = None


def _init_worker(options: BatchOptions, out: str, num_threads: int) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the driver's to handle
    _WORKER = BatchWorker(options, out, num_threads)


def _run_chunk(items: list[BatchItem]) -> list[dict]:
    assert _WORKER is not None
    return _WORKER.run(items)


def _chunks(items: list[BatchItem], size: int) -> list[list[BatchItem]]:
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
    for attempt in range(3):
        if not pending:
            return
        broken = _pool_pass(pending, ctx, options, out, workers, threads, on_outcome)
        # A worker died (a crash in native code): retry those inputs one per task; a died worker
        # takes down the tasks beside it, so the culprit is only known after a retry.
        pending = [[it] for chunk in broken for it in chunk]
    for (it,) in pending:
        on_outcome(_outcome(it, "failed", time.perf_counter(),
                            error=f"{it.source}: the worker process died on this input"))


def _mp_context():
    """Worker processes start from a clean process: a fork server that has imported the pipeline
    once (POSIX), else a fresh interpreter each (spawn). Never a fork of the caller, whose engine
    threads (if it made a landmarker) would not survive a fork safely."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["blazepose.apps.batch", "blazepose.api.landmarker"])
        return ctx
    return multiprocessing.get_context("spawn")


def _pool_pass(chunks, ctx, options, out, workers, threads, on_outcome) -> list[list[BatchItem]]:
    """One pool over ``chunks`` (at most two per worker in flight); the chunks a dead worker lost."""
    broken: list[list[BatchItem]] = []
    queue = iter(chunks)
    with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                initargs=(options, out, threads)) as pool:
        futs: dict[cf.Future, list[BatchItem]] = {}
        try:
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
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            raise
    return broken + list(queue)


def run_ray(chunks, options: BatchOptions, out: str, workers: int | None, threads: int,
            on_outcome: Callable[[dict], None], address: str | None = None) -> None:
    """The same worker code as Ray actors (one landmarker each); a local Ray unless ``address``."""
    try:
        import ray
    except ImportError:
        raise BlazePoseError("--engine ray needs Ray: pip install 'blazepose[ray]'") from None
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
                    outcomes = [_outcome(it, "failed", t0, error=f"{it.source}: the Ray worker failed "
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


# ---- progress and the whole batch -------------------------------------------------------------
class Progress:
    """One overall progress line on a terminal (nothing when the stream is not a TTY)."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)()) and total > 0
        self.n = self.failed = 0
        self.t0 = time.perf_counter()

    def update(self, outcome: dict) -> None:
        self.n += 1
        self.failed += outcome["status"] == "failed"
        if not self.enabled:
            return
        frac = self.n / self.total
        rate = self.n / max(1e-9, time.perf_counter() - self.t0)
        bar = "#" * int(30 * frac)
        self.stream.write(f"\r[{bar:<30}] {self.n}/{self.total} {rate:.1f} files/s"
                          + (f" ({self.failed} failed)" if self.failed else ""))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


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
        from .. import __version__

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
    chunks = _chunks(todo, max(1, options.batch_size))
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
    prog = Progress(len(todo), progress_stream)

    def on_outcome(o: dict) -> None:
        (report.done if o["status"] == "done" else report.failed).append(
            {k: v for k, v in o.items() if k != "status"})
        prog.update(o)

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
        _write_bytes_atomic(Path(out) / REPORT_NAME, (json.dumps(report.to_dict(), indent=1) + "\n").encode())
    return report


# ---- command line ----------------------------------------------------------------------------
def cmd_batch(args) -> int:
    opts = BatchOptions(model=args.model, min_detection_confidence=args.min_detection_confidence,
                        min_tracking_confidence=args.min_tracking_confidence,
                        upper_body_only=args.upper_body_only, max_num_poses=args.max_poses,
                        detection_tiles=args.detection_tiles,
                        smooth_landmarks=not args.no_smooth_landmarks, annotate=args.annotate,
                        angles=args.angles, min_visibility=args.min_visibility, batch_size=args.batch_size)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    report = run_batch(args.inputs, args.out, opts, workers=args.workers, threads=args.num_threads,
                       engine=args.engine, address=args.address, force=args.force)
    print(report.summary(), file=sys.stderr)
    print(f"report: {Path(report.out) / REPORT_NAME}", file=sys.stderr)
    return 1 if report.failed else 0


def register(subparsers) -> None:
    from .cli import add_model_options

    p = subparsers.add_parser("batch", help="many photos and videos into a folder of result files "
                              "(all cores, resumable, or on Ray)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (recursive) or glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (mirrors the inputs' tree)")
    add_model_options(p)
    for action in p._actions:   # the shared option means threads per worker here
        if action.dest == "num_threads":
            action.help = ("engine threads per worker (default: cores / workers; "
                           "1 with the default one worker per core)")
    p.add_argument("--annotate", action="store_true", help="also write annotated images / videos")
    p.add_argument("--angles", action="store_true",
                   help="also write joint angles per frame with a range-of-motion summary (NAME.angles.json)")
    p.add_argument("--min-visibility", type=float, default=0.5, metavar="P",
                   help="drawing and angle summaries only: ignore landmarks less visible than this (default 0.5)")
    p.add_argument("--no-smooth-landmarks", action="store_true", help="videos: no landmark smoothing")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: one per core; Ray: the cluster's CPUs)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                   help=f"images per landmark-model call in a worker (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local process pool (default) or Ray")
    p.add_argument("--address", default=None, help="Ray: address of an existing cluster (default: start a local Ray)")
    p.add_argument("--force", action="store_true", help="redo inputs whose results are up to date")
    p.set_defaults(func=cmd_batch)
