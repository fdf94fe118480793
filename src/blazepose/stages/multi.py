"""Several people in one image: pose similarity, duplicate removal, ordering, detection tiles.

Pure functions, no I/O. Coordinates are image pixels, x right, y down (z is not used here);
detections are in normalized image coordinates (x / width, y / height), as in ``stages.detector``.
"""
from __future__ import annotations

import math

import numpy as np

from .detector import NMS_IOU_THRESHOLD, Detections, iou, weighted_nms

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
DEDUPE_OKS_THRESHOLD = 0.3
#: Landmarks less visible than this in either pose do not count in ``oks`` (unless no landmark
#: is visible in both, then all count).
OKS_MIN_VISIBILITY = 0.5
#: Fraction by which neighbouring detection tiles overlap (of a tile's nominal size).
TILE_OVERLAP = 0.3
#: COCO's segment area is about this fraction of a person's box area.
AREA_PER_BOX = 0.53
#: A pose whose visible box lies at least this much (a fraction of its own area) inside a better
#: pose's visible box is "contained" in it.
CONTAINED_FRACTION = 0.8
#: A contained pose whose size (square root of its visible box area) is under this fraction of
#: its container's is a fragment (a pose on someone's hands or feet), whatever its landmarks say.
FRAGMENT_SIZE_RATIO = 0.4
#: A contained pose whose landmarks, where it sees them, lie on the container's (partial OKS above
#: this) covers part of the same body.
PARTIAL_OKS_THRESHOLD = 0.3
#: A detection that a tile adds (``add_new_detections``) scoring under this, whose body region
#: lies at least ``CONTAINED_FRACTION`` inside the body region of a person a coarser level found,
#: is that person's body part seen zoomed in (a "person" lying across someone's legs), not a
#: person. Measured (``benchmarks/ghost_poses.py --tile-detections``): such part detections on
#: the one-person squats clip score 0.51-0.67; the people of the composites whom the tiles find
#: inside the region of a person the whole image found score 0.84-0.99. A thin margin on little
#: data: a part scoring 0.7 or more is still kept (and left to ``covers_same_body``).
TILE_PART_MAX_SCORE = 0.7
#: A pose with fewer landmarks than this at visibility >= OKS_MIN_VISIBILITY is too partial to be
#: a person.
MIN_VISIBLE_LANDMARKS = 8


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


# ---- duplicates and fragments ----------------------------------------------------------------
def visible_box(landmarks: np.ndarray, visibility: np.ndarray | None = None,
                min_visibility: float = OKS_MIN_VISIBILITY) -> np.ndarray:
    """xmin, ymin, xmax, ymax (pixels) of a pose's landmarks seen at ``min_visibility`` or more
    (all landmarks when fewer than two are)."""
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    if visibility is not None:
        seen = np.asarray(visibility) >= min_visibility
        if seen.sum() >= 2:
            xy = xy[seen]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _area(box: np.ndarray) -> float:
    return max(0.0, float(box[2] - box[0])) * max(0.0, float(box[3] - box[1]))


def contained_fraction(inner: np.ndarray, outer: np.ndarray) -> float:
    """Fraction of box ``inner``'s area lying inside box ``outer`` (boxes xmin, ymin, xmax, ymax)."""
    ix = max(0.0, min(inner[2], outer[2]) - max(inner[0], outer[0]))
    iy = max(0.0, min(inner[3], outer[3]) - max(inner[1], outer[1]))
    a = _area(inner)
    return ix * iy / a if a > 0 else 1.0


def covers_same_body(cand: np.ndarray, better: np.ndarray, vis_cand: np.ndarray | None = None,
                     vis_better: np.ndarray | None = None) -> str | None:
    """Why pose ``cand`` is not a person of its own next to pose ``better`` (or None if it is).

    Poses are (K, >=2) pixels with visibilities (K,) or None. ``"duplicate"``: their OKS (over the
    landmarks both see) exceeds ``DEDUPE_OKS_THRESHOLD``. ``"fragment"``: ``cand``'s visible box
    lies mostly (``CONTAINED_FRACTION``) inside ``better``'s and it is either much smaller
    (``FRAGMENT_SIZE_RATIO``: a pose found on someone's hands or feet) or its landmarks, where it
    sees them, lie on ``better``'s (OKS over ``cand``'s visible landmarks, on ``better``'s scale,
    above ``PARTIAL_OKS_THRESHOLD``: a pose of part of the same body). Two people who really
    overlap (a hug, a tackle) have boxes inside each other but heads, shoulders and hips apart,
    so both stay. Limits: a small real person standing in front of a big one, whose box falls
    inside the big one's and who is under 0.4 of their size, is taken for a fragment.
    """
    if oks(cand, better, vis_cand, vis_better) > DEDUPE_OKS_THRESHOLD:
        return "duplicate"
    box_c, box_b = visible_box(cand, vis_cand), visible_box(better, vis_better)
    if contained_fraction(box_c, box_b) < CONTAINED_FRACTION:
        return None
    if math.sqrt(_area(box_c)) < FRAGMENT_SIZE_RATIO * math.sqrt(_area(box_b)):
        return "fragment"
    seen = None if vis_cand is None else np.asarray(vis_cand)
    if oks(cand, better, seen, None if seen is None else np.ones_like(seen),
           area=AREA_PER_BOX * _area(box_b)) > PARTIAL_OKS_THRESHOLD:
        return "fragment"
    return None


