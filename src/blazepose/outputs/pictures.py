"""Sinks that write one picture per photo: the annotated picture, the segmentation mask, the
picture with joint angles (``plot_image_angles``).

Each is opened for one photo (``OutputPlan.open_sinks``) and writes its file when that photo's
result comes (``write(result, frame)``, ``frame`` the photo's RGB pixels); the encoder's format
follows the suffix (``.png``, ``.jpg``, ...). Every byte goes through ``write_all``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..api.result import PoseResult
from ..errors import OutputWriteError
from .draw import DrawStyle
from .sink import Sink, write_all


def write_picture(path: str | os.PathLike, pixels: np.ndarray, *, bgr: bool = False) -> Path:
    """Encode ``pixels`` (RGB, or BGR with ``bgr``; or one channel) by ``path``'s suffix and write
    them (checked). Raises ``OutputWriteError`` naming the file when the suffix has no encoder."""
    import cv2

    path = Path(path)
    img = pixels if pixels.ndim == 2 or bgr else np.ascontiguousarray(pixels[..., ::-1])
    try:
        ok, buf = cv2.imencode(path.suffix.lower() or ".png", img)
    except cv2.error:
        ok = False
    if not ok:
        raise OutputWriteError(str(path), f"cannot encode a picture as {path.suffix or 'a file without suffix'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb", buffering=0) as f:
        write_all(f, buf.tobytes(), path)
    return path


class _PictureSink(Sink):
    needs_frames = True

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)


class AnnotatedPictureWriter(_PictureSink):
    """The photo with its people drawn in the run's ``DrawStyle``."""

    def __init__(self, path: str | os.PathLike, style: DrawStyle = DrawStyle()):
        super().__init__(path)
        self.style = style

    def write(self, result: PoseResult, frame=None) -> None:
        self.paths.append(write_picture(self.path, self.style.draw(frame, result)))


class MaskPictureWriter(_PictureSink):
    """The segmentation mask as an 8-bit gray picture (nothing when the result has no mask)."""

    needs_frames = False

    def write(self, result: PoseResult, frame=None) -> None:
        if result.mask is not None:
            self.paths.append(write_picture(self.path, (result.mask * 255 + 0.5).astype("uint8")))


class AnglesPictureWriter(_PictureSink):
    """The photo with its joint angles written beside the joints (needs matplotlib)."""

    def __init__(self, path: str | os.PathLike, style: DrawStyle = DrawStyle()):
        super().__init__(path)
        self.style = style

    def write(self, result: PoseResult, frame=None) -> None:
        from .plot import plot_image_angles

        buf = io.BytesIO()
        plot_image_angles(frame, result, buf, min_visibility=self.style.min_visibility,
                          format=self.path.suffix.lstrip(".") or "png")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb", buffering=0) as f:
            write_all(f, buf.getvalue(), self.path)
        self.paths.append(self.path)
