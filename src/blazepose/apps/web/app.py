"""The FastAPI application: the page, the HTTP API (OpenAPI docs at /docs) and the webcam socket.

Coordinates in every answer are the package's: pixels, x right, y down, z in the scale of x
(``PoseResult.to_dict``); the webcam socket sends normalized x, y (/ width, / height) for drawing.
"""
import base64
import inspect
import logging
import shutil
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Callable

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ... import __version__
from ...errors import ModelError
from ...landmark import CONNECTIONS, LANDMARK_NAMES, side_of
from ...models import registry
from ...options import MAX_NUM_POSES, PoseOptions
from ...outputs.export import complete_footer, document_header, image_frame
from ...outputs.video import browser_video_format
from . import service
from .handlers import install_error_handlers
from .limits import DecodeBudget, UploadLimit
from .live import add_live_route
from .security import Access, HostOriginGuard, make_server_folder
from .service import (Job, JobManager, LandmarkerPool, Settings, UploadError, check_image, csv_text,
                      decode_image_file, encode_png, options_dict, request_options, safe_name)
from .vendor import add_vendor_routes

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


class OptionFields(BaseModel):
    """The option fields every upload endpoint takes (as ``PoseOptions``; omitted: its default).
    Shown in the API docs; the form itself is checked by ``PoseOptions`` (``request_options``):
    an unknown field or an empty value is 422 with the message Python gives."""

    model: str | None = Field(None, description="landmark model: lite | full (default) | heavy")
    model_complexity: str | None = Field(None, description="MediaPipe's alias of model: 0, 1, 2")
    min_detection_confidence: str | None = Field(None, description="detector threshold in [0, 1] (0.5)")
    min_tracking_confidence: str | None = Field(None, description="pose-presence threshold in [0, 1] (0.5)")
    max_num_poses: str | None = Field(None, description=f"people per image, 1..{MAX_NUM_POSES} (1)")
    enable_segmentation: str | None = Field(None, description="true | false (false)")
    upper_body_only: str | None = Field(None, description="landmarks 0-24 only: true | false (false)")
    detection_tiles: str | None = Field(None, description="auto (default), 0 or 2..5: detect on tiles too")
    smooth_landmarks: str | None = Field(None, description="video: true (default) | false; also sets "
                                                           "smooth_segmentation unless given")
    smooth_segmentation: str | None = Field(None, description="video: true (default) | false")
    detection_interval_ms: str | None = Field(None, description="video, several people: look for newcomers "
                                                                "this often (250)")
    reid_timeout_ms: str | None = Field(None, description="video: a lost person keeps their id this long (2000)")
    engine: str | None = Field(None, description="litert (default) | openvino (where that extra is installed)")


OptionsF = Annotated[OptionFields, Form()]
CHUNK = 1024 * 1024


