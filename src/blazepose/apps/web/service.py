"""What the web server does, without the web framework: options, shared landmarkers, decoding
uploads, and video jobs that run in a background thread.

Nothing here imports FastAPI, so it can be tested and reused without the ``web`` extra.

Safety rules this module implements:

- uploads are checked by decoding them, never by their name or declared type;
- no name or path from a request reaches the file system: uploads are written under a per-server
  temporary folder with server-generated names (job ids are ``uuid4`` hex strings), and a job is
  looked up in memory by its id, never by building a path from it;
- a job's files are deleted when the job is deleted or expires, and the whole folder when the
  server stops.
"""
from __future__ import annotations

import logging
import math
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ...errors import BlazePoseError, ImageReadError, InputError, VideoReadError
from ...models import registry

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Server limits. Sizes in bytes; ``output_max_side`` caps the annotated video's longer side
    (pixels; landmarks are always computed on the full frame)."""

    max_image_bytes: int = 20 * MB
    max_video_bytes: int = 200 * MB
    max_video_frames: int = 18_000
    max_image_pixels: int = 50_000_000
    output_max_side: int = 720
    job_ttl_s: float = 3600.0
    max_pending_jobs: int = 8
    max_live_sessions: int = 4
    num_threads: int | None = None
    preload: tuple[str, ...] = ("full",)


class UploadError(BlazePoseError):
    """A request's upload or options cannot be used; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.extra = extra


def safe_name(name: str | None, default: str = "upload") -> str:
    """A display-only version of a client's file name (never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")[:80]
    return base or default


# ---- options ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """Pipeline options of one request, with MediaPipe's names."""

    model: str = "full"
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    enable_segmentation: bool = False
    max_num_poses: int = 1
    smooth_landmarks: bool = True

    def __post_init__(self):
        if self.model not in registry.LANDMARK_MODELS:
            raise UploadError(422, f"model must be one of {', '.join(registry.LANDMARK_MODELS)}, got {self.model!r}")
        for nm in ("min_detection_confidence", "min_tracking_confidence"):
            v = getattr(self, nm)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 1.0):
                raise UploadError(422, f"{nm} must be a number in [0, 1], got {v!r}")
        if not 1 <= int(self.max_num_poses) <= 10:
            raise UploadError(422, f"max_num_poses must be in 1..10, got {self.max_num_poses!r}")

    def as_dict(self, video: bool = True) -> dict:
        d = asdict(self)
        if not video:  # smoothing is a video-mode option
            d.pop("smooth_landmarks")
        return d


