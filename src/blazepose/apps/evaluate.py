"""Accuracy against human ground truth: COCO keypoints and PCK.

PCK@a: a keypoint is correct when it lies within ``a`` × the person's torso size of the ground
truth; torso size is the larger of the two shoulder-to-opposite-hip distances, or when those
keypoints are missing, the diagonal of the ground-truth box × 0.5. Only labelled keypoints
(COCO v > 0) count.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

L_SH, R_SH, L_HIP, R_HIP = 5, 6, 11, 12


def load_coco(path: str | Path) -> tuple[dict, dict]:
    """(images by id, annotations grouped by image id) from a COCO person-keypoints file."""
    d = json.loads(Path(path).read_text())
    images = {im["id"]: im for im in d["images"]}
    anns: dict[int, list] = {}
    for a in d["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    return images, anns


def gt_keypoints(ann: dict) -> np.ndarray:
    """(17, 3) x, y, v of a COCO annotation."""
    return np.asarray(ann["keypoints"], dtype=np.float64).reshape(17, 3)


def torso_size(gt: np.ndarray, bbox=None) -> float:
    d = []
    for a, b in ((L_SH, R_HIP), (R_SH, L_HIP)):
        if gt[a, 2] > 0 and gt[b, 2] > 0:
            d.append(float(np.hypot(*(gt[a, :2] - gt[b, :2]))))
    if d:
        return max(d)
    if bbox is not None:
        return 0.5 * float(np.hypot(bbox[2], bbox[3]))
    raise ValueError("no torso keypoints and no box to size the person")


def pck(pred_xy: np.ndarray, gt: np.ndarray, alpha: float = 0.2, bbox=None) -> float:
    """Fraction of labelled keypoints within ``alpha`` × torso size (pred (17, 2) pixels)."""
    labelled = gt[:, 2] > 0
    if not labelled.any():
        return float("nan")
    thr = alpha * torso_size(gt, bbox)
    err = np.hypot(*(pred_xy[labelled] - gt[labelled, :2]).T)
    return float(np.mean(err <= thr))


def match_people(pred_coco17: np.ndarray, anns: list[dict], alpha: float = 0.2,
                 min_pck: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of predicted people (P, 17, >=2 pixels) to COCO annotations.

    Pairs are taken in decreasing PCK@``alpha`` order; each prediction and each annotation is
    used at most once; a pair counts only when its PCK >= ``min_pck``. Returns
    ``(annotation index, prediction index, pck)`` triples.
    """
    pairs = []
    for ai, ann in enumerate(anns):
        gt = gt_keypoints(ann)
        for pi in range(len(pred_coco17)):
            v = pck(np.asarray(pred_coco17[pi])[:, :2], gt, alpha, bbox=ann.get("bbox"))
            if v == v and v >= min_pck:
                pairs.append((v, ai, pi))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_a, used_p, out = set(), set(), []
    for v, ai, pi in pairs:
        if ai not in used_a and pi not in used_p:
            used_a.add(ai)
            used_p.add(pi)
            out.append((ai, pi, v))
    return out
