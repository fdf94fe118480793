"""Drawing poses on images. Every function returns a new image and leaves its input untouched.

Images are RGB uint8 (H, W, 3). Line widths and point sizes scale with the image. The subject's
left side is drawn in orange, the right in blue, the centre (nose, mouths' midline) in white;
the visibility threshold is applied here, at drawing time only.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..api.result import PoseResult
from ..landmark import CONNECTIONS, LEFT, RIGHT

LEFT_COLOR = (255, 138, 0)
RIGHT_COLOR = (0, 150, 255)
CENTER_COLOR = (255, 255, 255)
MASK_COLOR = (80, 200, 120)
ROI_COLOR = (255, 0, 255)
#: Colours for people by id (multi-person drawing), cycled.
ID_COLORS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
             (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212))


def _color(i: int, j: int | None = None):
    idx = {i} if j is None else {i, j}
    if idx <= LEFT:
        return LEFT_COLOR
    if idx <= RIGHT:
        return RIGHT_COLOR
    return CENTER_COLOR


def scale_for(image: np.ndarray) -> float:
    """A drawing scale: 1.0 for a 640-pixel image, proportional to the longer side."""
    return max(image.shape[:2]) / 640.0


def draw_mask(image: np.ndarray, mask: np.ndarray, *, threshold: float = 0.5, alpha: float = 0.5,
              color=MASK_COLOR) -> np.ndarray:
    """Blend ``color`` over pixels where the person mask exceeds ``threshold``."""
    out = image.copy()
    sel = mask > threshold
    out[sel] = (out[sel] * (1 - alpha) + np.array(color) * alpha).astype(np.uint8)
    return out


def draw_roi(image: np.ndarray, roi, *, color=ROI_COLOR, thickness: int | None = None) -> np.ndarray:
    """Draw a rotated ROI (cx, cy, w, h, rotation) as a closed polygon."""
    out = image.copy()
    cx, cy, w, h, rot = (float(v) for v in roi)
    box = cv2.boxPoints(((cx, cy), (w, h), np.degrees(rot)))
    t = thickness or max(1, round(2 * scale_for(image)))
    cv2.polylines(out, [np.round(box).astype(np.int32)], True, color, t, cv2.LINE_AA)
    return out


def draw_pose(image: np.ndarray, result: PoseResult, *, min_visibility: float = 0.5,
              draw_mask_overlay: bool = True, draw_rois: bool = False, color_by_id: bool | None = None,
              thickness: float | None = None, radius: float | None = None) -> np.ndarray:
    """Draw every person of ``result`` on a copy of ``image`` (RGB uint8).

    Landmarks with visibility below ``min_visibility`` and the edges touching them are not drawn.
    ``color_by_id`` draws each person in one colour chosen by its id (``ID_COLORS[id % 10]``)
    instead of left/right colours; None (the default) does so when the result has several people.
    """
    if image.shape[:2] != (result.height, result.width):
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]} but the result is for "
                         f"{result.width}x{result.height}")
    out = np.ascontiguousarray(image[..., :3]).copy()
    if draw_mask_overlay and result.mask is not None:
        out = draw_mask(out, result.mask)
    s = scale_for(out)
    t = max(1, round(thickness if thickness is not None else 2.5 * s))
    rad = max(1, round(radius if radius is not None else 3.5 * s))
    k = result.num_landmarks
    if color_by_id is None:
        color_by_id = len(result) > 1
    for p in range(len(result)):
        if draw_rois:
            out = draw_roi(out, result.rois[p])
        pts = result.landmarks[p, :, :2]
        ok = result.visibility[p] >= min_visibility
        pid_color = ID_COLORS[int(result.ids[p]) % len(ID_COLORS)] if color_by_id else None
        shift = 4
        ip = np.round(pts * (1 << shift)).astype(np.int64)
        for a, b in CONNECTIONS:
            if a < k and b < k and ok[a] and ok[b]:
                cv2.line(out, tuple(int(v) for v in ip[a]), tuple(int(v) for v in ip[b]),
                         pid_color or _color(a, b), t, cv2.LINE_AA, shift)
        for j in range(k):
            if ok[j]:
                c = tuple(int(v) for v in ip[j])
                cv2.circle(out, c, rad << shift, pid_color or _color(j), -1, cv2.LINE_AA, shift)
                cv2.circle(out, c, rad << shift, (0, 0, 0), max(1, t // 2), cv2.LINE_AA, shift)
    return out
