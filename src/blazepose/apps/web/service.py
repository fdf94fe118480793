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
import os
import queue
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ...errors import BlazePoseError, ImageReadError, UploadError, VideoReadError  # noqa: F401 - UploadError: re-exported
from ...options import OptionsError, PoseOptions
from .pool import FifoLock, LandmarkerPool  # noqa: F401 - part of this module's interface
from .write_failures import drop_unreadable_results, write_failure

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Server limits and who may connect. Sizes in bytes; ``output_max_side`` caps the annotated
    video's longer side (pixels; landmarks are always computed on the full frame)."""

    max_image_bytes: int = 20 * MB
    max_video_bytes: int = 200 * MB
    max_video_frames: int = 18_000
    max_image_pixels: int = 50_000_000
    output_max_side: int = 720
    job_ttl_s: float = 3600.0
    max_pending_jobs: int = 8
    max_live_sessions: int = 4
    num_threads: int | None = None
    engine: str = "litert"                 # a request's engine unless it names one (``serve --engine``)
    preload: tuple[str, ...] = ("full",)
    decode_budget_bytes: int = 1024 * MB   # decoded pixels in memory at once (limits.DecodeBudget)
    max_form_fields: int = 16              # per multipart request (the file is not a field)
    max_field_bytes: int = 16 * 1024       # per form field
    host: str = "127.0.0.1"                # the bound address and port: the Host/Origin checks
    port: int | None = None                # (None: any port, for an in-process app)
    allow_origins: tuple[str, ...] = ()    # more origins allowed (``--allow-origin``)


