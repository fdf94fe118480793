"""The video job routes: ``POST /api/video`` starts a job, ``GET /api/jobs/{id}`` its progress,
``GET /api/jobs/{id}/{video,json,csv}`` its results, ``DELETE /api/jobs/{id}`` cancels it.

Jobs run one at a time on the server's ``service.JobManager`` (``request.app.state.jobs``).
"""

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from . import service
from .forms import OptionsF, form_options
from .service import Job, JobManager, UploadError, safe_name

router = APIRouter()
#: Bytes read from an upload at a time while it is saved.
CHUNK = 1024 * 1024


@router.post("/api/video", status_code=202, summary="Start a video job")
async def post_video(request: Request,
                     file: Annotated[UploadFile, File(description="a video (any format OpenCV decodes)")],
                     fields: OptionsF):
    """Upload a video; answers a job id at once. Poll ``GET /api/jobs/{id}`` for progress, then
    download ``video`` (annotated, browser-playable), ``json`` and ``csv``."""
    settings = request.app.state.settings
    opts = await form_options(request)
    name = safe_name(file.filename, "video")
    jobs: JobManager = request.app.state.jobs
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
    """The job ``job_id``; ``UploadError`` 404 when there is none (or no longer)."""
    job = request.app.state.jobs.get(job_id)
    if job is None:
        ttl = request.app.state.settings.job_ttl_s
        raise UploadError(404, f"{request.url.path}: no job {job_id[:64]!r} (finished jobs are kept {ttl / 60:g} minutes)")
    return job


@router.get("/api/jobs/{job_id}", summary="A video job's state and progress")
def get_job(job_id: str, request: Request):
    return find(job_id, request).snapshot()


@router.get("/api/jobs/{job_id}/{kind}", summary="Download a job's result: video, json or csv",
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


@router.delete("/api/jobs/{job_id}", summary="Cancel a job and delete its files")
def delete_job(job_id: str, request: Request):
    job = find(job_id, request)
    request.app.state.jobs.delete(job.id)
    return {"deleted": job.id}