# ---- shared landmarkers -------------------------------------------------------------------------
class FifoLock:
    """A lock handed to waiters in arrival order, so that under load no request waits much
    longer than the others (``threading.Lock`` makes no such promise)."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            ev = threading.Event()
            self._waiters.append(ev)
        ev.wait()  # release() hands the lock over directly

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


class LandmarkerPool:
    """One ``PoseLandmarker`` per (model, enable_segmentation), each used by one thread at a time.

    Loading engines is costly, so requests share them. The thresholds and ``max_num_poses`` are
    plain attributes read at call time, so they are set per request while the lock is held.
    """

    def __init__(self, num_threads: int | None = None):
        self.num_threads = num_threads
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[FifoLock, object]] = {}

    def _entry(self, model: str, segmentation: bool):
        key = (model, bool(segmentation))
        with self._lock:
            if key not in self._entries:
                from ...api.landmarker import PoseLandmarker

                log.info("loading landmarker %s (segmentation %s)", model, segmentation)
                pl = PoseLandmarker(model, enable_segmentation=segmentation, num_threads=self.num_threads)
                self._entries[key] = (FifoLock(), pl)
            return self._entries[key]

    def preload(self, model: str, segmentation: bool = False) -> None:
        self._entry(model, segmentation)

    @contextmanager
    def acquire(self, opts: Options) -> Iterator:
        lock, pl = self._entry(opts.model, opts.enable_segmentation)
        with lock:
            pl.min_detection_confidence = float(opts.min_detection_confidence)
            pl.min_tracking_confidence = float(opts.min_tracking_confidence)
            pl.max_num_poses = int(opts.max_num_poses)
            yield pl

    def close(self) -> None:
        with self._lock:
            for lock, pl in self._entries.values():
                with lock:
                    pl.close()
            self._entries.clear()


# ---- images -------------------------------------------------------------------------------------
def decode_image_bytes(data: bytes, name: str, scratch: Path, max_pixels: int) -> np.ndarray:
    """Decode an uploaded image (RGB uint8) with the package's reader, judging it by its content.

    The bytes go to a server-named file in ``scratch`` (removed at once) so that the same reader
    as the CLI's is used (EXIF orientation, gray/RGBA/16-bit). Errors name the upload, not the file.
    """
    if not data:
        raise UploadError(400, f"{name}: empty upload (0 bytes)")
    tmp = scratch / f"img-{uuid.uuid4().hex}"
    try:
        tmp.write_bytes(data)
        try:
            from PIL import Image

            with Image.open(tmp) as im:
                w, h = im.size
            if w * h > max_pixels:
                raise UploadError(413, f"{name}: image is {w}x{h} pixels, the limit is {max_pixels} pixels",
                                  limit_pixels=max_pixels)
        except UploadError:
            raise
        except Exception:  # noqa: BLE001 - read_image below gives the precise, typed reason
            pass
        try:
            from ...io.images import read_image

            return read_image(tmp)
        except ImageReadError as exc:
            status = 415 if exc.problem.startswith("not an image") else 422
            raise UploadError(status, f"{name}: {exc.problem}") from None
    finally:
        tmp.unlink(missing_ok=True)


def encode_png(rgb: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def csv_text(results, frame: int | None = None) -> str:
    """The long-format CSV (``CSV_HEADER``) of a list of results."""
    import csv
    import io

    from ...outputs.export import CSV_HEADER, csv_rows

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for res in results:
        for row in csv_rows(res, frame):
            w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


# ---- video --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoFormat:
    fourcc: str
    ext: str
    mime: str


_FORMAT: VideoFormat | None = None
_FORMAT_LOCK = threading.Lock()


def video_format() -> VideoFormat:
    """The browser-playable format OpenCV can write here: H.264 mp4 if it can, else WebM VP8.

    (The opencv-python wheels ship no H.264 encoder; VP8 WebM plays in every current browser and
    encodes about 3x faster than VP9.) Probed once per process.
    """
    global _FORMAT
    with _FORMAT_LOCK:
        if _FORMAT is None:
            import cv2

            probe_dir = Path(tempfile.mkdtemp(prefix="blazepose-probe-"))
            try:
                for fmt in (VideoFormat("avc1", ".mp4", "video/mp4"), VideoFormat("VP80", ".webm", "video/webm")):
                    level = cv2.utils.logging.getLogLevel()
                    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
                    try:
                        w = cv2.VideoWriter(str(probe_dir / f"probe{fmt.ext}"), cv2.VideoWriter_fourcc(*fmt.fourcc),
                                            10, (64, 64))
                        ok = w.isOpened()
                        if ok:
                            w.write(np.zeros((64, 64, 3), np.uint8))
                        w.release()
                    finally:
                        cv2.utils.logging.setLogLevel(level)
                    if ok:
                        _FORMAT = fmt
                        break
                else:
                    _FORMAT = VideoFormat("mp4v", ".mp4", "video/mp4")
                    log.warning("OpenCV can write neither H.264 nor VP8 here; annotated videos use MPEG-4 "
                                "part 2, which browsers do not play (the downloads still work)")
            finally:
                shutil.rmtree(probe_dir, ignore_errors=True)
    return _FORMAT


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: float
    width: int
    height: int


def probe_video(path: Path, name: str) -> VideoInfo:
    """Check that ``path`` decodes as a video (its first frame is decoded); raise ``UploadError``
    naming the upload. Sizes are after the container's rotation, as the frames will be."""
    from ...io.video import VideoReader

    try:
        with VideoReader(path, prefetch=1) as r:
            return VideoInfo(max(r.frame_count, 1), r.fps, r.width, r.height)
    except VideoReadError as exc:
        raise UploadError(415, f"{name}: not a video that can be decoded ({exc.problem})") from None