def create_app(settings: Settings | None = None, on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The web application. Every piece of state (landmarkers, jobs, temporary folder) belongs to
    this app and is released when it shuts down."""
    settings = settings or Settings()
    budget = DecodeBudget(settings.decode_budget_bytes)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        root = make_server_folder()   # blazepose-web-<pid>-*, stale ones of dead servers removed
        pool = jobs = None
        try:   # removed however the server stops, a failed start included
            (root / "scratch").mkdir()
            app.state.root = root
            app.state.settings = settings
            app.state.budget = budget
            app.state.pool = pool = LandmarkerPool(settings.num_threads)
            app.state.jobs = jobs = JobManager(root, lambda job: service.run_video_job(job, settings), settings)
            for model in settings.preload:
                try:
                    await run_in_threadpool(app.state.pool.preload, model, settings.engine)
                except ModelError as exc:
                    log.warning("cannot preload model %s: %s", model, exc)
            if on_ready:
                on_ready()
            yield
        finally:
            if jobs is not None:
                jobs.close()
            if pool is not None:
                pool.close()
            shutil.rmtree(root, ignore_errors=True)

    try:  # the docs pages' scripts from a package, not a CDN (the page must work offline)
        from fastapi_offline import FastAPIOffline as make_app
    except ImportError:
        make_app = FastAPI
    form_limits = {"max_fields": settings.max_form_fields, "max_files": 1, "max_part_size": settings.max_field_bytes}
    extra = {"form_limits": form_limits} if "form_limits" in inspect.signature(FastAPI.__init__).parameters else {}
    app = make_app(title="blazepose", version=__version__, lifespan=lifespan, **extra,
                  description="BlazePose body landmarks (33 points) from photos, videos and a webcam. "
                              "Coordinates: pixels, x right, y down, z in the scale of x; world in metres.")
    # The last added runs first: Host/Origin, then the body's size, then the application.
    app.add_middleware(UploadLimit, limits={"/api/image": settings.max_image_bytes,
                                            "/api/image/annotated": settings.max_image_bytes,
                                            "/api/image/csv": settings.max_image_bytes,
                                            "/api/video": settings.max_video_bytes})
    app.state.access = Access(settings.host, settings.port, settings.allow_origins)
    app.add_middleware(HostOriginGuard, access=app.state.access)
    install_error_handlers(app)   # every error in one JSON shape

    # ---- page and metadata ---------------------------------------------------------------
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_vendor_routes(app)   # /vendor/plotly.min.js for the 3-D view, from the installed package

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)   # HEAD: headers only
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/health", summary="Liveness check")
    def health():
        return {"ok": True}

    @app.get("/api/config", summary="Models, defaults and upload limits")
    def config():
        fmt = browser_video_format()
        return {"version": __version__, "models": list(registry.LANDMARK_MODELS),
                "defaults": options_dict(PoseOptions(engine=settings.engine)),
                "limits": {"image_bytes": settings.max_image_bytes, "video_bytes": settings.max_video_bytes,
                           "video_frames": settings.max_video_frames, "max_num_poses": MAX_NUM_POSES},
                "video_format": {"mime": fmt.mime, "ext": fmt.ext},
                "landmarks": list(LANDMARK_NAMES), "connections": [list(c) for c in CONNECTIONS],
                "sides": [side_of(i) for i in range(len(LANDMARK_NAMES))]}

    # ---- images ----------------------------------------------------------------------------
    async def form_options(request: Request, *, also: tuple[str, ...] = ()) -> PoseOptions:
        """The options of an upload's form: every text field but ``also`` (the endpoint's own)."""
        path, values = request.url.path, {}
        for key, value in (await request.form()).multi_items():   # parsed once, by FastAPI
            if key == "file" or key in also:
                continue
            if not isinstance(value, str):
                raise UploadError(422, f"{path}: {key}: a file where a text field belongs")
            if key in values:
                raise UploadError(422, f"{path}: {key} given more than once")
            values[key] = value
        return request_options(values, settings, path)

    async def process_upload(file: UploadFile, opts: PoseOptions, after: Callable | None = None):
        """Check the upload's declared pixels, then decode it and find the landmarks while holding
        its share of the decode budget; ``after(rgb, res)`` (drawing) runs under the same hold."""
        name = safe_name(file.filename, "image")

        def work():
            size = check_image(file.file, name, settings.max_image_pixels)
            with budget.hold(size[0] * size[1] if size else 0):
                rgb = decode_image_file(file.file, name, app.state.root / "scratch")
                with app.state.pool.acquire(opts) as pl:
                    res = replace(pl.process_image(rgb), frame_index=0)
                return res, (after(rgb, res) if after else None)

        res, extra = await run_in_threadpool(work)
        return name, res, extra

    def image_doc(name: str, res, opts: PoseOptions) -> dict:
        # The document ``blazepose image`` writes for one photo.
        return {**document_header(opts, name), "frames": [image_frame(res, name)], **complete_footer(1)}

    @app.post("/api/image", summary="Landmarks of one photo (JSON, as `blazepose image`)")
    async def post_image(request: Request,
                         file: Annotated[UploadFile, File(description="a photo (any format Pillow decodes)")],
                         fields: OptionsF,
                         include: Annotated[str, Form(description="comma list: annotated (base64 PNG), "
                                                                  "csv (CSV text)")] = ""):
        """The document ``blazepose image`` writes for this photo. With ``include=annotated`` the
        annotated PNG is added as ``annotated_png`` (base64); with ``include=csv`` the long-format
        CSV as ``csv``."""
        opts = await form_options(request, also=("include",))
        extras = {s.strip() for s in include.split(",") if s.strip()}
        unknown = extras - {"annotated", "csv"}
        if unknown:
            raise UploadError(422, f"{request.url.path}: include: unknown part(s) {', '.join(sorted(unknown))}; use annotated, csv")

        def extra(rgb, res):
            from ...outputs.draw import draw_pose

            out = {}
            if "annotated" in extras:
                out["annotated_png"] = base64.b64encode(encode_png(draw_pose(rgb, res))).decode()
            if "csv" in extras:
                out["csv"] = csv_text([res])
            return out

        name, res, more = await process_upload(file, opts, extra if extras else None)
        return {**image_doc(name, res, opts), **(more or {})}

    @app.post("/api/image/annotated", summary="The photo with the skeleton drawn (PNG)",
              response_class=Response, responses={200: {"content": {"image/png": {}}}})
    async def post_image_annotated(request: Request, file: Annotated[UploadFile, File()], fields: OptionsF):
        from ...outputs.draw import draw_pose

        opts = await form_options(request)
        name, res, png = await process_upload(file, opts, lambda rgb, res: encode_png(draw_pose(rgb, res)))
        return Response(png, media_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="{Path(name).stem}.annotated.png"'})

    @app.post("/api/image/csv", summary="Landmarks of one photo (long-format CSV)",
              response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    async def post_image_csv(request: Request, file: Annotated[UploadFile, File()], fields: OptionsF):
        opts = await form_options(request)
        name, res, _ = await process_upload(file, opts)
        return Response(csv_text([res]), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{Path(name).stem}.csv"'})

    # ---- videos ----------------------------------------------------------------------------
    @app.post("/api/video", status_code=202, summary="Start a video job")
    async def post_video(request: Request,
                         file: Annotated[UploadFile, File(description="a video (any format OpenCV decodes)")],
                         fields: OptionsF):
        """Upload a video; answers a job id at once. Poll ``GET /api/jobs/{id}`` for progress, then
        download ``video`` (annotated, browser-playable), ``json`` and ``csv``."""
        opts = await form_options(request)
        name = safe_name(file.filename, "video")
        jobs: JobManager = app.state.jobs
        job = jobs.new(name, opts)
        try:
            n = 0
            with open(job.input_path, "wb") as out:
                while chunk := await file.read(CHUNK):
                    n += len(chunk)
                    await run_in_threadpool(out.write, chunk)
            if n == 0:
                raise UploadError(400, f"{name}: empty upload (0 bytes)")
            job.info = await run_in_threadpool(service.probe_video, job.input_path, name)
            if job.info.frames > settings.max_video_frames:
                raise UploadError(413, f"{name}: {job.info.frames} frames, the limit is {settings.max_video_frames}",
                                  limit_frames=settings.max_video_frames)
        except BaseException:
            jobs.delete(job.id)
            raise
        jobs.submit(job)
        return {"job_id": job.id, "status_url": f"/api/jobs/{job.id}", **job.snapshot()}

    def find(job_id: str, request: Request) -> Job:
        job = app.state.jobs.get(job_id)
        if job is None:
            raise UploadError(404, f"{request.url.path}: no job {job_id[:64]!r} (finished jobs are kept {settings.job_ttl_s / 60:g} minutes)")
        return job

    @app.get("/api/jobs/{job_id}", summary="A video job's state and progress")
    def get_job(job_id: str, request: Request):
        return find(job_id, request).snapshot()

    @app.get("/api/jobs/{job_id}/{kind}", summary="Download a job's result: video, json or csv",
             response_class=FileResponse)
    def get_job_file(job_id: str, kind: str, request: Request):
        job = find(job_id, request)
        path = request.url.path
        if kind not in ("video", "json", "csv"):
            raise UploadError(404, f"{path}: no download {kind[:32]!r}; use video, json or csv")
        if job.state == "failed" and not job.has_results:
            raise UploadError(job.error_status or 422, job.error or f"{path}: the job failed")
        if not job.has_results:
            raise UploadError(409, f"{path}: job {job.id} is {job.state}; its results are not ready")
        path, mime, filename = job.files[kind]
        return FileResponse(path, media_type=mime, filename=filename,
                            content_disposition_type="inline" if kind == "video" else "attachment")

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job and delete its files")
    def delete_job(job_id: str, request: Request):
        job = find(job_id, request)
        app.state.jobs.delete(job.id)
        return {"deleted": job.id}

    add_live_route(app, settings, budget)   # WS /api/live, the webcam

    return app
