"""Reading images as people have them, into one convention: RGB, uint8, (H, W, 3), C-contiguous.

JPEG EXIF orientation is applied; grayscale is expanded to RGB; an alpha channel is composited
over white (how viewers show a transparent background); 16-bit images are scaled to 8 bits.
Every failure is an ``ImageReadError`` that names the file and the problem.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import ImageReadError, InputError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
#: The longest image side the pipeline takes: OpenCV's warps (the detector's and the landmark
#: model's crops) refuse sources of 32767 pixels or more on a side.
MAX_SIDE = 32766


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise InputError("image array contains NaN or infinite values")
        hi = float(arr.max()) if arr.size else 0.0
        scale = 255.0 if hi <= 1.0 else 1.0
        return np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        hi = int(arr.max()) if arr.size else 0
        if hi > 255:
            return np.clip(arr / (65535 if hi <= 65535 else hi) * 255 + 0.5, 0, 255).astype(np.uint8)
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise InputError(f"unsupported image array dtype {arr.dtype}")


def as_rgb(image: np.ndarray, *, name: str = "image array") -> np.ndarray:
    """Normalise an array to RGB uint8 (H, W, 3).

    Accepts (H, W) gray, (H, W, 1), (H, W, 3) RGB and (H, W, 4) RGBA (alpha over white); uint8,
    uint16 (scaled by 1/257), bool, or float in [0, 1]. Colour order is RGB everywhere in this
    package: convert OpenCV's BGR frames with ``frame[..., ::-1]`` first.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(f"{name}: expected an (H, W), (H, W, 3) RGB or (H, W, 4) RGBA array, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name}: image has no pixels (shape {arr.shape})")
    if max(arr.shape[:2]) > MAX_SIDE:
        raise InputError(f"{name}: image is {arr.shape[1]}x{arr.shape[0]} pixels; sides longer than {MAX_SIDE} "
                         "pixels are not supported (resize it first)")
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.uint16)
        rgb = arr[..., :3].astype(np.uint16)
        arr = ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3), EXIF orientation applied.

    Gray, palette, RGBA (composited over white), CMYK and 16-bit files are converted.

    Args:
        path: the image file (any format Pillow decodes).

    Returns:
        A contiguous RGB uint8 array (H, W, 3).

    Raises:
        ImageReadError: the file is missing, a folder, empty, truncated or not an image; the
            message names the file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise ImageReadError(p, "no such file")
    if p.is_dir():
        raise ImageReadError(p, "is a directory, not an image file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImageReadError(p, f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageReadError(p, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # checked below, in our words
            with Image.open(p) as img:
                limit = Image.MAX_IMAGE_PIXELS
                if limit and img.width * img.height > limit:
                    raise ImageReadError(p, f"image is {img.width}x{img.height} pixels "
                                            f"({img.width * img.height / 1e6:.1f} M), over the "
                                            f"{limit / 1e6:.1f} M-pixel limit for decoding (Pillow's "
                                            "decompression-bomb guard, PIL.Image.MAX_IMAGE_PIXELS)")
                img.load()
                img = ImageOps.exif_transpose(img)
                mode = img.mode
                if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
                    arr = np.asarray(img)
                    if mode == "I" and arr.size and arr.max() <= 255:
                        arr = arr.astype(np.uint8)
                    else:
                        arr = np.clip(arr, 0, 65535).astype(np.uint16)
                elif mode == "F":
                    arr = np.asarray(img, dtype=np.float32)
                elif mode in ("RGB", "L", "RGBA"):
                    arr = np.asarray(img)
                elif "A" in mode or "transparency" in img.info:
                    arr = np.asarray(img.convert("RGBA"))
                else:
                    arr = np.asarray(img.convert("RGB"))
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(p, "not an image file (format not recognised)") from None
    except Image.DecompressionBombError:
        raise ImageReadError(p, f"image is over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.1f} M pixels, twice the "
                                f"{Image.MAX_IMAGE_PIXELS / 1e6:.1f} M-pixel limit for decoding (Pillow's "
                                "decompression-bomb guard, PIL.Image.MAX_IMAGE_PIXELS)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc) or exc.__class__.__name__
        if "truncated" in msg.lower() or isinstance(exc, (SyntaxError, ValueError)) or "broken" in msg.lower():
            raise ImageReadError(p, f"truncated or corrupt image data ({msg})") from None
        raise ImageReadError(p, f"cannot decode image ({msg})") from None
    try:
        return as_rgb(arr, name="image")
    except InputError as exc:   # the problem, without as_rgb's name: ImageReadError names the file
        raise ImageReadError(p, str(exc).removeprefix("image: ")) from None