# ---- jobs ---------------------------------------------------------------------------------------
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(eq=False)
class Job:
    """A video job. ``dir`` is made by the server; downloads are looked up in ``files`` by kind."""

    id: str
    name: str
    options: Options
    dir: Path
    info: VideoInfo | None = None
    state: str = "queued"          # queued | running | done | failed | cancelled
    frames_done: int = 0
    frames_with_pose: int = 0
    error: str | None = None
    error_status: int | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    files: dict = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def has_results(self) -> bool:
        """Done, or failed after frames with a person were written (then the files are partial)."""
        return self.state == "done" or (self.state == "failed" and self.frames_with_pose > 0 and bool(self.files))

    def snapshot(self) -> dict:
        total = self.info.frames if self.info else None
        progress = 1.0 if self.state == "done" else (min(1.0, self.frames_done / total) if total else 0.0)
        return {"id": self.id, "file": self.name, "state": self.state, "progress": round(progress, 4),
                "frames_done": self.frames_done, "frames_total": total,
                "frames_with_pose": self.frames_with_pose, "error": self.error,
                "options": self.options.as_dict(),
                "partial": self.state == "failed" and self.has_results,
                "downloads": {k: f"/api/jobs/{self.id}/{k}" for k in self.files} if self.has_results else {}}


class JobManager:
    """Video jobs: a queue served by one worker thread (engines use every core already)."""

    def __init__(self, root: Path, run: Callable[[Job], None], settings: Settings):
        self.root = root
        self._run = run
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._worker, name="blazepose-video-jobs", daemon=True)
        self._thread.start()

    def new(self, name: str, options: Options) -> Job:
        with self._lock:
            pending = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if pending >= self.settings.max_pending_jobs:
                raise UploadError(429, f"{pending} videos are already waiting; try again when one is done")
            jid = uuid.uuid4().hex
            d = self.root / "jobs" / jid
            d.mkdir(parents=True)
            job = Job(jid, name, options, d)
            self._jobs[jid] = job
            return job

    def submit(self, job: Job) -> None:
        self._queue.put(job)

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.match(job_id or ""):
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def delete(self, job_id: str) -> bool:
        job = self.get(job_id)
        if job is None:
            return False
        job.cancel.set()
        with self._lock:
            self._jobs.pop(job.id, None)
        if job.state != "running":  # a running job's worker removes its folder when it stops
            shutil.rmtree(job.dir, ignore_errors=True)
        return True

    def expire(self, now: float | None = None) -> int:
        """Delete finished jobs older than the TTL; return how many."""
        now = time.time() if now is None else now
        with self._lock:
            old = [j.id for j in self._jobs.values()
                   if j.finished is not None and now - j.finished > self.settings.job_ttl_s]
        for jid in old:
            self.delete(jid)
        return len(old)

    def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._queue.get(timeout=10.0)
            except queue.Empty:
                self.expire()
                continue
            if job is None:
                break
            if job.cancel.is_set():
                continue
            job.state = "running"
            try:
                self._run(job)
                if job.cancel.is_set():
                    job.state = "cancelled"
                elif job.state == "running":
                    job.state = "done"
            except UploadError as exc:
                job.state, job.error, job.error_status = "failed", str(exc), exc.status
            except BlazePoseError as exc:
                job.state, job.error, job.error_status = "failed", str(exc), 422
            except Exception as exc:  # noqa: BLE001 - a job must never take the server down
                log.exception("video job %s failed", job.id)
                job.state, job.error, job.error_status = "failed", f"{job.name}: internal error ({exc})", 500
            job.finished = time.time()
            if job.cancel.is_set() or job.id not in self._jobs:
                shutil.rmtree(job.dir, ignore_errors=True)
            self.expire()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            jobs = list(self._jobs.values())
        for j in jobs:
            j.cancel.set()
        self._queue.put(None)
        self._thread.join(timeout=30)
        with self._lock:
            self._jobs.clear()


