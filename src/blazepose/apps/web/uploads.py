"""The photo routes: ``POST /api/image`` (the document ``blazepose image`` writes),
``/api/image/annotated`` (PNG) and ``/api/image/csv``.

Each upload's declared pixels are checked before it is decoded, and it is decoded and analysed
while holding its share of the server's decode budget (``limits.DecodeBudget``).
"""

import base64
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Callable

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ...options import PoseOptions
from ...outputs.export import complete_footer, document_header, image_frame
from .forms import OptionsF, form_options
from .service import UploadError, check_image, csv_text, decode_image_file, encode_png, safe_name

router = APIRouter()


async def process_upload(request: Request, file: UploadFile, opts: PoseOptions, after: Callable | None = None):
    """Check the upload's declared pixels, then decode it and find the landmarks while holding
    its share of the decode budget; ``after(rgb, res)`` (drawing) runs under the same hold."""
    state = request.app.state
    name = safe_name(file.filename, "image")

    def work():
        size = check_image(file.file, name, state.settings.max_image_pixels)
        with state.budget.hold(size[0] * size[1] if size else 0):
            rgb = decode_image_file(file.file, name, state.root / "scratch")
            with state.pool.acquire(opts) as pl:
                res = replace(pl.process_image(rgb), frame_index=0)
            return res, (after(rgb, res) if after else None)

    res, extra = await run_in_threadpool(work)
    return name, res, extra


def image_doc(name: str, res, opts: PoseOptions) -> dict:
    """The document ``blazepose image`` writes for one photo."""
    return {**document_header(opts, name), "frames": [image_frame(res, name)], **complete_footer(1)}


@router.post("/api/image", summary="Landmarks of one photo (JSON, as `blazepose image`)")
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
        from ...outputs.draw import DrawStyle

        out = {}
        if "annotated" in extras:     # drawn as every entry point draws (the options' DrawStyle)
            out["annotated_png"] = base64.b64encode(encode_png(DrawStyle.for_options(opts).draw(rgb, res))).decode()
        if "csv" in extras:
            out["csv"] = csv_text([res])
        return out

    name, res, more = await process_upload(request, file, opts, extra if extras else None)
    return {**image_doc(name, res, opts), **(more or {})}


@router.post("/api/image/annotated", summary="The photo with the skeleton drawn (PNG)",
             response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def post_image_annotated(request: Request, file: Annotated[UploadFile, File()], fields: OptionsF):
    from ...outputs.draw import DrawStyle

    opts = await form_options(request)
    style = DrawStyle.for_options(opts)
    name, res, png = await process_upload(request, file, opts, lambda rgb, res: encode_png(style.draw(rgb, res)))
    return Response(png, media_type="image/png",
                    headers={"Content-Disposition": f'inline; filename="{Path(name).stem}.annotated.png"'})


@router.post("/api/image/csv", summary="Landmarks of one photo (long-format CSV)",
             response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def post_image_csv(request: Request, file: Annotated[UploadFile, File()], fields: OptionsF):
    opts = await form_options(request)
    name, res, _ = await process_upload(request, file, opts)
    return Response(csv_text([res]), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{Path(name).stem}.csv"'})
