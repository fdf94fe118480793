"""BlazePose person detector: letterbox input, SSD anchors, box decoding, weighted NMS.

Coordinates: x before y; "normalized" means divided by the frame's (width, height), with 0 at the
left/top edge of the first pixel and 1 at the right/bottom edge of the last pixel.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .roi import bilinear_maps

INPUT_SIZE = 224
NUM_KEYPOINTS = 4
#: Strides of the SSD layers; layers that share a stride are merged (2 anchors each).
STRIDES = (8, 16, 32, 32, 32)
MIN_SCALE, MAX_SCALE = 0.1484375, 0.75
SCORE_CLIP = 100.0
NMS_IOU_THRESHOLD = 0.3


def generate_anchors(input_size: int = INPUT_SIZE, strides=STRIDES) -> np.ndarray:
    """SSD anchor centres (A, 2) in normalized [0, 1] detector-input coordinates.

    fixed_anchor_size is true, so every anchor is 1 x 1 and only its centre matters. Each SSD layer
    adds 2 anchors per cell (aspect ratio 1 plus the interpolated scale); consecutive layers with the
    same stride are merged into one grid with 2 anchors per layer per cell.
    """
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        last = layer
        while last < len(strides) and strides[last] == stride:
            last += 1
        per_cell = 2 * (last - layer)
        size = int(np.ceil(input_size / stride))
        ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        grid = np.stack([(xs + 0.5) / size, (ys + 0.5) / size], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
        layer = last
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class Letterbox:
    """Where the image sits inside the square detector input, in normalized input coordinates:
    the image spans ``[left, left + width]`` x ``[top, top + height]``; the rest is padding."""

    left: float
    top: float
    width: float
    height: float


@lru_cache(maxsize=8)
def _letterbox_maps(w: int, h: int, size: int):
    """Remap tables of the letterbox warp (video frames share one size: computed once)."""
    side = max(w, h)
    s = size / side
    m = np.array([[s, 0.0, (side - w) / 2 * s], [0.0, s, (side - h) / 2 * s]])
    maps = bilinear_maps(cv2.invertAffineTransform(m), (size, size))
    for a in maps:
        a.setflags(write=False)
    return maps


def detector_input(image_rgb: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, Letterbox]:
    """Letterbox an RGB uint8 image into a (1, size, size, 3) float32 tensor in [-1, 1].

    As MediaPipe's ImageToTensorCalculator does: the image keeps its aspect ratio and is centred
    in the square; its corners map to the content's corners; sampling is OpenCV's classic
    fixed-point bilinear (``stages.roi.warp_bilinear``), bit-exact with MediaPipe's input;
    padding is black (-1). Large photos are sampled straight to 224 like MediaPipe does (no
    anti-aliasing pre-shrink: that changed the detections, hence the landmarks, by up to 146 px
    on a 1920 px photo).
    """
    h, w = image_rgb.shape[:2]
    side = max(w, h)
    s = size / side
    pad_x, pad_y = (side - w) / 2 * s, (side - h) / 2 * s
    map_int, map_frac = _letterbox_maps(w, h, size)
    warped = cv2.remap(image_rgb, map_int, map_frac, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    tensor = warped.astype(np.float32)
    tensor *= 2.0 / 255.0
    tensor -= 1.0
    return tensor[None], Letterbox(pad_x / size, pad_y / size, w * s / size, h * s / size)


@dataclass(frozen=True)
class Detections:
    """Person detections, best first, in normalized image coordinates.

    ``boxes`` (D, 4) are face boxes as xmin, ymin, xmax, ymax; ``keypoints`` (D, 4, 2) are
    0 mid-hip, 1 full-body scale/rotation point, 2 mid-shoulder, 3 upper-body scale point;
    ``scores`` (D,) are probabilities.
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           min_score: float, input_size: int = INPUT_SIZE):
    """Decode raw SSD outputs into candidate boxes, keypoints and scores above ``min_score``.

    raw_boxes (A, 12): x, y, w, h then 4 keypoints (x, y), in input pixels relative to the anchor
    centre. Returns boxes (K, 4) xmin/ymin/xmax/ymax, keypoints (K, 4, 2) and scores (K,), all in
    normalized detector-input coordinates.
    """
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.nonzero(scores >= min_score)[0]
    raw = raw_boxes.reshape(-1, 4 + 2 * NUM_KEYPOINTS)[keep].astype(np.float64) / input_size
    anc = anchors[keep].astype(np.float64)
    cx = raw[:, 0] + anc[:, 0]
    cy = raw[:, 1] + anc[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anc[:, None, :]
    return boxes, kps, scores[keep].astype(np.float64)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one xmin/ymin/xmax/ymax box against (K, 4) boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = NMS_IOU_THRESHOLD, max_detections: int = -1) -> Detections:
    """MediaPipe's weighted non-maximum suppression.

    Candidates are visited best first; every remaining candidate whose IoU with the best one is
    above ``iou_threshold`` joins its cluster; the cluster's box and keypoints become the
    score-weighted mean of its members, and its score stays the best member's.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.arange(len(scores))
    out_b, out_k, out_s = [], [], []
    while remaining.size and (max_detections < 0 or len(out_s) < max_detections):
        top = remaining[0]
        overlap = iou(boxes[top], boxes[remaining])
        members = remaining[overlap > iou_threshold]
        if members.size == 0 or members[0] != top:
            members = np.concatenate([[top], members[members != top]])
        wts = scores[members]
        total = wts.sum()
        out_b.append((boxes[members] * wts[:, None]).sum(0) / total)
        out_k.append((keypoints[members] * wts[:, None, None]).sum(0) / total)
        out_s.append(scores[top])
        remaining = remaining[overlap <= iou_threshold]
        remaining = remaining[remaining != top]
    if not out_s:
        return Detections(np.zeros((0, 4)), np.zeros((0, NUM_KEYPOINTS, 2)), np.zeros((0,)))
    return Detections(np.array(out_b), np.array(out_k), np.array(out_s))


def remove_letterbox(det: Detections, lb: Letterbox) -> Detections:
    """Map detections from the padded square input back to normalized image coordinates."""
    boxes = det.boxes.copy()
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - lb.left) / lb.width
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - lb.top) / lb.height
    kps = det.keypoints.copy()
    kps[..., 0] = (kps[..., 0] - lb.left) / lb.width
    kps[..., 1] = (kps[..., 1] - lb.top) / lb.height
    return Detections(boxes, kps, det.scores.copy())
