"""Drawing poses on images. Every function returns a new image and leaves its input untouched.

Images are RGB uint8 (H, W, 3), or BGR with ``bgr=True`` (OpenCV frames: given and returned BGR).
Coordinates are the result's: pixels, x right, y down. Line widths and point sizes scale with the image. The subject's
left side is drawn in orange, the right in blue, the centre (nose, mouths' midline) in white;
the visibility threshold is applied here, at drawing time only.
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class DrawStyle:
    """How a run draws its pictures and videos, chosen once for the whole run.

    ``min_visibility``: landmarks less visible than this are not drawn; ``draw_rois``: draw the
    model's region of interest; ``color_by_id``: each person in their id's colour (True), in
    left/right colours (False), or decided per picture by the number of people (None, what
    ``draw_pose`` does alone). ``for_options`` decides it from the options (several people
    possible: by id, on every frame), so every entry point draws a clip alike.
    """

    min_visibility: float = 0.5
    draw_rois: bool = False
    color_by_id: bool | None = None

    @classmethod
    def for_options(cls, options, *, min_visibility: float = 0.5, draw_rois: bool = False) -> "DrawStyle":
        """The style of a run with ``options`` (``PoseOptions``): colour by id when
        ``max_num_poses > 1``."""
        return cls(float(min_visibility), bool(draw_rois), options.max_num_poses > 1)

    def draw(self, image: np.ndarray, result: PoseResult) -> np.ndarray:
        """``draw_pose`` with this style (RGB in, RGB out)."""
        return draw_pose(image, result, min_visibility=self.min_visibility, draw_rois=self.draw_rois,
                         color_by_id=self.color_by_id)


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
              thickness: float | None = None, radius: float | None = None, bgr: bool = False,
              label_ids: bool | None = None) -> np.ndarray:
    """Draw every person of ``result`` on a copy of ``image`` (RGB uint8; BGR with ``bgr=True``).

    Landmarks with visibility below ``min_visibility`` and the edges touching them are not drawn.
    ``color_by_id`` draws each person in one colour chosen by its id (``ID_COLORS[id % 10]``)
    instead of left/right colours; None (the default) does so when the result has several people.
    ``label_ids`` writes a small "id N" label just above each person's head (the top of their
    visible landmarks, else of their region); None (the default) does so when the result has
    several people. ``bgr=True``: ``image`` is OpenCV's BGR order and so is the returned image
    (the colours are the same as on an RGB image).
    """
    if image.shape[:2] != (result.height, result.width):
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]} but the result is for "
                         f"{result.width}x{result.height}")
    out = np.ascontiguousarray(image[..., :3][..., ::-1] if bgr else image[..., :3]).copy()
    if draw_mask_overlay and result.mask is not None:
        out = draw_mask(out, result.mask)
    s = scale_for(out)
    t = max(1, round(thickness if thickness is not None else 2.5 * s))
    rad = max(1, round(radius if radius is not None else 3.5 * s))
    k = result.num_landmarks
    if color_by_id is None:
        color_by_id = len(result) > 1
    if label_ids is None:
        label_ids = len(result) > 1
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
    if label_ids:
        for p in range(len(result)):
            _draw_label(out, result, p, result.visibility[p] >= min_visibility, s)
    return np.ascontiguousarray(out[..., ::-1]) if bgr else out


def label_anchor(result: PoseResult, index: int, visible: np.ndarray) -> tuple[float, float]:
    """Where person ``index``'s id label sits (pixels, x right, y down): the left of their head
    (landmarks 0..10 that are ``visible``, else every visible landmark, else the region's
    bounding box) at its top edge."""
    pts = result.landmarks[index, :, :2]
    head = visible[: min(11, len(visible))]
    sel = pts[: len(head)][head] if head.any() else pts[visible]
    if len(sel) == 0 or not np.isfinite(sel).all():
        box = cv2.boxPoints(((float(result.rois[index][0]), float(result.rois[index][1])),
                             (float(result.rois[index][2]), float(result.rois[index][3])),
                             float(np.degrees(result.rois[index][4]))))
        sel = box
    return float(sel[:, 0].min()), float(sel[:, 1].min())


def id_label_box(result: PoseResult, index: int, visible: np.ndarray, image_size: tuple[int, int]
               ) -> tuple[int, int, int, int, float]:
    """Person ``index``'s "id N" label on a ``image_size`` (width, height) image: its dark box
    (x0, y0, x1, y1, pixels, inside the image) above the head, and OpenCV's font scale."""
    w, h = image_size
    s = max(w, h) / 640.0
    font, fs = cv2.FONT_HERSHEY_SIMPLEX, 0.5 * max(s, 0.6)
    (tw, tht), base = cv2.getTextSize(f"id {int(result.ids[index])}", font, fs, max(1, round(s)))
    pad = max(2, round(3 * s))
    x, y = label_anchor(result, index, visible)
    x0 = int(np.clip(round(x), 0, max(0, w - tw - 2 * pad)))
    y1 = int(np.clip(round(y - 4 * s), tht + base + 2 * pad, h))   # the box's bottom edge
    return x0, y1 - (tht + base + 2 * pad), x0 + tw + 2 * pad, y1, fs


def _draw_label(out: np.ndarray, result: PoseResult, index: int, visible: np.ndarray, s: float) -> None:
    """Write "id N" on a dark box in the person's id colour, above their head, inside the image."""
    pid = int(result.ids[index])
    x0, y0, x1, y1, fs = id_label_box(result, index, visible, (out.shape[1], out.shape[0]))
    th = max(1, round(s))
    base = cv2.getTextSize(f"id {pid}", cv2.FONT_HERSHEY_SIMPLEX, fs, th)[1]
    pad = max(2, round(3 * s))
    cv2.rectangle(out, (x0, y0), (x1, y1), (0, 0, 0), -1)
    cv2.putText(out, f"id {pid}", (x0 + pad, y1 - pad - base), cv2.FONT_HERSHEY_SIMPLEX, fs,
                ID_COLORS[pid % len(ID_COLORS)], th, cv2.LINE_AA)
