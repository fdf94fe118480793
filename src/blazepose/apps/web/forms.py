"""The upload routes' option fields: their OpenAPI description and how a form becomes options.

The form is checked by ``PoseOptions`` (``service.request_options``), so a bad value gets the
message Python gives; ``OptionFields`` only documents the fields in the API docs.
"""

from typing import Annotated

from fastapi import Form, Request
from pydantic import BaseModel, Field

from ...options import MAX_NUM_POSES, PoseOptions
from .service import UploadError, request_options


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
    return request_options(values, request.app.state.settings, path)
