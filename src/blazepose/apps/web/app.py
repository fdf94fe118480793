"""The FastAPI application: the page, the HTTP API (OpenAPI docs at /docs) and the webcam socket.

``create_app`` builds the application and its state (landmarker pool, job manager, decode budget,
temporary folder); the routes live in small modules: ``uploads`` (photos), ``jobs`` (videos),
``live`` (the webcam socket, ``LiveSession``) and the page and metadata routes here.

Coordinates in every answer are the package's: pixels, x right, y down, z in the scale of x
(``PoseResult.to_dict``); the webcam socket sends normalized x, y (/ width, / height) for drawing.
"""
import inspect
import logging
import shutil
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ... import __version__
from ...errors import ModelError
from ...landmark import CONNECTIONS, LANDMARK_NAMES, side_of
from ...models import registry
from ...options import MAX_NUM_POSES, PoseOptions
from ...outputs.video import browser_video_format
from . import jobs as job_routes
from . import service
from . import uploads
from .handlers import install_error_handlers
from .limits import DecodeBudget, UploadLimit
from .live import add_live_route
from .security import Access, HostOriginGuard, make_server_folder
from .service import JobManager, LandmarkerPool, Settings, options_dict
from .vendor import add_vendor_routes

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
#: The page and metadata routes.
page = APIRouter()


@page.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)   # HEAD: headers only
def index():
    return FileResponse(STATIC / "index.html", media_type="text/html")


@page.get("/api/health", summary="Liveness check")
def health():
    return {"ok": True}


@page.get("/api/config", summary="Models, defaults and upload limits")
def config(request: Request):
    settings = request.app.state.settings
    fmt = browser_video_format()
    return {"version": __version__, "models": list(registry.LANDMARK_MODELS),
            "defaults": options_dict(PoseOptions(engine=settings.engine)),
            "limits": {"image_bytes": settings.max_image_bytes, "video_bytes": settings.max_video_bytes,
                       "video_frames": settings.max_video_frames, "max_num_poses": MAX_NUM_POSES},
            "video_format": {"mime": fmt.mime, "ext": fmt.ext},
            "landmarks": list(LANDMARK_NAMES), "connections": [list(c) for c in CONNECTIONS],
            "sides": [side_of(i) for i in range(len(LANDMARK_NAMES))]}


def _lifespan(settings: Settings, budget: DecodeBudget, on_ready: Callable[[], None] | None):
    """The app's state, made when the server starts and released however it stops."""

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

    return lifespan


def create_app(settings: Settings | None = None, on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The web application. Every piece of state (landmarkers, jobs, temporary folder) belongs to
    this app and is released when it shuts down."""
    settings = settings or Settings()
    budget = DecodeBudget(settings.decode_budget_bytes)
    try:  # the docs pages' scripts from a package, not a CDN (the page must work offline)
        from fastapi_offline import FastAPIOffline as make_app
    except ImportError:
        make_app = FastAPI
    form_limits = {"max_fields": settings.max_form_fields, "max_files": 1, "max_part_size": settings.max_field_bytes}
    extra = {"form_limits": form_limits} if "form_limits" in inspect.signature(FastAPI.__init__).parameters else {}
    app = make_app(title="blazepose", version=__version__, lifespan=_lifespan(settings, budget, on_ready), **extra,
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

    app.state.settings = settings   # also before startup: the routes read it from the app
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_vendor_routes(app)   # /vendor/plotly.min.js for the 3-D view, from the installed package
    app.include_router(page)
    app.include_router(uploads.router)      # POST /api/image, /api/image/annotated, /api/image/csv
    app.include_router(job_routes.router)   # POST /api/video, /api/jobs/...
    add_live_route(app, settings, budget)   # WS /api/live, the webcam
    return app
