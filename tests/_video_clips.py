"""Small synthetic test clips built from the squats fixture (written to tmp_path, never committed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import REFERENCE

SQUATS = REFERENCE / "pose_squats.mp4"
SIZE = (360, 640)  # width, height: half of the fixture, same aspect


def squats_frames(n: int | None = None, size=SIZE) -> list[np.ndarray]:
    """BGR frames of the squats clip, resized."""
    import cv2

    cap = cv2.VideoCapture(str(SQUATS))
    out = []
    while n is None or len(out) < n:
        ok, f = cap.read()
        if not ok:
            break
        out.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
    cap.release()
    return out


def blank_frames(n: int, size=SIZE, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(120 + rng.normal(0, 3, (size[1], size[0], 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def write_avi(path: Path, frames, fps: float = 5.0) -> Path:
    """Motion-JPEG AVI (every frame a separate JPEG, so one can be corrupted alone)."""
    import cv2

    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert vw.isOpened()
    for f in frames:
        vw.write(f)
    vw.release()
    return path


def corrupt_frame(path: Path, index: int) -> None:
    """Wipe the JPEG data of frame ``index`` of an MJPG AVI (the decoder then rejects it)."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i] == 0xFF and data[i + 1] == 0xD8 and data[i + 2] == 0xFF]
    a, b = starts[index], starts[index + 1]
    data[a:b - 8] = bytes(b - 8 - a)
    path.write_bytes(bytes(data))
