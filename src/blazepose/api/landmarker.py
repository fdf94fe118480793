"""PoseLandmarker: the public entry point (image mode; video mode and batches build on it)."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import InputError
from ..io.images import as_rgb, read_image
from ..landmark import NUM_LANDMARKS, NUM_UPPER_BODY_LANDMARKS
from ..models import registry
from ..runtime.engine import DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, LiteRTEngine, default_num_threads
from ..stages import detector as det_stage
from ..stages import landmarks as lm_stage
from ..stages import multi as multi_stage
from ..stages.roi import Roi, roi_from_alignment_points
from .result import PoseResult

log = logging.getLogger(__name__)

ImageInput = Union[str, os.PathLike, np.ndarray]
MODELS = registry.LANDMARK_MODELS


class PoseLandmarker:
    """Finds the 33 BlazePose landmarks of people in images.

    Parameters keep MediaPipe's names: ``model`` is ``"lite"``, ``"full"`` or ``"heavy"``;
    ``min_detection_confidence`` is the detector's score threshold; ``min_tracking_confidence``
    the landmark model's pose-presence threshold (below it, no pose); ``enable_segmentation``
    adds a person mask; ``upper_body_only`` returns landmarks 0–24 only. Images are RGB
    (``process_image`` also takes a file path). Use it as a context manager, or call ``close()``.

    Several people: ``max_num_poses`` (default 1) is the most people returned per image. People
    are ordered by their detection score, best first, and numbered 0, 1, ... in that order
    (``result.ids``). A pose whose object keypoint similarity with a better-scored pose exceeds
    ``stages.multi.DEDUPE_OKS_THRESHOLD`` (two detections on one body) is dropped, and the next
    detection is tried in its place. ``detection_tiles`` (default 0, off) adds a tiled detection
    pass for small or far people: besides the whole image, the detector also looks at the
    overlapping tiles of the 2x2, 3x3, ... grids up to ``detection_tiles`` x ``detection_tiles``,
    so it costs ``1 + sum(k² for k in 2..detection_tiles)`` detector calls per image (5 for 2,
    14 for 3) instead of 1; detections from all of them are merged with weighted NMS.
    """

    def __init__(self, model: str = "full", *, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, enable_segmentation: bool = False,
                 upper_body_only: bool = False, max_num_poses: int = 1, detection_tiles: int = 0,
                 num_threads: int | None = None, model_path: str | os.PathLike | None = None,
                 detector_path: str | os.PathLike | None = None, download: bool = True):
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        for nm, v in (("min_detection_confidence", min_detection_confidence),
                      ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{nm} must be in [0, 1], got {v}")
        if int(max_num_poses) < 1:
            raise ValueError(f"max_num_poses must be >= 1, got {max_num_poses}")
        if int(detection_tiles) < 0:
            raise ValueError(f"detection_tiles must be >= 0 (0 or 1: off), got {detection_tiles}")
        self.model = model
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.enable_segmentation = bool(enable_segmentation)
        self.upper_body_only = bool(upper_body_only)
        self.max_num_poses = int(max_num_poses)
        self.detection_tiles = int(detection_tiles)
        self.num_threads = num_threads or default_num_threads()
        det_file = registry.resolve("detector", detector_path, download=download)
        lm_file = registry.resolve(model, model_path, download=download)
        wanted = ["landmarks", "pose_flag", "heatmap", "world"] + (["segmentation"] if enable_segmentation else [])
        self._detector = LiteRTEngine(det_file, DETECTOR_OUTPUTS, self.num_threads)
        self._landmarker = LiteRTEngine(lm_file, LANDMARK_OUTPUTS, self.num_threads, outputs=wanted)
        self._anchors = det_stage.generate_anchors()
        self._closed = False

    # ---- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._detector = self._landmarker = None
        self._closed = True

    def __enter__(self) -> "PoseLandmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this PoseLandmarker is closed")

    @property
    def num_output_landmarks(self) -> int:
        return NUM_UPPER_BODY_LANDMARKS if self.upper_body_only else NUM_LANDMARKS

    # ---- stages ------------------------------------------------------------------------------
    def detect(self, image_rgb: np.ndarray) -> det_stage.Detections:
        """Run the person detector: detections best first, normalized image coordinates.

        With ``detection_tiles`` >= 2 the detector also runs on overlapping tiles (see the class
        docstring); their detections are mapped back to the image and merged with the whole
        image's by weighted NMS.
        """
        dets = self._detect_once(image_rgb)
        if self.detection_tiles < 2:
            return dets
        h, w = image_rgb.shape[:2]
        parts = [dets]
        for tile in multi_stage.tile_pyramid(w, h, self.detection_tiles):
            x0, y0, x1, y1 = tile
            found = self._detect_once(np.ascontiguousarray(image_rgb[y0:y1, x0:x1]))
            if len(found):
                parts.append(multi_stage.detections_to_image(found, tile, w, h))
        if len(parts) == 1:
            return dets
        return det_stage.weighted_nms(*multi_stage.concat_detections(parts))

    def _detect_once(self, image_rgb: np.ndarray) -> det_stage.Detections:
        self._check_open()
        tensor, lb = det_stage.detector_input(image_rgb)
        out = self._detector.run(tensor)
        boxes, kps, scores = det_stage.decode(out["boxes"][0], out["scores"][0], self._anchors,
                                              self.min_detection_confidence)
        dets = det_stage.weighted_nms(boxes, kps, scores)
        return det_stage.remove_letterbox(dets, lb)

    @staticmethod
    def roi_from_detection(dets: det_stage.Detections, index: int, width: int, height: int) -> Roi:
        """The expanded ROI of detection ``index`` (hip centre kp0, body-circle point kp1)."""
        kp = dets.keypoints[index] * np.array([width, height])
        return roi_from_alignment_points(kp[0], kp[1])

    def estimate(self, image_rgb: np.ndarray, rois: list[Roi]) -> list[lm_stage.PoseEstimate]:
        """Run the landmark model on ROIs of one image (one batched call); keep every estimate."""
        self._check_open()
        if not rois:
            return []
        batch = np.stack([lm_stage.landmark_input(image_rgb, r) for r in rois])
        out = self._landmarker.run(batch)
        return [lm_stage.decode_pose(out, r, i) for i, r in enumerate(rois)]

    # ---- results -----------------------------------------------------------------------------
    def _result(self, estimates, image_rgb: np.ndarray, ids=None, frame_index=None,
                timestamp_ms=None, mask=None) -> PoseResult:
        h, w = image_rgb.shape[:2]
        k = self.num_output_landmarks
        if not estimates:
            return PoseResult.empty((w, h), k, mask=mask, frame_index=frame_index,
                                    timestamp_ms=timestamp_ms, meta={"model": self.model})
        return PoseResult(
            landmarks=np.stack([e.landmarks[:k] for e in estimates]),
            visibility=np.stack([e.visibility[:k] for e in estimates]),
            presence=np.stack([e.presence[:k] for e in estimates]),
            world=np.stack([e.world[:k] for e in estimates]),
            scores=np.array([e.score for e in estimates]),
            rois=np.stack([e.roi.as_array() for e in estimates]),
            ids=np.arange(len(estimates)) if ids is None else np.asarray(ids),
            image_size=(w, h), mask=mask, frame_index=frame_index, timestamp_ms=timestamp_ms,
            meta={"model": self.model})

    def _mask(self, estimates, w: int, h: int) -> np.ndarray | None:
        if not self.enable_segmentation:
            return None
        mask = np.zeros((h, w), np.float32)
        for e in estimates:
            if e.mask_logits is not None:
                np.maximum(mask, lm_stage.mask_to_image(e.mask_logits, e.roi, w, h), out=mask)
        return mask

    @staticmethod
    def load(image: ImageInput) -> np.ndarray:
        """An image path or array as RGB uint8 (H, W, 3)."""
        if isinstance(image, (str, os.PathLike)):
            return read_image(image)
        if isinstance(image, np.ndarray):
            return as_rgb(image)
        raise InputError(f"expected an image path or a numpy array, got {type(image).__name__}")

    def process_image(self, image: ImageInput) -> PoseResult:
        """Landmarks of the people in one still image (detector on every call, no smoothing)."""
        rgb = self.load(image)
        h, w = rgb.shape[:2]
        dets = self.detect(rgb)
        if self.max_num_poses == 1:  # the reference's path: the best detection only
            rois = [self.roi_from_detection(dets, 0, w, h)] if len(dets) else []
            estimates = [e for e in self.estimate(rgb, rois) if e.score >= self.min_tracking_confidence]
        else:
            estimates = self._estimate_people(rgb, dets)
        return self._result(estimates, rgb, mask=self._mask(estimates, w, h))

    def _estimate_people(self, rgb: np.ndarray, dets: det_stage.Detections) -> list[lm_stage.PoseEstimate]:
        """Up to ``max_num_poses`` distinct people, in detection-score order.

        Detections are taken best first, as many at a time as places are left (one batched
        landmark call per round); poses below ``min_tracking_confidence`` and duplicates of an
        already kept pose (OKS above ``DEDUPE_OKS_THRESHOLD``) are dropped and the next
        detections fill their places.
        """
        h, w = rgb.shape[:2]
        kept: list[lm_stage.PoseEstimate] = []
        nxt = 0
        while len(kept) < self.max_num_poses and nxt < len(dets):
            take = range(nxt, min(len(dets), nxt + self.max_num_poses - len(kept)))
            nxt = take.stop
            for e in self.estimate(rgb, [self.roi_from_detection(dets, i, w, h) for i in take]):
                if e.score < self.min_tracking_confidence:
                    continue
                lm, vis = e.landmarks[:NUM_LANDMARKS], e.visibility[:NUM_LANDMARKS]
                if all(multi_stage.oks(lm, k.landmarks[:NUM_LANDMARKS], vis, k.visibility[:NUM_LANDMARKS])
                       <= multi_stage.DEDUPE_OKS_THRESHOLD for k in kept):
                    kept.append(e)
        return kept
