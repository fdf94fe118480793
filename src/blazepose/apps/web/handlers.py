"""Every error the web server answers, in one JSON shape:
``{"error": "<upload name or path>: <problem>", "status": N}`` (plus fields such as
``limit_bytes``), whichever layer raised it: our checks, FastAPI's validation, Starlette's routing
(404, 405, OPTIONS) and its multipart parser (no boundary, too many fields, a field too large).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...errors import BlazePoseError, ModelError
from .limits import BudgetTimeout
from .service import UploadError

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **extra}, status_code=status, headers=headers)


def _problem(detail) -> str:
    text = str(detail or "").strip()
    # Starlette's parser messages, in the words of this server's limits.
    text = text.rstrip(".")
    return text[0].lower() + text[1:] if text else "bad request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError):
        return error_response(exc.status, str(exc), **exc.extra)

    @app.exception_handler(ModelError)
    async def _model_error(request: Request, exc: ModelError):
        return error_response(503, str(exc))

    @app.exception_handler(BudgetTimeout)
    async def _busy(request: Request, exc: BudgetTimeout):
        return error_response(503, f"{request.url.path}: the server is busy decoding other images; "
                                   "try again", headers={"Retry-After": "5"})

    @app.exception_handler(BlazePoseError)
    async def _bp_error(request: Request, exc: BlazePoseError):
        return error_response(422, str(exc))

    @app.exception_handler(StarletteHTTPException)   # FastAPI's HTTPException is a subclass
    async def _http_error(request: Request, exc: StarletteHTTPException):
        path = request.url.path
        if exc.status_code == 404:
            msg = f"{path}: not found"
        elif exc.status_code == 405:
            msg = f"{path}: method {request.method} not allowed (allowed: {exc.headers.get('Allow', '?')})" \
                if exc.headers else f"{path}: method {request.method} not allowed"
        else:
            msg = f"{path}: {_problem(exc.detail)}"
        return error_response(exc.status_code, msg, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}" for e in exc.errors()]
        return error_response(422, f"{request.url.path}: " + ("; ".join(parts) or "invalid request"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, f"{request.url.path}: internal error: {exc.__class__.__name__}")
