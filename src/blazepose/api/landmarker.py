"""PoseLandmarker: the public entry point; the engines and the stateless image and batch calls.

Video state lives in ``api.session.VideoSession``; options in ``blazepose.options.PoseOptions``.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Union

import numpy as np

from ..errors import InputError
from ..io.images import as_rgb, read_image
from ..landmark import NUM_LANDMARKS, NUM_UPPER_BODY_LANDMARKS
from ..models import prune, registry
from ..runtime.engine import DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, default_num_threads, load_engine
from ..stages import detector as det_stage
from ..stages import landmarks as lm_stage
from ..stages import multi as multi_stage
from ..options import FIELD_NAMES, OptionsError, PoseOptions
from ..stages.roi import Roi, roi_from_alignment_points
from .result import PersonValues, PoseResult
from .session import VideoSession

log = logging.getLogger(__name__)

ImageInput = Union[str, os.PathLike, np.ndarray]
MODELS = registry.LANDMARK_MODELS


class PoseLandmarker:
    """Finds the 33 BlazePose landmarks of people in images; holds the engines.

    Options are a ``PoseOptions`` (``blazepose.options``: MediaPipe's names, validated once),
    given as keywords (``PoseLandmarker("full", max_num_poses=4)``), as ``model_complexity``, or
    as an object (``PoseLandmarker(options)``); ``landmarker.options`` holds them and each field
    is also a read-only attribute (``landmarker.max_num_poses``). Images are RGB (``process_image``
    also takes a file path). Use it as a context manager, or call ``close()``. The ``engine``
    option runs the models on ``"litert"`` (default) or ``"openvino"`` (optional extra, float32).
    Without ``enable_segmentation`` the landmark model runs without its mask branch
    (``models.prune``: the same landmarks bit for bit, in about half the time).

    Image mode (``process_image``, ``process_batch``) is stateless. Video mode lives in a
    ``VideoSession`` (``session()``): tracking, smoothing and timestamps of one video;
    ``process_frame`` / ``process_video`` / ``reset`` here use the landmarker's own session.

    Thread safety: one landmarker may be called from several threads; each engine call is
    serialised by a lock (so threads share the engines rather than run them in parallel: for
    parallel work use one landmarker per thread, or ``blazepose batch``). The landmarker's own
    video session is locked per frame; give each video its own ``session()``.

    Several people: ``max_num_poses`` (default 1) is the most people returned per image. People
    are ordered by their detection score, best first, and numbered 0, 1, ... in that order
    (``result.ids``). A pose on the same body as a better-scored one, or too partial to be a
    person (``stages.multi.select_people``), is dropped and the next detection is tried in its
    place. ``detection_tiles="auto"`` (default) looks for small and far people on tiles chosen
    from the image size when ``max_num_poses`` > 1 (``detection_plan``); an int N uses the
    overlapping tiles of the 2x2..NxN grids (``1 + sum(k² for k in 2..N)`` detector calls); 0: off.
    """

    def __init__(self, model: "str | int | PoseOptions" = "full", *, options: PoseOptions | None = None,
                 model_path: str | os.PathLike | None = None, detector_path: str | os.PathLike | None = None,
                 download: bool = True, **kwargs):
        if isinstance(model, PoseOptions):
            if options is not None:
                raise OptionsError("give the options once: as the first argument or as options=, not both")
            options = model
        elif "model_complexity" not in kwargs or model != "full":
            kwargs.setdefault("model", model)
        self.options: PoseOptions = PoseOptions.from_mapping(kwargs, base=options)
        o = self.options
        threads = o.num_threads or default_num_threads()
        log.info("loading the %s landmark model and the detector (%s, %d threads)", o.model, o.engine, threads)
        det_file = registry.resolve("detector", detector_path, download=download)
        if o.enable_segmentation:
            lm_file = registry.resolve(o.model, model_path, download=download)
        else:   # the official file without its mask branch (derived once, cached, verified)
            lm_file = prune.pruned_path(o.model, model_path, download=download)
        wanted = ["landmarks", "pose_flag", "heatmap", "world"] + (["segmentation"] if o.enable_segmentation else [])
        self._detector = load_engine(det_file, DETECTOR_OUTPUTS, threads, engine=o.engine)
        self._landmarker = load_engine(lm_file, LANDMARK_OUTPUTS, threads, outputs=wanted, engine=o.engine)
        self._anchors = det_stage.generate_anchors()
        self._closed = False
        self._session_lock = threading.Lock()
        self._session: VideoSession | None = None

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
    def num_threads(self) -> int:
        return self.options.num_threads or default_num_threads()

    @property
    def num_output_landmarks(self) -> int:
        return NUM_UPPER_BODY_LANDMARKS if self.upper_body_only else NUM_LANDMARKS

    # ---- stages ------------------------------------------------------------------------------
    def detect(self, image_rgb: np.ndarray) -> det_stage.Detections:
        """Run the person detector: detections best first, normalized image coordinates.

        The whole image first; then the tiles of ``detection_plan``, their detections mapped back
        to the image. With ``detection_tiles="auto"`` the levels run coarse to fine, each adding
        the people it finds that no coarser level found and that are no weak detection of a
        found person's body part (``stages.multi.add_new_detections``: the whole image's
        detections stay exactly MediaPipe's), and stop once ``max_num_poses``
        detections are found; with an int all tiles' detections and the whole image's are
        merged by one weighted NMS.
        """
        dets = self._detect_once(image_rgb)
        h, w = image_rgb.shape[:2]
        plan = self.detection_plan(w, h)
        if self.detection_tiles != "auto":      # an int: today's joint weighted NMS of all tiles
            parts = [dets] + [multi_stage.detections_to_image(self._detect_once(
                np.ascontiguousarray(image_rgb[t[1]:t[3], t[0]:t[2]])), t, w, h) for lv in plan for t in lv]
            parts = [p for p in parts if len(p)]
            if len(parts) < 2:
                return dets
            return multi_stage.drop_body_parts(det_stage.weighted_nms(*multi_stage.concat_detections(parts)),
                                               image_size=(w, h))
        for level in plan:                      # "auto": coarse to fine, each level adds new people
            if len(dets) >= self.max_num_poses:
                break
            found = [multi_stage.detections_to_image(self._detect_once(
                np.ascontiguousarray(image_rgb[t[1]:t[3], t[0]:t[2]])), t, w, h) for t in level]
            dets = multi_stage.add_new_detections(dets, found, image_size=(w, h))
        return dets

    def detection_plan(self, width: int, height: int) -> list[list[tuple[int, int, int, int]]]:
        """Where the detector looks besides the whole image: levels of tiles ``(x0, y0, x1, y1)``.

        ``detection_tiles="auto"`` (the default): none with ``max_num_poses=1`` (MediaPipe's
        path), else ``stages.multi.auto_tile_levels`` (square tiles at 2.25x the whole image's
        zoom, chosen from the image size). An int n >= 2: one level, the 2x2 ... n x n
        grids of ``stages.multi.tile_pyramid``; 0 or 1: none.
        """
        if self.detection_tiles == "auto":
            return [] if self.max_num_poses == 1 else multi_stage.auto_tile_levels(width, height)
        if self.detection_tiles < 2:
            return []
        return [multi_stage.tile_pyramid(width, height, self.detection_tiles)]

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
        return self._estimate_crops([(image_rgb, r) for r in rois])

    def _estimate_crops(self, crops: list[tuple[np.ndarray, Roi]]) -> list[lm_stage.PoseEstimate]:
        """One batched landmark call on (image, ROI) pairs, possibly from different images."""
        self._check_open()
        if not crops:
            return []
        batch = np.stack([lm_stage.landmark_input(img, r) for img, r in crops])
        out = self._landmarker.run(batch)
        return [lm_stage.decode_pose(out, r, i) for i, (_, r) in enumerate(crops)]

    # ---- results ------------------------------------------------------------------------------
    def _result(self, estimates, image_rgb: np.ndarray, mask=None) -> PoseResult:
        """An image-mode result: people numbered 0..N-1 in the order given."""
        h, w = image_rgb.shape[:2]
        people = [PersonValues(e.landmarks, e.visibility, e.presence, e.world, e.score, e.roi.as_array(), i)
                  for i, e in enumerate(estimates)]
        return PoseResult.from_people(people, (w, h), self.num_output_landmarks, mask=mask,
                                      meta={"model": self.model})

    def mask_of(self, estimates, width: int, height: int) -> np.ndarray | None:
        """The person mask (H, W) of some estimates (None when segmentation is off): the pixelwise
        maximum of each person's mask, mapped from their ROI to the image."""
        if not self.enable_segmentation:
            return None
        mask = np.zeros((height, width), np.float32)
        for e in estimates:
            if e.mask_logits is not None:
                np.maximum(mask, lm_stage.mask_to_image(e.mask_logits, e.roi, width, height), out=mask)
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
        return self._result(estimates, rgb, mask=self.mask_of(estimates, w, h))

    # ---- video mode (the landmarker's own session) ---------------------------------------------
    def session(self) -> VideoSession:
        """A new video session on this landmarker's engines (one per video or camera)."""
        self._check_open()
        return VideoSession(self)

    def _own_session(self) -> VideoSession:
        if self._session is None:
            self._session = VideoSession(self)
        return self._session

    @property
    def video_stats(self) -> dict:
        """Frames processed in the current video of the landmarker's own session, and frames on
        which the detector ran."""
        return dict(self._own_session().stats)

    def reset(self) -> None:
        """Start a new video in the landmarker's own session."""
        with self._session_lock:
            self._own_session().reset()

    def process_frame(self, frame: np.ndarray, timestamp_ms: float, *, frame_index: int | None = None) -> PoseResult:
        """``VideoSession.process_frame`` on the landmarker's own session (see there)."""
        self._check_open()
        with self._session_lock:
            return self._own_session().process_frame(frame, timestamp_ms, frame_index=frame_index)

    def process_video(self, source, *, offline_smoothing: bool = False, return_frames: bool = False,
                      progress=None):
        """``VideoSession.process_video`` on the landmarker's own session (see there): one
        ``PoseResult`` per decoded frame; a new video starts (``reset()``) first."""
        self._check_open()
        yield from self._own_session().process_video(source, offline_smoothing=offline_smoothing,
                                                     return_frames=return_frames, progress=progress)

    def _estimate_people(self, rgb: np.ndarray, dets: det_stage.Detections) -> list[lm_stage.PoseEstimate]:
        """Up to ``max_num_poses`` distinct people, in detection-score order.

        Detections are taken best first, as many at a time as places are left (one batched
        landmark call per round); poses below ``min_tracking_confidence`` are dropped, and of the
        others ``stages.multi.select_people`` keeps those that are people of their own (no
        duplicate of a better pose, no fragment of a body such as hands or feet, not too
        partial); the next detections fill the places left.
        """
        h, w = rgb.shape[:2]
        valid: list[lm_stage.PoseEstimate] = []
        kept: list[lm_stage.PoseEstimate] = []
        nxt = 0
        while len(kept) < self.max_num_poses and nxt < len(dets):
            take = range(nxt, min(len(dets), nxt + self.max_num_poses - len(kept)))
            nxt = take.stop
            found = self.estimate(rgb, [self.roi_from_detection(dets, i, w, h) for i in take])
            valid += [e for e in found if e.score >= self.min_tracking_confidence]
            if not valid:
                continue
            keep = multi_stage.select_people(np.stack([e.landmarks[:NUM_LANDMARKS] for e in valid]),
                                             np.stack([e.visibility[:NUM_LANDMARKS] for e in valid]))
            kept = [valid[i] for i in keep]
        return kept[:self.max_num_poses]

    def process_batch(self, images, *, batch_size: int = 8) -> list[PoseResult]:
        """Landmarks of many still images, results in input order (same as ``process_image``).

        ``images`` is a sequence of paths and/or RGB arrays. The detector runs image by image
        (its graph is fixed at batch 1); with one person per image (``max_num_poses=1``) the
        landmark model runs on the crops of several images at once, ``batch_size`` per call;
        with several, each image goes through ``process_image``. A bad input raises its typed error (``ImageReadError``
        naming the file) before any inference runs; to skip bad files instead, load them
        yourself with ``PoseLandmarker.load`` and pass the arrays that loaded.
        """
        self._check_open()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        rgbs = [self.load(im) for im in images]
        if self.max_num_poses > 1:   # several people: each image's own rounds (already batched)
            return [self.process_image(rgb) for rgb in rgbs]
        # Detector per image, then the best detection's ROI of every image: (image index, ROI).
        jobs: list[tuple[int, Roi]] = []
        for i, rgb in enumerate(rgbs):
            h, w = rgb.shape[:2]
            dets = self.detect(rgb)
            if len(dets):
                jobs.append((i, self.roi_from_detection(dets, 0, w, h)))
        per_image: list[list[lm_stage.PoseEstimate]] = [[] for _ in rgbs]
        for start in range(0, len(jobs), int(batch_size)):
            chunk = jobs[start:start + int(batch_size)]
            estimates = self._estimate_crops([(rgbs[i], roi) for i, roi in chunk])
            for (i, _), est in zip(chunk, estimates):
                if est.score >= self.min_tracking_confidence:
                    per_image[i].append(est)
        results = []
        for rgb, estimates in zip(rgbs, per_image):
            h, w = rgb.shape[:2]
            results.append(self._result(estimates, rgb, mask=self.mask_of(estimates, w, h)))
        return results


def _option_property(name: str) -> property:
    return property(lambda self: getattr(self.options, name),
                    doc=f"The ``{name}`` option (read-only; see ``PoseOptions``).")


for _name in FIELD_NAMES:
    if _name != "num_threads":
        setattr(PoseLandmarker, _name, _option_property(_name))
