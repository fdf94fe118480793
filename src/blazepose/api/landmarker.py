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
    """

    def __init__(self, model: str = "full", *, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, enable_segmentation: bool = False,
                 upper_body_only: bool = False, max_num_poses: int = 1,
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
        self.model = model
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.enable_segmentation = bool(enable_segmentation)
        self.upper_body_only = bool(upper_body_only)
        self.max_num_poses = int(max_num_poses)
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
        """Run the person detector: detections best first, normalized image coordinates."""
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
        rois = [self.roi_from_detection(dets, i, w, h) for i in range(min(len(dets), self.max_num_poses))]
        estimates = [e for e in self.estimate(rgb, rois) if e.score >= self.min_tracking_confidence]
        return self._result(estimates, rgb, mask=self._mask(estimates, w, h))

    def process_batch(self, images, *, batch_size: int = 8) -> list[PoseResult]:
        """Landmarks of many still images, results in input order (same as ``process_image``).

        ``images`` is a sequence of paths and/or RGB arrays. The detector runs image by image
        (its graph is fixed at batch 1); the landmark model runs on the ROIs of several images at
        once, ``batch_size`` crops per call. A bad input raises its typed error (``ImageReadError``
        naming the file) before any inference runs; to skip bad files instead, load them
        yourself with ``PoseLandmarker.load`` and pass the arrays that loaded.
        """
        self._check_open()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        rgbs = [self.load(im) for im in images]
        # Detector per image, then every ROI of every image in one list: (image index, ROI).
        jobs: list[tuple[int, Roi]] = []
        for i, rgb in enumerate(rgbs):
            h, w = rgb.shape[:2]
            dets = self.detect(rgb)
            jobs += [(i, self.roi_from_detection(dets, d, w, h))
                     for d in range(min(len(dets), self.max_num_poses))]
        per_image: list[list[lm_stage.PoseEstimate]] = [[] for _ in rgbs]
        for start in range(0, len(jobs), int(batch_size)):
            chunk = jobs[start:start + int(batch_size)]
            batch = np.stack([lm_stage.landmark_input(rgbs[i], roi) for i, roi in chunk])
            out = self._landmarker.run(batch)
            for j, (i, roi) in enumerate(chunk):
                est = lm_stage.decode_pose(out, roi, j)
                if est.score >= self.min_tracking_confidence:
                    per_image[i].append(est)
        results = []
        for rgb, estimates in zip(rgbs, per_image):
            h, w = rgb.shape[:2]
            results.append(self._result(estimates, rgb, mask=self._mask(estimates, w, h)))
        return results
