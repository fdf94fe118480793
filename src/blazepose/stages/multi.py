"""Several people in one image: pose similarity, duplicate removal, ordering, detection tiles.

Pure functions, no I/O. Coordinates are image pixels, x right, y down (z is not used here);
detections are in normalized image coordinates (x / width, y / height), as in ``stages.detector``.
"""
from __future__ import annotations

import math

import numpy as np

from .detector import Detections

#: Per-landmark COCO keypoint sigmas (the spread of human labels, as a fraction of the object
#: scale) for the 33 BlazePose landmarks. COCO's published values where the landmark is a COCO
#: keypoint (nose .026, eyes .025, ears .035, shoulders .079, elbows .072, wrists .062, hips .107,
#: knees .087, ankles .089); the others borrow their nearest COCO neighbour's value: inner/outer
#: eye corners and mouth corners the eye's, fingers the wrist's, heels and toes the ankle's.
OKS_SIGMAS = np.array(
    [0.026,                                   # 0 nose
     0.025, 0.025, 0.025, 0.025, 0.025, 0.025,  # 1-6 eyes (inner, centre, outer)
     0.035, 0.035,                            # 7-8 ears
     0.025, 0.025,                            # 9-10 mouth corners
     0.079, 0.079, 0.072, 0.072, 0.062, 0.062,  # 11-16 shoulders, elbows, wrists
     0.062, 0.062, 0.062, 0.062, 0.062, 0.062,  # 17-22 pinky, index, thumb
     0.107, 0.107, 0.087, 0.087, 0.089, 0.089,  # 23-28 hips, knees, ankles
     0.089, 0.089, 0.089, 0.089])              # 29-32 heels, foot index
#: Two poses with an object keypoint similarity above this are the same person.
DEDUPE_OKS_THRESHOLD = 0.5
#: Landmarks less visible than this in either pose do not count in ``oks`` (unless no landmark
#: is visible in both, then all count).
OKS_MIN_VISIBILITY = 0.5
#: Fraction by which neighbouring detection tiles overlap (of a tile's nominal size).
TILE_OVERLAP = 0.3
#: COCO's segment area is about this fraction of a person's box area.
AREA_PER_BOX = 0.53


def pose_area(landmarks: np.ndarray) -> float:
    """COCO-like object area (pixels²) of one pose (K, >=2): 0.53 × its landmarks' box area."""
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    span = xy.max(axis=0) - xy.min(axis=0)
    return AREA_PER_BOX * float(span[0]) * float(span[1])


def oks(a: np.ndarray, b: np.ndarray, vis_a: np.ndarray | None = None, vis_b: np.ndarray | None = None,
        *, area: float | None = None, sigmas: np.ndarray = OKS_SIGMAS,
        min_visibility: float = OKS_MIN_VISIBILITY) -> float:
    """Object keypoint similarity of two poses of K landmarks (K, >=2) in pixels, in [0, 1].

    COCO's definition, ``mean_j exp(-d_j² / (2·s²·κ_j²))`` with ``κ_j = 2σ_j`` and ``s² = area``,
    taken over the landmarks visible (>= ``min_visibility``) in both poses. ``area`` defaults to
    the mean ``pose_area`` of the two poses (floored at 1 pixel²). K may be 33 or a prefix of it
    (25 for the upper body).
    """
    a = np.asarray(a, dtype=np.float64)[:, :2]
    b = np.asarray(b, dtype=np.float64)[:, :2]
    if a.shape != b.shape:
        raise ValueError(f"oks: poses must have the same shape, got {a.shape} and {b.shape}")
    k = a.shape[0]
    if k > len(sigmas):
        raise ValueError(f"oks: {k} landmarks but only {len(sigmas)} sigmas")
    if area is None:
        area = 0.5 * (pose_area(a) + pose_area(b))
    area = max(float(area), 1.0)
    sel = np.ones(k, bool)
    if vis_a is not None and vis_b is not None:
        both = (np.asarray(vis_a) >= min_visibility) & (np.asarray(vis_b) >= min_visibility)
        if both.any():
            sel = both
    d2 = np.sum((a[sel] - b[sel]) ** 2, axis=1)
    kappa = 2.0 * np.asarray(sigmas, dtype=np.float64)[:k][sel]
    return float(np.mean(np.exp(-d2 / (2.0 * area * kappa ** 2))))


def dedupe(landmarks: np.ndarray, visibility: np.ndarray | None = None,
           threshold: float = DEDUPE_OKS_THRESHOLD) -> np.ndarray:
    """Indices of the poses to keep, in input order: each pose is dropped when its OKS with an
    already kept (earlier) pose exceeds ``threshold``. Pass the poses best first.

    ``landmarks`` (N, K, >=2) pixels; ``visibility`` (N, K) or None.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    keep: list[int] = []
    for i in range(lm.shape[0]):
        vi = None if visibility is None else visibility[i]
        if all(oks(lm[i], lm[j], vi, None if visibility is None else visibility[j]) <= threshold
               for j in keep):
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def tile_grid(width: int, height: int, tiles: int, overlap: float = TILE_OVERLAP) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles covering a ``width`` x ``height`` image on a ``tiles`` x ``tiles`` grid.

    Each tile is ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive), ``1 + overlap`` times
    ``width / tiles`` wide and ``height / tiles`` high (clipped to the image), spread evenly so
    the first touches the top-left corner and the last the bottom-right corner. ``tiles`` <= 1
    gives no tiles (the whole image is always searched separately).
    """
    if tiles <= 1:
        return []
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    tw = min(width, max(1, math.ceil(width / tiles * (1.0 + overlap))))
    th = min(height, max(1, math.ceil(height / tiles * (1.0 + overlap))))
    out = []
    for j in range(tiles):
        y0 = round(j * (height - th) / (tiles - 1))
        for i in range(tiles):
            x0 = round(i * (width - tw) / (tiles - 1))
            out.append((x0, y0, x0 + tw, y0 + th))
    return out


def tile_pyramid(width: int, height: int, levels: int, overlap: float = TILE_OVERLAP) -> list[tuple[int, int, int, int]]:
    """The tiles of grids 2x2, 3x3, ... up to ``levels`` x ``levels`` (none for ``levels`` <= 1):
    ``sum(k² for k in 2..levels)`` tiles, e.g. 4 for 2 and 13 for 3."""
    return [t for n in range(2, levels + 1) for t in tile_grid(width, height, n, overlap)]


def detections_to_image(det: Detections, tile: tuple[int, int, int, int], width: int, height: int) -> Detections:
    """Map detections normalized to a tile ``(x0, y0, x1, y1)`` to normalized image coordinates."""
    x0, y0, x1, y1 = tile
    sx, sy = (x1 - x0) / width, (y1 - y0) / height
    ox, oy = x0 / width, y0 / height
    boxes = det.boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]] * sx + ox
    boxes[:, [1, 3]] = boxes[:, [1, 3]] * sy + oy
    kps = det.keypoints.copy()
    kps[..., 0] = kps[..., 0] * sx + ox
    kps[..., 1] = kps[..., 1] * sy + oy
    return Detections(boxes, kps, det.scores.copy())


def concat_detections(parts: list[Detections]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, keypoints and scores of several detection sets stacked (for a joint NMS)."""
    return (np.concatenate([p.boxes.reshape(-1, 4) for p in parts]),
            np.concatenate([p.keypoints.reshape(-1, 4, 2) for p in parts]),
            np.concatenate([p.scores.reshape(-1) for p in parts]))
