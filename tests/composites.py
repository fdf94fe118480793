"""A several-people test set made from the fixture photos: people pasted onto other backgrounds.

How it is made (deterministic, no randomness): the people of ``tests/data/reference/pose.jpg``
and ``dance.jpg`` (one each) are found with the pipeline on their own photo (full model,
MediaPipe's path); each is cut out as the box of its landmarks plus a 15 % margin. Each
composite takes one COCO fixture photo as background (``tests/data/coco``), resized with
INTER_AREA to 960 px wide, and pastes the cut-outs (INTER_AREA, opaque rectangles) at the
heights and places listed in ``LAYOUTS``: heights are fractions of the picture height (5-30 %),
placed side by side or overlapping. A pasted person's expected landmarks are the source landmarks
moved by the paste's scale and offset; their visibility is the source's. The background's own
people are not labelled: only the pasted people are counted (found or not), while every returned
pose counts for duplicates.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parent / "data"
SOURCES = ("pose.jpg", "dance.jpg")
BACKGROUNDS = ("000000000785.jpg", "000000040083.jpg", "000000196141.jpg", "000000197388.jpg")
WIDTH = 960
#: Per composite: background index, then pasted people as (source index, height fraction of the
#: picture, left edge as a fraction of the width, top of the cut-out as a fraction of the height).
LAYOUTS = (
    (0, ((0, 0.30, 0.05, 0.60), (1, 0.30, 0.40, 0.60), (0, 0.20, 0.75, 0.70))),     # side by side
    (1, ((1, 0.30, 0.10, 0.05), (0, 0.30, 0.22, 0.10))),                           # overlapping pair
    (2, ((0, 0.15, 0.05, 0.05), (1, 0.15, 0.30, 0.05), (0, 0.10, 0.60, 0.05), (1, 0.05, 0.85, 0.05))),  # small
    (3, ((1, 0.25, 0.55, 0.02), (1, 0.25, 0.66, 0.05), (0, 0.20, 0.05, 0.02))),     # overlapping + one apart
)


@dataclass
class Composite:
    name: str
    rgb: np.ndarray
    landmarks: list      # per pasted person (33, 2) pixels
    visibility: list     # per pasted person (33,)
    heights: list        # per pasted person, fraction of the picture height


def _sources(landmarker) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    for name in SOURCES:
        rgb = landmarker.load(DATA / "reference" / name)
        res = landmarker.process_image(rgb)
        lm, vis = res.landmarks[0, :, :2], res.visibility[0]
        (x0, y0), (x1, y1) = lm.min(axis=0), lm.max(axis=0)
        m = 0.15 * max(x1 - x0, y1 - y0)
        h, w = rgb.shape[:2]
        x0, y0 = int(max(0, x0 - m)), int(max(0, y0 - m))
        x1, y1 = int(min(w, x1 + m)), int(min(h, y1 + m))
        out.append((rgb[y0:y1, x0:x1].copy(), lm - [x0, y0], vis.copy()))
    return out


def make_composites(landmarker) -> list[Composite]:
    """The composites of ``LAYOUTS``; ``landmarker`` is a single-person full-model PoseLandmarker."""
    sources = _sources(landmarker)
    out = []
    for n, (bg_i, people) in enumerate(LAYOUTS):
        bg = landmarker.load(DATA / "coco" / BACKGROUNDS[bg_i])
        f = WIDTH / bg.shape[1]
        canvas = cv2.resize(bg, (WIDTH, round(bg.shape[0] * f)), interpolation=cv2.INTER_AREA)
        H, W = canvas.shape[:2]
        lms, viss, heights = [], [], []
        for src_i, frac, left, top in people:
            crop, lm, vis = sources[src_i]
            s = frac * H / crop.shape[0]
            cw, ch = max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))
            small = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA)
            x, y = round(left * W), round(top * H)
            cw, ch = min(cw, W - x), min(ch, H - y)
            canvas[y:y + ch, x:x + cw] = small[:ch, :cw]
            # the pixel grid scales about pixel corners: centre-based coordinates map as (p + .5)·s − .5
            lms.append((lm + 0.5) * [small.shape[1] / crop.shape[1], small.shape[0] / crop.shape[0]] - 0.5 + [x, y])
            viss.append(vis)
            heights.append(frac)
        out.append(Composite(f"composite{n}-{BACKGROUNDS[bg_i][:-4]}", canvas, lms, viss, heights))
    return out


def as_coco_annotations(comp: Composite) -> list[dict]:
    """The pasted people as COCO-like annotations (17 keypoints, v = 2 where visibility > 0.5)."""
    from blazepose.landmark import COCO17_FROM_BLAZEPOSE

    anns = []
    for lm, vis in zip(comp.landmarks, comp.visibility):
        idx = list(COCO17_FROM_BLAZEPOSE)
        kp = np.concatenate([lm[idx], np.where(vis[idx] > 0.5, 2.0, 0.0)[:, None]], axis=1)
        (x0, y0), (x1, y1) = lm.min(axis=0), lm.max(axis=0)
        anns.append({"keypoints": kp.reshape(-1).tolist(), "bbox": [x0, y0, x1 - x0, y1 - y0]})
    return anns
