"""Long test clips for the video benchmarks: the squats fixture looped into an MJPG AVI."""
from __future__ import annotations

import math
from pathlib import Path

SQUATS = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "pose_squats.mp4"


def looped_squats(dest: Path, frames: int, *, size: tuple[int, int] | None = None,
                  fps: float | None = None, whole_loops: bool = False) -> Path:
    """Write the squats clip looped to ``frames`` frames (rounded up to whole loops if asked),
    resized to ``size`` (width, height) if given, at ``fps`` (default: the clip's own)."""
    import cv2

    cap = cv2.VideoCapture(str(SQUATS))
    src = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        src.append(f if size is None else cv2.resize(f, size, interpolation=cv2.INTER_AREA))
    fps = fps or cap.get(cv2.CAP_PROP_FPS)
    if whole_loops:
        frames = math.ceil(frames / len(src)) * len(src)
    h, w = src[0].shape[:2]
    vw = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for i in range(frames):
        vw.write(src[i % len(src)])
    vw.release()
    return dest
