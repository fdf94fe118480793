"""Regions of interest: rotated squares in the image that the landmark model looks at.

Conventions: pixel coordinates, x right, y down, origin at the top-left corner of the first
pixel (OpenCV's pixel-index convention: pixel (i, j) has its centre at (i, j)). A rotation is in
radians, positive clockwise on screen (y down), as in MediaPipe's ``NormalizedRect``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Margin applied around the body circle ("expands pose rect with margin used during training").
ROI_SCALE = 1.25


def normalize_radians(angle: float) -> float:
    """Wrap an angle into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in image pixels: centre, width, height, clockwise rotation."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float

    def as_array(self) -> np.ndarray:
        return np.array([self.cx, self.cy, self.width, self.height, self.rotation], np.float64)

    def normalized(self, image_width: int, image_height: int) -> dict:
        """MediaPipe's NormalizedRect fields for this ROI."""
        return {"x_center": self.cx / image_width, "y_center": self.cy / image_height,
                "width": self.width / image_width, "height": self.height / image_height,
                "rotation": self.rotation}


def roi_from_alignment_points(center, scale_point, expand: float = ROI_SCALE,
                              target_angle: float = math.pi / 2) -> Roi:
    """The ROI of a body from two pixel points: its centre and a point on its enclosing circle.

    Size is 2·|scale_point − center|; rotation makes centre→scale_point point up
    (``target_angle`` = 90°); then the square is expanded by ``expand``. With ``expand=1`` this is
    the raw ROI that smoothing uses as the object scale.
    """
    x0, y0 = float(center[0]), float(center[1])
    x1, y1 = float(scale_point[0]), float(scale_point[1])
    size = 2.0 * math.hypot(x1 - x0, y1 - y0)
    rotation = normalize_radians(target_angle - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(x0, y0, size * expand, size * expand, rotation)


def image_from_crop_matrix(roi: Roi, crop_size: int) -> np.ndarray:
    """2x3 affine taking crop pixel coordinates to image pixel coordinates.

    The crop's corners (0,0), (S,0), (S,S), (0,S) map to the ROI's top-left, top-right,
    bottom-right and bottom-left corners, as MediaPipe's OpenCV converter does.
    """
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    sx, sy = roi.width / crop_size, roi.height / crop_size
    # image = R · diag(sx, sy) · (crop − S/2) + centre
    a = np.array([[c * sx, -s * sy], [s * sx, c * sy]])
    t = np.array([roi.cx, roi.cy]) - a @ np.array([crop_size / 2, crop_size / 2])
    return np.hstack([a, t[:, None]])


#: OpenCV's classic bilinear warp quantizes source positions to 1/2**INTER_BITS pixel.
INTER_BITS = 5
INTER_TAB_SIZE = 1 << INTER_BITS


def warp_bilinear(image: np.ndarray, src_from_dst: np.ndarray, size: tuple[int, int],
                  border_mode: int, border_value=0) -> np.ndarray:
    """Bilinear warp of ``image`` by a 2x3 dst→src affine, bit-exact with OpenCV ≤ 4.10.

    MediaPipe's ImageToTensorCalculator uses the OpenCV built into MediaPipe, whose
    warpPerspective/warpAffine round each source position to 1/32 pixel and use fixed-point
    weights. OpenCV ≥ 4.11 (and 5.x) computes these warps in float instead, which moves uint8
    results by up to ±3 levels and shifts the detector keypoints by ~0.5 px. ``cv2.remap`` with
    fixed-point maps (CV_16SC2 + CV_16UC1) still runs the classic path, so build those maps here.
    """
    map_int, map_frac = bilinear_maps(src_from_dst, size)
    return cv2.remap(image, map_int, map_frac, cv2.INTER_LINEAR,
                     borderMode=border_mode, borderValue=border_value)


def bilinear_maps(src_from_dst: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV fixed-point remap tables (CV_16SC2 positions, CV_16UC1 1/32-px fractions)."""
    w, h = size
    xs = np.arange(w, dtype=np.float64)
    ys = np.arange(h, dtype=np.float64)[:, None]
    m = src_from_dst
    ix = np.rint((m[0, 0] * xs + m[0, 2]) * INTER_TAB_SIZE + (m[0, 1] * INTER_TAB_SIZE) * ys).astype(np.int32)
    iy = np.rint((m[1, 0] * xs + m[1, 2]) * INTER_TAB_SIZE + (m[1, 1] * INTER_TAB_SIZE) * ys).astype(np.int32)
    map_int = np.empty((h, w, 2), np.int16)
    np.clip(ix >> INTER_BITS, -32768, 32767, out=map_int[..., 0], casting="unsafe")
    np.clip(iy >> INTER_BITS, -32768, 32767, out=map_int[..., 1], casting="unsafe")
    map_frac = ((iy & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (ix & (INTER_TAB_SIZE - 1))).astype(np.uint16)
    return map_int, map_frac


def crop_roi(image: np.ndarray, roi: Roi, crop_size: int) -> np.ndarray:
    """Warp the rotated ROI of ``image`` to a ``crop_size`` square, replicating the border."""
    m = image_from_crop_matrix(roi, crop_size)
    return warp_bilinear(image, m, (crop_size, crop_size), cv2.BORDER_REPLICATE)


def image_from_roi_points(points: np.ndarray, roi: Roi) -> np.ndarray:
    """Project ROI-normalized points (..., >=2) into image pixels; z (column 2) scales as x.

    A point (u, v) in [0, 1]² of the crop goes to centre + R·((u − ½)·w, (v − ½)·h).
    """
    out = np.array(points, dtype=np.float64, copy=True)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    u = (out[..., 0] - 0.5) * roi.width
    v = (out[..., 1] - 0.5) * roi.height
    out[..., 0] = c * u - s * v + roi.cx
    out[..., 1] = s * u + c * v + roi.cy
    if out.shape[-1] > 2:
        out[..., 2] = out[..., 2] * roi.width
    return out


def rotate_world(points: np.ndarray, rotation: float) -> np.ndarray:
    """Rotate world landmarks (..., 3) about the z axis by the ROI rotation (no scale, no shift)."""
    out = np.array(points, dtype=np.float64, copy=True)
    c, s = math.cos(rotation), math.sin(rotation)
    x, y = out[..., 0].copy(), out[..., 1].copy()
    out[..., 0] = c * x - s * y
    out[..., 1] = s * x + c * y
    return out
