"""The FastAPI application: the page, the HTTP API (OpenAPI docs at /docs) and the webcam socket.

Coordinates in every answer are the package's: pixels, x right, y down, z in the scale of x
(``PoseResult.to_dict``); the webcam socket sends normalized x, y (/ width, / height) for drawing.
"""
import base64
import json
import logging
import shutil
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Callable

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from ... import __version__
from ...api.landmarker import PoseLandmarker
from ...errors import BlazePoseError, ModelError
from ...landmark import CONNECTIONS, LANDMARK_NAMES, side_of
from ...models import registry
from ...options import PoseOptions
from ...outputs.export import complete_footer, document_header, image_frame
from ...outputs.video import browser_video_format
from . import service
from .service import (Job, JobManager, LandmarkerPool, Settings, UploadError, csv_text, options_dict, request_options,
                      decode_image_bytes, encode_png, safe_name)
from .vendor import add_vendor_routes

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# Form fields (module level: FastAPI resolves annotations in the module's namespace).
# Values are checked by PoseOptions (one message for every entry point), not by FastAPI.
ModelF = Annotated[str, Form(description="landmark model: lite | full | heavy (or 0, 1, 2)")]
ProbF = Annotated[str, Form(description="probability threshold in [0, 1]")]
BoolF = Annotated[str, Form(description="true or false")]
PosesF = Annotated[str, Form(description="people per image, 1..100")]
CHUNK = 1024 * 1024


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **extra}, status_code=status)