def safe_name(name: str | None, default: str = "upload") -> str:
    """A display-only version of a client's file name (never used as a path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")[:80]
    return base or default


# ---- options ----------------------------------------------------------------------------------
#: Options the server chooses (``blazepose serve --num-threads``), not a request. A request may
#: choose the engine (``engine=openvino`` where the extra is installed), as in Python and the CLI.
SERVER_FIELDS = ("num_threads",)


def request_options(values: dict, settings: "Settings", where: str = "options",
                    base: PoseOptions | None = None) -> PoseOptions:
    """A request's ``PoseOptions`` from its form fields or its webcam options message, over
    ``base`` (default: the defaults with the server's engine). Checked by ``PoseOptions.from_mapping`` as in Python: an
    unknown name or a bad value, an empty one included, is ``UploadError`` 422 with the same
    message, after ``where`` (the request's path, or ``options``). ``smooth_segmentation``
    follows ``smooth_landmarks`` unless given (the page has one switch for both)."""
    values = dict(values)
    try:
        server = sorted(set(values) & set(SERVER_FIELDS))
        if server:
            raise OptionsError(f"{', '.join(server)}: chosen by the server (blazepose serve --num-threads), "
                               "not by a request")
        if "smooth_landmarks" in values:
            values.setdefault("smooth_segmentation", values["smooth_landmarks"])
        opts = PoseOptions.from_mapping(values, base=base or PoseOptions(engine=settings.engine))
    except OptionsError as exc:
        raise UploadError(422, f"{where}: {exc}") from None
    return opts.replace(num_threads=settings.num_threads)


def options_dict(opts: PoseOptions, video: bool = True) -> dict:
    """The options a request used, as answers and documents show them."""
    d = opts.to_dict()
    d.pop("num_threads", None)
    if not video:
        for k in ("smooth_landmarks", "smooth_segmentation", "detection_interval_ms", "reid_timeout_ms"):
            d.pop(k)
    return d


# ---- images -------------------------------------------------------------------------------------
def check_image(f, name: str, max_pixels: int) -> tuple[int, int] | None:
    """The declared (width, height) of an uploaded image (seekable binary file), read from its
    header before any pixel is decoded; ``UploadError`` 400 when empty, 413 over ``max_pixels``.
    None when Pillow cannot identify it (the decoder then gives the precise reason)."""
    from .limits import image_size

    f.seek(0, 2)
    n = f.tell()
    f.seek(0)
    if n == 0:
        raise UploadError(400, f"{name}: empty upload (0 bytes)")
    from PIL import Image

    try:
        size = image_size(f)
    except Image.DecompressionBombError:    # Pillow's own cap (2 × 89.5 M pixels) is above ours
        raise UploadError(413, f"{name}: image declares more than {2 * Image.MAX_IMAGE_PIXELS} pixels, "
                               f"the limit is {max_pixels} pixels", limit_pixels=max_pixels) from None
    if size is not None and size[0] * size[1] > max_pixels:
        raise UploadError(413, f"{name}: image is {size[0]}x{size[1]} pixels, the limit is {max_pixels} pixels",
                          limit_pixels=max_pixels)
    return size


def decode_image_file(f, name: str, scratch: Path) -> np.ndarray:
    """Decode an uploaded image (RGB uint8) with the package's reader, judging it by its content.

    The bytes are copied to a server-named file in ``scratch`` (removed at once) so that the same
    reader as the CLI's is used (EXIF orientation, gray/RGBA/16-bit). Errors name the upload, not
    the file. Call ``check_image`` first (pixel limit) and hold the decode budget around this.
    """
    tmp = scratch / f"img-{uuid.uuid4().hex}"
    try:
        f.seek(0)
        with open(tmp, "wb") as out:
            shutil.copyfileobj(f, out, 1024 * 1024)
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


def csv_text(results) -> str:
    """The long-format CSV (``CSV_HEADER``) of a list of results."""
    import csv
    import io

    from ...outputs.export import CSV_HEADER, csv_rows

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for res in results:
        for row in csv_rows(res):
            w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


# ---- video --------------------------------------------------------------------------------------
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
    options: PoseOptions
    dir: Path
    info: VideoInfo | None = None
    state: str = "queued"          # queued | running | done | failed | cancelled
    frames_done: int = 0
    frames_with_pose: int = 0
    frames_skipped: int = 0        # frames the decoder rejected (listed in the JSON with their error)
    error: str | None = None
    error_status: int | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    files: dict = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def input_path(self) -> Path:
        """Where the upload is kept: ``input`` plus its name's suffix when it is a known video
        suffix (the reader counts frames lost in corrupt data only for containers it knows by
        their suffix, as for a file given to ``blazepose video``); never another part of the name."""
        from ...io.video import VIDEO_SUFFIXES

        suffix = Path(self.name).suffix.lower()
        return self.dir / ("input" + (suffix if suffix in VIDEO_SUFFIXES else ""))

    @property
    def has_results(self) -> bool:
        """Done, or failed after frames with a person were written (then the files are partial)."""
        return self.state == "done" or (self.state == "failed" and self.frames_with_pose > 0 and bool(self.files))

    def snapshot(self) -> dict:
        total = self.info.frames if self.info else None
        progress = 1.0 if self.state == "done" else (min(1.0, self.frames_done / total) if total else 0.0)
        return {"id": self.id, "file": self.name, "state": self.state, "progress": round(progress, 4),
                "frames_done": self.frames_done, "frames_total": total,
                "frames_with_pose": self.frames_with_pose, "frames_skipped": self.frames_skipped,
                "error": self.error,
                "options": options_dict(self.options),
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

    def new(self, name: str, options: PoseOptions) -> Job:
        with self._lock:
            pending = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if pending >= self.settings.max_pending_jobs:
                raise UploadError(429, f"{name}: {pending} videos are already waiting; try again when one is done")
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
                problem = write_failure(exc)
                if problem is not None:   # the server's disk: none of its results is served
                    job.files = {}
                    job.state, job.error, job.error_status = (
                        "failed", f"{job.name}: the server could not write the results ({problem})", 507)
                else:
                    job.state, job.error, job.error_status = "failed", str(exc), 422
            except Exception as exc:  # noqa: BLE001 - a job must never take the server down
                log.exception("video job %s failed", job.id)
                job.state, job.error, job.error_status = "failed", f"{job.name}: internal error ({exc})", 500
            if job.state == "failed":
                job.error = self._public(job, job.error)
                drop_unreadable_results(job)
            job.finished = time.time()
            if job.cancel.is_set() or job.id not in self._jobs:
                shutil.rmtree(job.dir, ignore_errors=True)
            self.expire()

    def _public(self, job: Job, message: str | None) -> str | None:
        """An error message without the server's folders (a job's files by their names only)."""
        if message is None:
            return None
        return message.replace(str(job.dir) + os.sep, "").replace(str(self.root), "(server)")

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


def run_video_job(job: Job, settings: Settings) -> None:
    """Process a job's uploaded video with ``apps.loop.run_video``, as ``blazepose video`` does
    (tracking; smoothing unless turned off): the annotated video (browser-playable, longer side
    at most ``output_max_side``), the JSON document and the CSV in the job's folder. Frames the
    decoder rejects are skipped, listed in the JSON and repeated in the video (timing kept).

    A video in which no frame has a person ends as a failed job (HTTP 422 on its downloads).
    """
    import contextlib

    from ...api.landmarker import PoseLandmarker
    from ...io.video import VideoReader
    from ...outputs.plan import OutputPlan, suffix_for
    from ...outputs.video import browser_video_format
    from ..loop import run_video, smoothing_name, video_header

    fmt = browser_video_format()
    src = job.input_path
    o = job.options
    out_video, out_json, out_csv = job.dir / f"annotated{fmt.ext}", job.dir / "result.json", job.dir / "result.csv"
    stem = Path(job.name).stem or "video"
    try:
        reader = VideoReader(src, log_errors=False, max_frames=settings.max_video_frames)
    except VideoReadError as exc:
        raise UploadError(415, f"{job.name}: not a video that can be decoded ({exc.problem})") from None
    # Known from the start: if the job fails half-way, what was written is still served (partial).
    job.files = {"video": (out_video, fmt.mime, stem + suffix_for("annotated", "video")),
                 "json": (out_json, "application/json", stem + suffix_for("document")),
                 "csv": (out_csv, "text/csv", stem + suffix_for("csv"))}
    plan = OutputPlan.build({"annotated": out_video, "document": out_json, "csv": out_csv}, o,
                            max_side=settings.output_max_side, check=False)

    def progress(run) -> None:
        job.frames_done, job.frames_with_pose, job.frames_skipped = run.frames, run.frames_with_pose, run.skipped

    try:
        with contextlib.ExitStack() as stack:
            stack.callback(reader.close)
            pl = stack.enter_context(PoseLandmarker(o))
            meta = video_header(o, job.name, reader, smoothing_name(o))
            sinks = plan.open_sinks(stack, plan.files(), meta, video=reader)
            progress(run_video(pl.session(), reader, sinks, stop=job.cancel.is_set, on_frame=progress))
    finally:
        src.unlink(missing_ok=True)
    if job.cancel.is_set():
        return
    if job.frames_done == 0:
        raise UploadError(422, f"{job.name}: no frame could be decoded")
    if job.frames_with_pose == 0:
        raise UploadError(422, f"{job.name}: no person found in any of the {job.frames_done} frames "
                               f"(model {o.model}, min_detection_confidence {o.min_detection_confidence})")