def job_landmarker(opts: Options, settings: Settings):
    """A landmarker of its own for one video job (tracking state belongs to one video; loading
    one takes about 0.1 s, nothing next to a video's processing)."""
    from ...api.landmarker import PoseLandmarker

    return PoseLandmarker(opts.model, min_detection_confidence=opts.min_detection_confidence,
                          min_tracking_confidence=opts.min_tracking_confidence,
                          enable_segmentation=opts.enable_segmentation, max_num_poses=opts.max_num_poses,
                          smooth_landmarks=opts.smooth_landmarks, smooth_segmentation=opts.smooth_landmarks,
                          num_threads=settings.num_threads)


def live_landmarker(opts: Options, settings: Settings):
    """A webcam session's landmarker (video mode: tracking and smoothing state are the session's)."""
    return job_landmarker(opts, settings)


def run_video_job(job: Job, settings: Settings) -> None:
    """Process a job's uploaded video in video mode (tracking; smoothing unless turned off):
    annotated video, streaming JSON and CSV in the job's folder, as ``blazepose video`` writes
    them (frames the decoder rejects are skipped and listed in the JSON with their error).

    A video in which no frame has a person ends as a failed job (HTTP 422 on its downloads).
    """
    import cv2

    from ...io.video import VideoReader
    from ...outputs.draw import draw_pose
    from ...outputs.export import CsvWriter, JsonWriter, header

    fmt = video_format()
    src = job.dir / "input"
    o = job.options
    out_video, out_json, out_csv = job.dir / f"annotated{fmt.ext}", job.dir / "result.json", job.dir / "result.csv"
    stem = Path(job.name).stem or "video"
    try:
        reader = VideoReader(src, log_errors=False, max_frames=settings.max_video_frames)
    except VideoReadError as exc:
        raise UploadError(415, f"{job.name}: not a video that can be decoded ({exc.problem})") from None
    scale = min(1.0, settings.output_max_side / max(reader.width, reader.height))
    size = (max(2, int(round(reader.width * scale / 2)) * 2), max(2, int(round(reader.height * scale / 2)) * 2))
    meta = header(o.model, source=job.name, fps=reader.fps, width=reader.width, height=reader.height,
                  frame_count=reader.frame_count, smoothing="causal" if o.smooth_landmarks else "off",
                  min_detection_confidence=o.min_detection_confidence,
                  min_tracking_confidence=o.min_tracking_confidence, options=o.as_dict())
    # Known from the start: if the job fails half-way, what was written is still served (partial).
    job.files = {"video": (out_video, fmt.mime, f"{stem}.annotated{fmt.ext}"),
                 "json": (out_json, "application/json", f"{stem}.json"),
                 "csv": (out_csv, "text/csv", f"{stem}.csv")}
    writer = cv2.VideoWriter(str(out_video), cv2.VideoWriter_fourcc(*fmt.fourcc), reader.fps, size)
    if not writer.isOpened():
        reader.close()
        raise RuntimeError(f"cannot open a {fmt.fourcc} video writer")
    skipped = 0
    try:
        with job_landmarker(o, settings) as pl, JsonWriter(out_json, meta) as jw, CsvWriter(out_csv) as cw:

            def report_skipped(upto: int | None) -> None:
                nonlocal skipped
                while skipped < len(reader.errors) and (upto is None or reader.errors[skipped].index < upto):
                    err = reader.errors[skipped]
                    jw.write({"frame_index": err.index, "timestamp_ms": None if err.timestamp_ms is None
                              else round(err.timestamp_ms, 3), "error": err.problem})
                    skipped += 1

            for rgb, res in pl.process_video(reader, return_frames=True):
                if job.cancel.is_set():
                    return
                report_skipped(res.frame_index)
                jw.write(res)
                cw.write(res)
                img = draw_pose(rgb, res)
                if img.shape[1] != size[0] or img.shape[0] != size[1]:
                    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
                writer.write(np.ascontiguousarray(img[..., ::-1]))
                job.frames_done += 1
                job.frames_with_pose += bool(len(res))
            report_skipped(None)
    finally:
        writer.release()
        reader.close()
        src.unlink(missing_ok=True)
    if job.frames_done == 0:
        raise UploadError(422, f"{job.name}: no frame could be decoded")
    if job.frames_with_pose == 0:
        raise UploadError(422, f"{job.name}: no person found in any of the {job.frames_done} frames "
                               f"(model {o.model}, min_detection_confidence {o.min_detection_confidence})")
