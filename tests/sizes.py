"""The resized sample photos of the parity-at-every-size tests, made the same way everywhere.

``resized(name, long_side)`` reads ``tests/data/reference/<name>`` and resizes it with OpenCV's
``INTER_CUBIC`` so that its longer side is ``long_side`` pixels (the other side rounded to the
nearest pixel). ``tests/data/sizes/expected.json`` holds MediaPipe 0.10.14's landmarks on exactly
these arrays, with each array's sha256, made by ``tests/data/sizes/make_expected.py``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

REFERENCE = Path(__file__).resolve().parent / "data" / "reference"
PHOTOS = ("pose.jpg", "dance.jpg")
LONG_SIDES = (1280, 1920, 2560, 4000)


def resized(name: str, long_side: int) -> np.ndarray:
    """RGB uint8 photo ``name`` resized (INTER_CUBIC) to ``long_side`` pixels on its longer side."""
    bgr = cv2.imread(str(REFERENCE / name), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    f = long_side / max(w, h)
    size = (round(w * f), round(h * f))
    return np.ascontiguousarray(cv2.resize(bgr, size, interpolation=cv2.INTER_CUBIC)[..., ::-1])


def digest(rgb: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()