class UploadLimit:
    """ASGI middleware: answer 413 (JSON, with the limit) to a POST body larger than its limit.

    It checks Content-Length first, then counts the bytes actually received (chunked uploads), so
    an oversized upload is never stored. The rest of the body is drained (up to a cap) so that the
    client reads the answer instead of a reset connection.
    """

    DRAIN_CAP = 512 * 1024 * 1024

    def __init__(self, app, limits: dict[str, int]):
        self.app = app
        self.limits = limits

    async def __call__(self, scope, receive, send):
        limit = self.limits.get(scope.get("path", "")) if scope["type"] == "http" and scope.get("method") == "POST" else None
        if limit is None:
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._drain(receive, int(declared))
            return await self._reject(send, limit, int(declared))
        state = {"n": 0, "over": False, "more": True}

        async def counted():
            if state["over"]:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                state["n"] += len(msg.get("body", b""))
                state["more"] = msg.get("more_body", False)
                if state["n"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg):
            if not state["over"]:
                await send(msg)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"]:
            if state["more"]:
                await self._drain(receive, self.DRAIN_CAP)
            await self._reject(send, limit, None)

    @staticmethod
    async def _drain(receive, cap: int) -> None:
        n = 0
        while n < cap:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            n += len(msg.get("body", b""))
            if not msg.get("more_body", False):
                return

    @staticmethod
    async def _reject(send, limit: int, size: int | None) -> None:
        msg = f"upload too large: the limit is {limit} bytes ({limit / service.MB:.3g} MB)"
        if size is not None:
            msg += f", this one is {size} bytes"
        body = json.dumps({"error": msg, "status": 413, "limit_bytes": limit}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The web application. Every piece of state (landmarkers, jobs, temporary folder) belongs to
    this app and is released when it shuts down."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        root = Path(tempfile.mkdtemp(prefix="blazepose-web-"))
        (root / "scratch").mkdir()
        app.state.root = root
        app.state.settings = settings
        app.state.pool = LandmarkerPool(settings.num_threads)
        app.state.jobs = JobManager(root, lambda job: service.run_video_job(job, settings), settings)
        for model in settings.preload:
            try:
                await run_in_threadpool(app.state.pool.preload, model)
            except ModelError as exc:
                log.warning("cannot preload model %s: %s", model, exc)
        if on_ready:
            on_ready()
        try:
            yield
        finally:
            app.state.jobs.close()
            app.state.pool.close()
            shutil.rmtree(root, ignore_errors=True)

    try:  # the docs pages' scripts from a package, not a CDN (the page must work offline)
        from fastapi_offline import FastAPIOffline as make_app
    except ImportError:
        make_app = FastAPI
    app = make_app(title="blazepose", version=__version__, lifespan=lifespan,
                  description="BlazePose body landmarks (33 points) from photos, videos and a webcam. "
                              "Coordinates: pixels, x right, y down, z in the scale of x; world in metres.")
    app.add_middleware(UploadLimit, limits={"/api/image": settings.max_image_bytes,
                                            "/api/image/annotated": settings.max_image_bytes,
                                            "/api/image/csv": settings.max_image_bytes,
                                            "/api/video": settings.max_video_bytes})

    # ---- errors: always JSON, the server stays up --------------------------------------------
    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError):
        return _error(exc.status, str(exc), **exc.extra)

    @app.exception_handler(ModelError)
    async def _model_error(request: Request, exc: ModelError):
        return _error(503, str(exc))

    @app.exception_handler(BlazePoseError)
    async def _bp_error(request: Request, exc: BlazePoseError):
        return _error(422, str(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(404)
    async def _not_found(request: Request, exc):
        return _error(404, f"not found: {request.url.path}")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}" for e in exc.errors()]
        return _error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error: {exc.__class__.__name__}")

    # ---- page and metadata ---------------------------------------------------------------
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_vendor_routes(app)   # /vendor/plotly.min.js for the 3-D view, from the installed package

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/health", summary="Liveness check")
    def health():
        return {"ok": True}

    @app.get("/api/config", summary="Models, defaults and upload limits")
    def config():
        fmt = browser_video_format()
        return {"version": __version__, "models": list(registry.LANDMARK_MODELS),
                "defaults": options_dict(PoseOptions()),
                "limits": {"image_bytes": settings.max_image_bytes, "video_bytes": settings.max_video_bytes,
                           "video_frames": settings.max_video_frames},
                "video_format": {"mime": fmt.mime, "ext": fmt.ext},
                "landmarks": list(LANDMARK_NAMES), "connections": [list(c) for c in CONNECTIONS],
                "sides": [side_of(i) for i in range(len(LANDMARK_NAMES))]}

    # ---- images ----------------------------------------------------------------------------
    def form_options(model, min_detection_confidence, min_tracking_confidence, enable_segmentation,
                     max_num_poses, smooth_landmarks=True) -> PoseOptions:
        return request_options({"model": model, "min_detection_confidence": min_detection_confidence,
                                "min_tracking_confidence": min_tracking_confidence,
                                "enable_segmentation": enable_segmentation, "max_num_poses": max_num_poses,
                                "smooth_landmarks": smooth_landmarks, "smooth_segmentation": smooth_landmarks},
                               settings)

    async def process_upload(file: UploadFile, opts: PoseOptions):
        name = safe_name(file.filename, "image")
        data = await file.read()

        def work():
            rgb = decode_image_bytes(data, name, app.state.root / "scratch", settings.max_image_pixels)
            with app.state.pool.acquire(opts) as pl:
                res = pl.process_image(rgb)
            return rgb, replace(res, frame_index=0)

        rgb, res = await run_in_threadpool(work)
        return name, rgb, res

    def image_doc(name: str, res, opts: PoseOptions) -> dict:
        # The document ``blazepose image`` writes for one photo.
        return {**document_header(opts, name), "frames": [image_frame(res, name)], **complete_footer(1)}

    @app.post("/api/image", summary="Landmarks of one photo (JSON, as `blazepose image`)")
    async def post_image(file: Annotated[UploadFile, File(description="a photo (any format Pillow decodes)")],
                         model: ModelF = "full", min_detection_confidence: ProbF = "0.5",
                         min_tracking_confidence: ProbF = "0.5", enable_segmentation: BoolF = "false",
                         max_num_poses: PosesF = "1",
                         include: Annotated[str, Form(description="comma list: annotated (base64 PNG), "
                                                                  "csv (CSV text)")] = ""):
        """The document ``blazepose image`` writes for this photo. With ``include=annotated`` the
        annotated PNG is added as ``annotated_png`` (base64); with ``include=csv`` the long-format
        CSV as ``csv``."""
        opts = form_options(model, min_detection_confidence, min_tracking_confidence, enable_segmentation, max_num_poses)
        name, rgb, res = await process_upload(file, opts)
        doc = image_doc(name, res, opts)
        extras = {s.strip() for s in include.split(",") if s.strip()}
        unknown = extras - {"annotated", "csv"}
        if unknown:
            raise UploadError(422, f"include: unknown part(s) {', '.join(sorted(unknown))}; use annotated, csv")

        def extra():
            from ...outputs.draw import draw_pose

            out = {}
            if "annotated" in extras:
                out["annotated_png"] = base64.b64encode(encode_png(draw_pose(rgb, res))).decode()
            if "csv" in extras:
                out["csv"] = csv_text([res])
            return out

        if extras:
            doc.update(await run_in_threadpool(extra))
        return doc

    @app.post("/api/image/annotated", summary="The photo with the skeleton drawn (PNG)",
              response_class=Response, responses={200: {"content": {"image/png": {}}}})
    async def post_image_annotated(file: Annotated[UploadFile, File()], model: ModelF = "full",
                                   min_detection_confidence: ProbF = "0.5", min_tracking_confidence: ProbF = "0.5",
                                   enable_segmentation: BoolF = "false",
                                   max_num_poses: PosesF = "1"):
        from ...outputs.draw import draw_pose

        opts = form_options(model, min_detection_confidence, min_tracking_confidence, enable_segmentation, max_num_poses)
        name, rgb, res = await process_upload(file, opts)
        png = await run_in_threadpool(lambda: encode_png(draw_pose(rgb, res)))
        return Response(png, media_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="{Path(name).stem}.annotated.png"'})

    @app.post("/api/image/csv", summary="Landmarks of one photo (long-format CSV)",
              response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    async def post_image_csv(file: Annotated[UploadFile, File()], model: ModelF = "full",
                             min_detection_confidence: ProbF = "0.5", min_tracking_confidence: ProbF = "0.5",
                             max_num_poses: PosesF = "1"):
        opts = form_options(model, min_detection_confidence, min_tracking_confidence, False, max_num_poses)
        name, _, res = await process_upload(file, opts)
        return Response(csv_text([res]), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{Path(name).stem}.csv"'})

    # ---- videos ----------------------------------------------------------------------------
    @app.post("/api/video", status_code=202, summary="Start a video job")
    async def post_video(file: Annotated[UploadFile, File(description="a video (any format OpenCV decodes)")],
                         model: ModelF = "full", min_detection_confidence: ProbF = "0.5",
                         min_tracking_confidence: ProbF = "0.5", enable_segmentation: BoolF = "false",
                         max_num_poses: PosesF = "1",
                         smooth_landmarks: BoolF = "true"):
        """Upload a video; answers a job id at once. Poll ``GET /api/jobs/{id}`` for progress, then
        download ``video`` (annotated, browser-playable), ``json`` and ``csv``."""
        opts = form_options(model, min_detection_confidence, min_tracking_confidence, enable_segmentation,
                            max_num_poses, smooth_landmarks)
        name = safe_name(file.filename, "video")
        jobs: JobManager = app.state.jobs
        job = jobs.new(name, opts)
        try:
            n = 0
            with open(job.dir / "input", "wb") as out:
                while chunk := await file.read(CHUNK):
                    n += len(chunk)
                    await run_in_threadpool(out.write, chunk)
            if n == 0:
                raise UploadError(400, f"{name}: empty upload (0 bytes)")
            job.info = await run_in_threadpool(service.probe_video, job.dir / "input", name)
            if job.info.frames > settings.max_video_frames:
                raise UploadError(413, f"{name}: {job.info.frames} frames, the limit is {settings.max_video_frames}",
                                  limit_frames=settings.max_video_frames)
        except BaseException:
            jobs.delete(job.id)
            raise
        jobs.submit(job)
        return {"job_id": job.id, "status_url": f"/api/jobs/{job.id}", **job.snapshot()}

    def find(job_id: str) -> Job:
        job = app.state.jobs.get(job_id)
        if job is None:
            raise UploadError(404, f"no job {job_id[:64]!r} (finished jobs are kept {settings.job_ttl_s / 60:g} minutes)")
        return job

    @app.get("/api/jobs/{job_id}", summary="A video job's state and progress")
    def get_job(job_id: str):
        return find(job_id).snapshot()

    @app.get("/api/jobs/{job_id}/{kind}", summary="Download a job's result: video, json or csv",
             response_class=FileResponse)
    def get_job_file(job_id: str, kind: str):
        job = find(job_id)
        if kind not in ("video", "json", "csv"):
            raise UploadError(404, f"no download {kind[:32]!r}; use video, json or csv")
        if job.state == "failed" and not job.has_results:
            raise UploadError(job.error_status or 422, job.error or "the job failed")
        if not job.has_results:
            raise UploadError(409, f"job {job.id} is {job.state}; its results are not ready")
        path, mime, filename = job.files[kind]
        return FileResponse(path, media_type=mime, filename=filename,
                            content_disposition_type="inline" if kind == "video" else "attachment")

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job and delete its files")
    def delete_job(job_id: str):
        job = find(job_id)
        app.state.jobs.delete(job.id)
        return {"deleted": job.id}

    # ---- webcam ----------------------------------------------------------------------------
    live_slots = threading.BoundedSemaphore(settings.max_live_sessions)

    @app.websocket("/api/live")
    async def live(ws: WebSocket):
        """Webcam frames as binary JPEG/PNG messages; each answered with one JSON message:
        ``{"width", "height", "ms", "tracked", "people": [{"id", "score", "landmarks": [[x_norm,
        y_norm, z_px, visibility], ...]}]}``. A text message ``{"options": {...}}`` changes the
        options. Each session runs in video mode with a landmarker of its own: the detector runs
        only while nobody is tracked, landmarks are smoothed (``smooth_landmarks``); a frame's
        time is its arrival time on this server (monotonic, from the session's first frame),
        as for a camera without timestamps."""
        import cv2
        import numpy as np

        await ws.accept()
        if not live_slots.acquire(blocking=False):
            await ws.send_json({"error": f"{settings.max_live_sessions} webcam sessions are already running; "
                                         "try again later"})
            await ws.close(code=1013)
            return
        opts, pl, t_start, last_ts = request_options({}, settings), None, None, -1.0
        lock = threading.Lock()     # one inference at a time for this session's landmarker
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if msg.get("text") is not None:
                    try:
                        asked = json.loads(msg["text"]).get("options", {})
                        if "smooth_landmarks" in asked:
                            asked.setdefault("smooth_segmentation", asked["smooth_landmarks"])
                        new = request_options({**options_dict(opts), **asked}, settings)
                        if new != opts and pl is not None:
                            with lock:
                                pl.close()
                            pl, t_start, last_ts = None, None, -1.0
                        opts = new
                        await ws.send_json({"options": options_dict(opts)})
                    except (UploadError, TypeError, ValueError, AttributeError) as exc:
                        await ws.send_json({"error": f"options: {exc}"})
                    continue
                data = msg.get("bytes") or b""
                if len(data) > settings.max_image_bytes:
                    await ws.send_json({"error": f"frame too large: the limit is {settings.max_image_bytes} bytes"})
                    continue
                t0 = time.perf_counter()
                if t_start is None:
                    t_start = t0
                ts = max((t0 - t_start) * 1000.0, last_ts + 0.001)   # strictly increasing
                if pl is None:
                    pl = await run_in_threadpool(PoseLandmarker, opts)

                def work(data=data, pl=pl, ts=ts):
                    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
                    if bgr is None:
                        return None
                    with lock:
                        return pl.process_frame(np.ascontiguousarray(bgr[..., ::-1]), ts)

                res = await run_in_threadpool(work)
                if res is None:
                    await ws.send_json({"error": "frame is not a JPEG or PNG image"})
                    continue
                last_ts = ts
                xyn = res.xyn
                people = [{"id": int(res.ids[i]), "score": round(float(res.scores[i]), 4),
                           "landmarks": [[round(float(xyn[i, j, 0]), 5), round(float(xyn[i, j, 1]), 5),
                                          round(float(res.landmarks[i, j, 2]), 2), round(float(res.visibility[i, j]), 4)]
                                         for j in range(res.num_landmarks)]} for i in range(len(res))]
                await ws.send_json({"width": res.width, "height": res.height, "people": people,
                                    "tracked": not res.meta.get("detector", True),
                                    "ms": round((time.perf_counter() - t0) * 1000, 1)})
        except WebSocketDisconnect:
            pass
        except BlazePoseError as exc:
            await ws.close(code=1011, reason=str(exc)[:120])
        finally:
            live_slots.release()
            if pl is not None:
                with lock:
                    pl.close()

    return app
