"""Decoding the landmark model's outputs: landmarks, heatmap refinement, world points, mask.

Crop coordinates are normalized to the 256² crop: (0, 0) its top-left corner, (1, 1) its
bottom-right corner; z is normalized by the crop width, like x.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .roi import Roi, image_from_crop_matrix, image_from_roi_points, rotate_world

INPUT_SIZE = 256
NUM_MODEL_LANDMARKS = 39
NUM_BODY = 33
AUX_CENTER, AUX_SCALE = 33, 34
#: MediaPipe 0.10.14 legacy Pose refines with a 9x9 window (measured bit-exact; the public
#: tensors_to_pose_landmarks_and_segmentation.pbtxt says 7).
HEATMAP_KERNEL = 9
HEATMAP_MIN_CONFIDENCE = 0.5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def landmark_input(image_rgb: np.ndarray, roi: Roi, size: int = INPUT_SIZE) -> np.ndarray:
    """The (size, size, 3) float32 model input in [0, 1] for one ROI of an RGB uint8 image."""
    from .roi import crop_roi

    crop = crop_roi(image_rgb, roi, size)
    out = crop.astype(np.float32)
    out *= 1.0 / 255.0
    return out


def decode_landmarks(raw: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(39·5,) raw values → (39, 5): x, y, z crop-normalized, visibility and presence in [0, 1]."""
    lm = np.asarray(raw, dtype=np.float64).reshape(NUM_MODEL_LANDMARKS, 5).copy()
    lm[:, :3] /= size
    lm[:, 3:] = sigmoid(lm[:, 3:])
    return lm


def refine_with_heatmap(xy: np.ndarray, heatmap_logits: np.ndarray,
                        kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """Refine crop-normalized (K, 2) points with a (H, W, K) heatmap of logits.

    For each point, the window of ``kernel``² heatmap cells (9: what MediaPipe 0.10.14's compiled
    graph does, measured bit-exact; its published graph file and pipeline.md say 7) centred on (int(x·W), int(y·H)) (cut
    at the edges) is passed through a sigmoid; if its maximum reaches ``min_confidence`` the point
    becomes the confidence-weighted mean of the window's cell indices divided by W and H (no
    half-cell offset). Points whose centre cell lies outside the heatmap are left as they are.
    """
    hm_h, hm_w, k = heatmap_logits.shape
    out = np.array(xy, dtype=np.float64, copy=True)
    n = min(k, out.shape[0])
    cols = np.trunc(out[:n, 0] * hm_w).astype(np.int64)
    rows = np.trunc(out[:n, 1] * hm_h).astype(np.int64)
    inside = np.nonzero((cols >= 0) & (cols < hm_w) & (rows >= 0) & (rows < hm_h))[0]
    if inside.size == 0:
        return out
    off = (kernel - 1) // 2
    # All windows at once: cells outside the heatmap get confidence 0, which is the same as
    # cutting the window at the edges.
    d = np.arange(-off, off + 1)
    r = rows[inside, None] + d                      # (M, kernel)
    c = cols[inside, None] + d
    r_ok, c_ok = (r >= 0) & (r < hm_h), (c >= 0) & (c < hm_w)
    logits = heatmap_logits[np.clip(r, 0, hm_h - 1)[:, :, None], np.clip(c, 0, hm_w - 1)[:, None, :],
                            inside[:, None, None]]   # (M, kernel, kernel)
    conf = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    conf *= r_ok[:, :, None] & c_ok[:, None, :]
    total = conf.sum(axis=(1, 2))
    ok = (conf.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    new_x = (conf.sum(axis=1) * c).sum(axis=1) / hm_w / safe
    new_y = (conf.sum(axis=2) * r).sum(axis=1) / hm_h / safe
    sel = inside[ok]
    out[sel, 0] = new_x[ok]
    out[sel, 1] = new_y[ok]
    return out


@dataclass(frozen=True)
class PoseEstimate:
    """One person's landmarks from one ROI, in image pixels (z in the scale of x).

    ``landmarks`` (39, 3) include the two auxiliary points 33 (body centre) and 34 (scale point);
    ``visibility``/``presence`` (39,); ``world`` (33, 3) metres; ``score`` the pose flag.
    """

    landmarks: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    score: float
    roi: Roi
    mask_logits: np.ndarray | None = None


@dataclass(frozen=True)
class PersonPose:
    """One person's values on one image or frame, as a ``PoseResult`` holds them: the one record
    between the pipeline (an estimate, smoothed or not) and the result.

    ``landmarks`` (>= K, 3) image pixels (z in the scale of x); ``visibility``, ``presence``
    (>= K,); ``world`` (>= K, 3) metres; ``score`` the pose flag; ``roi`` (5,) cx, cy, width,
    height in pixels and rotation in radians; ``id`` the track id (image mode: 0..N-1).
    """

    id: int
    landmarks: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    score: float
    roi: np.ndarray

    @classmethod
    def of(cls, estimate: PoseEstimate, id: int, smoothed=None) -> "PersonPose":
        """An estimate's values, or with ``smoothed`` (anything with ``landmarks``, ``visibility``
        and ``world``) those three from it; presence, score and ROI are the estimate's."""
        src = estimate if smoothed is None else smoothed
        return cls(id, src.landmarks, src.visibility, estimate.presence, src.world, estimate.score,
                   estimate.roi.as_array())


def decode_pose(outputs: dict, roi: Roi, index: int = 0, refine: bool = True) -> PoseEstimate:
    """Turn the landmark model's named outputs (batch element ``index``) into a PoseEstimate."""
    lm = decode_landmarks(outputs["landmarks"][index])
    xy = lm[:, :2]
    if refine:
        xy = refine_with_heatmap(xy, outputs["heatmap"][index])
    crop_pts = np.concatenate([xy, lm[:, 2:3]], axis=1)
    image_pts = image_from_roi_points(crop_pts, roi)
    world = np.asarray(outputs["world"][index], dtype=np.float64).reshape(NUM_MODEL_LANDMARKS, 3)
    world = rotate_world(world[:NUM_BODY], roi.rotation)
    mask = outputs.get("segmentation")
    return PoseEstimate(
        landmarks=image_pts, visibility=lm[:, 3].copy(), presence=lm[:, 4].copy(), world=world,
        score=float(np.asarray(outputs["pose_flag"][index]).reshape(-1)[0]), roi=roi,
        mask_logits=None if mask is None else np.asarray(mask[index]).reshape(mask.shape[1], mask.shape[2]),
    )


def mask_to_image(mask_logits: np.ndarray, roi: Roi, width: int, height: int) -> np.ndarray:
    """Warp a crop-space mask of logits back to a (height, width) float32 probability image.

    Outside the ROI the mask is 0.
    """
    prob = (1.0 / (1.0 + np.exp(-np.clip(mask_logits, -80, 80)))).astype(np.float32)
    size = prob.shape[0]
    m = image_from_crop_matrix(roi, size)
    return cv2.warpAffine(prob, m, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