def too_partial(visibility: np.ndarray | None, min_visible: int = MIN_VISIBLE_LANDMARKS) -> bool:
    """Whether a pose sees fewer than ``min_visible`` of its landmarks (visibility >= 0.5)."""
    if visibility is None:
        return False
    return int(np.sum(np.asarray(visibility) >= OKS_MIN_VISIBILITY)) < min_visible


def select_people(landmarks: np.ndarray, visibility: np.ndarray | None = None, *,
                  min_visible: int = MIN_VISIBLE_LANDMARKS, replace: bool = True) -> np.ndarray:
    """Indices (increasing) of the poses that are people of their own; pass the poses best first.

    A pose too partial (``too_partial`` with ``min_visible``; 0: none is) is dropped. The others
    are visited in order; one that ``covers_same_body`` as a kept pose is dropped, except that,
    with ``replace``, a kept pose which turns out to be a fragment of the later one (the later one
    contains it) is replaced by the later one. Video tracking uses ``min_visible=0,
    replace=False``: a tracked person is never dropped for being partly hidden, and of two tracks
    on one body the one passed first (``Tracker``: the more visible pose) is kept. ``landmarks`` (N, K, >=2) pixels; ``visibility`` (N, K) or None.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    vis = None if visibility is None else np.asarray(visibility, dtype=np.float64)
    v = (lambda i: None) if vis is None else (lambda i: vis[i])
    kept: list[int] = []
    for i in range(lm.shape[0]):
        if min_visible and too_partial(v(i), min_visible):
            continue
        if any(covers_same_body(lm[i], lm[j], v(i), v(j)) for j in kept):
            continue
        swallowed = [j for j in kept if covers_same_body(lm[j], lm[i], v(j), v(i))] if replace else []
        kept = [j for j in kept if j not in swallowed] + [i]
    return np.array(sorted(kept), dtype=np.int64)


# ---- where the detector looks ------------------------------------------------------------------
#: The tiles zoom in this much over the whole image's letterbox (tile side = longer side / zoom).
#: Measured on the COCO fixtures (``benchmarks/multi_person_coco.py --zooms 2.0 2.5``): zoom 2.25
#: finds 11 of 12 people with 7 detector calls per image, 2.0 and 2.5 find 10; the former plan
#: (zoom 1.5 then 2.25 of the shorter side, 3-11 calls) found 10.
AUTO_ZOOM = 2.25
#: Tiles are never smaller than this many pixels (smaller ones would only upsample).
AUTO_MIN_TILE = 224
#: Below this zoom over the whole image (small pictures, where tiles would be clamped to
#: ``AUTO_MIN_TILE``) tiles are not worth their cost: none.
AUTO_MIN_ZOOM = 1.5


def square_tiles(width: int, height: int, side: int, overlap: float = TILE_OVERLAP) -> list[tuple[int, int, int, int]]:
    """Square ``side`` x ``side`` tiles (clipped to the image) covering a ``width`` x ``height``
    image, neighbours overlapping by at least ``overlap`` of a side, spread evenly from the
    top-left to the bottom-right corner; ``(x0, y0, x1, y1)`` pixels, x1/y1 exclusive."""
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")

    def starts(length: int) -> list[int]:
        if side >= length:
            return [0]
        n = math.ceil((length - side) / (side * (1.0 - overlap))) + 1
        return [round(i * (length - side) / (n - 1)) for i in range(n)]

    tw, th = min(side, width), min(side, height)
    return [(x, y, x + tw, y + th) for y in starts(height) for x in starts(width)]


def auto_tile_levels(width: int, height: int) -> list[list[tuple[int, int, int, int]]]:
    """The detection plan for several people: lists of square tiles (today one list).

    Besides the whole image (searched separately), one level of square tiles whose side is the
    longer side / ``AUTO_ZOOM`` (at least ``AUTO_MIN_TILE`` px), so the detector sees people
    2.25 times bigger than on the whole image; neighbours overlap by ``TILE_OVERLAP``. None when
    that would zoom less than ``AUTO_MIN_ZOOM``. A 640 x 425 photo gets 6 tiles (3 x 2), a
    1920 x 1080 one 6, a square one 9, a 500 x 333 one 6 (224 px), a 300 x 200 one none.
    """
    longer = max(width, height)
    side = max(AUTO_MIN_TILE, int(round(longer / AUTO_ZOOM)))
    if longer < AUTO_MIN_ZOOM * side:
        return []
    return [square_tiles(width, height, side)]


def body_regions(det: Detections, image_size: tuple[int, int] = (1, 1)) -> np.ndarray:
    """(D, 4) xmin, ymin, xmax, ymax of the square around each detection's body circle (centre
    keypoint 0, the mid-hip; radius its distance to keypoint 1), in the units of ``image_size``
    (``(width, height)`` pixels; the default (1, 1) leaves normalized coordinates)."""
    kp = det.keypoints.reshape(-1, 4, 2) * np.asarray(image_size, dtype=np.float64)
    r = np.linalg.norm(kp[:, 1] - kp[:, 0], axis=1)[:, None]
    return np.concatenate([kp[:, 0] - r, kp[:, 0] + r], axis=1)


def is_body_part(region: np.ndarray, score: float, found_regions: np.ndarray) -> bool:
    """Whether a tile's detection (body region, score) is a part of a person already found
    (``found_regions``): it scores under ``TILE_PART_MAX_SCORE`` and its region lies at least
    ``CONTAINED_FRACTION`` inside one of theirs."""
    return score < TILE_PART_MAX_SCORE and any(
        contained_fraction(region, r) >= CONTAINED_FRACTION for r in found_regions)


def drop_body_parts(det: Detections, image_size: tuple[int, int] = (1, 1)) -> Detections:
    """``det`` (best first) without the detections that are body parts (``is_body_part``) of a
    better one kept before them; for merged detections whose level is no longer known."""
    regions = body_regions(det, image_size)
    keep: list[int] = []
    for i in range(len(det)):
        if not is_body_part(regions[i], float(det.scores[i]), regions[keep]):
            keep.append(i)
    if len(keep) == len(det):
        return det
    return Detections(det.boxes[keep], det.keypoints[keep], det.scores[keep])


def add_new_detections(dets: Detections, found: list[Detections],
                       iou_threshold: float = NMS_IOU_THRESHOLD, *,
                       image_size: tuple[int, int] = (1, 1)) -> Detections:
    """``dets`` unchanged, followed by the detections of ``found`` (merged among themselves by
    weighted NMS, best first) whose box overlaps none of ``dets`` by more than ``iou_threshold``
    and which are no body part (``is_body_part``) of a person of ``dets``.

    Coarse levels keep their exact detections (a person the whole image finds keeps MediaPipe's
    ROI); finer tiles only add people not found yet. A tile zooms in on the people the whole
    image found, and the detector then fires weakly on parts of their bodies; those detections
    are dropped here, before their poses (whose landmarks land on that body with other
    identities, so no pose rule can tell them from a person lying across another) exist.
    Limits: a real person whom the whole image did not find, lying mostly within the body
    region of one it found, and whom the tile finds only weakly (score < 0.7), is dropped too.
    All in normalized image coordinates; ``image_size`` ``(width, height)`` in pixels makes
    the body regions' containment exact on non-square images.
    """
    found = [f for f in found if len(f)]
    if not found:
        return dets
    new = weighted_nms(*concat_detections(found), iou_threshold=iou_threshold)
    if len(dets):
        regions, new_regions = body_regions(dets, image_size), body_regions(new, image_size)
        fresh = [i for i in range(len(new)) if iou(new.boxes[i], dets.boxes).max() <= iou_threshold
                 and not is_body_part(new_regions[i], float(new.scores[i]), regions)]
    else:
        fresh = list(range(len(new)))
    if not fresh:
        return dets
    return Detections(np.concatenate([dets.boxes.reshape(-1, 4), new.boxes[fresh]]),
                      np.concatenate([dets.keypoints.reshape(-1, 4, 2), new.keypoints[fresh]]),
                      np.concatenate([dets.scores.reshape(-1), new.scores[fresh]]))
