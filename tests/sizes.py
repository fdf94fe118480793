"""The resized sample photos of the parity-at-every-size tests, made the same way everywhere.

``resized(name, long_side)`` reads ``tests/data/reference/<name>`` and resizes it with Pillow's
``BICUBIC`` so that its longer side is ``long_side`` pixels (the other side rounded to the
nearest pixel). Pillow, not OpenCV: OpenCV's ``INTER_CUBIC`` picks a SIMD path by processor, and
two x86-64 machines (AVX-512 and AVX2) gave other pixels for 5 of the 8 cases, so a reference made
on one could not be checked on the other; Pillow's resampling has one integer path. ``tests/data/sizes/expected.json`` holds MediaPipe 0.10.14's landmarks on exactly
these arrays, with each array's sha256, made by ``tests/data/sizes/make_expected.py``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

REFERENCE = Path(__file__).resolve().parent / "data" / "reference"
PHOTOS = ("pose.jpg", "dance.jpg")
LONG_SIDES = (1280, 1920, 2560, 4000)


def resized(name: str, long_side: int) -> np.ndarray:
    """RGB uint8 photo ``name`` resized (Pillow BICUBIC) to ``long_side`` pixels on its longer side."""
    with Image.open(REFERENCE / name) as im:
        rgb = im.convert("RGB")
    w, h = rgb.size
    f = long_side / max(w, h)
    size = (round(w * f), round(h * f))
    return np.ascontiguousarray(np.asarray(rgb.resize(size, Image.Resampling.BICUBIC)))


def digest(rgb: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()
