"""``LandmarkerCore``: the engines and the stateless calls of a ``PoseLandmarker``.

Everything here works on one image at a time and keeps nothing between calls; video state lives in
``api.session.VideoSession``, which uses these calls, and the public ``api.landmarker.PoseLandmarker``
adds ``session()`` / ``process_video()`` on top of both. So the imports run one way:
``landmarker → session → core``.

Coordinates: images are RGB uint8 (H, W, 3); detections are normalized to the image (x / width,
y / height); ROIs and landmarks are image pixels (x right, y down).
"""
from __future__ import annotations

import logging
import os
import warnings
from typing import Any, Union

import numpy as np

from ..errors import BlazePoseError, InputError, OptionsError
from ..io.images import as_rgb, read_image
from ..landmark import NUM_LANDMARKS, NUM_UPPER_BODY_LANDMARKS
from ..models import prune, registry
from ..runtime.engine import DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, load_engine
from ..runtime.threads import default_num_threads
from ..stages import detector as det_stage
from ..stages import landmarks as lm_stage
from ..stages import multi as multi_stage
from ..options import PoseOptions
from ..stages.roi import Roi, roi_from_alignment_points
from .result import PoseResult

log = logging.getLogger(__name__)

ImageInput = Union[str, os.PathLike, np.ndarray]


class LandmarkerCore:
    """The engines and the stateless calls; the base of ``PoseLandmarker`` (use that).

    See ``PoseLandmarker`` for the options, several people and thread safety. Nothing here keeps
    state from one call to the next, so one instance may serve several threads and videos.
    """

    def __init__(self, model: "str | int | PoseOptions | None" = None, *, options: PoseOptions | None = None,
                 model_complexity: int | None = None, min_detection_confidence: float | None = None,
                 min_tracking_confidence: float | None = None, enable_segmentation: bool | None = None,
                 upper_body_only: bool | None = None, max_num_poses: int | None = None,
                 detection_tiles: "int | str | None" = None, smooth_landmarks: bool | None = None,
                 smooth_segmentation: bool | None = None, detection_interval_ms: float | None = None,
                 reid_timeout_ms: float | None = None, num_threads: int | None = None, engine: str | None = None,
                 model_path: str | os.PathLike | None = None, detector_path: str | os.PathLike | None = None,
                 download: bool = True, **unknown: Any):
        """Load the detector and the landmark model on the chosen engine.

        Args:
            model: ``"lite"``, ``"full"`` (default) or ``"heavy"`` (or 0, 1, 2), or a whole
                ``PoseOptions``.
            options: a ``PoseOptions`` to start from; the keywords given change some of its fields.
            model_complexity: MediaPipe's name for ``model`` (0, 1, 2).
            min_detection_confidence, min_tracking_confidence, enable_segmentation, upper_body_only,
                max_num_poses, detection_tiles, smooth_landmarks, smooth_segmentation,
                detection_interval_ms, reid_timeout_ms, num_threads, engine: the ``PoseOptions``
                fields of these names; ``None`` (the default) keeps the options' value.
            model_path: a landmark model file to use instead of the registry's.
            detector_path: a detector file to use instead of the registry's.
            download: fetch missing model files from their official place (else only the cache).
            **unknown: any other keyword is an error (``OptionsError`` naming it).

        Raises:
            OptionsError: an unknown option, or a value the pipeline cannot use.
            ModelNotFoundError: a model file is neither cached nor downloadable.
            ModelError: a model file cannot be verified or loaded.
            MissingDependencyError: ``engine="openvino"`` without the ``openvino`` extra.
        """
        given = {"model_complexity": model_complexity, "min_detection_confidence": min_detection_confidence,
                 "min_tracking_confidence": min_tracking_confidence, "enable_segmentation": enable_segmentation,
                 "upper_body_only": upper_body_only, "max_num_poses": max_num_poses,
                 "detection_tiles": detection_tiles, "smooth_landmarks": smooth_landmarks,
                 "smooth_segmentation": smooth_segmentation, "detection_interval_ms": detection_interval_ms,
                 "reid_timeout_ms": reid_timeout_ms, "num_threads": num_threads, "engine": engine}
        values = {k: v for k, v in given.items() if v is not None}
        values.update(unknown)       # unknown names: PoseOptions.from_mapping says which, and what exists
        if isinstance(model, PoseOptions):
            if options is not None:
                raise OptionsError("give the options once: as the first argument or as options=, not both")
            options = model
        elif model is not None:
            values["model"] = model
        self.options: PoseOptions = PoseOptions.from_mapping(values, base=options)
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

    # ---- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release the engines; later calls raise ``RuntimeError``."""
        self._detector = self._landmarker = None
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this PoseLandmarker is closed")

    # ---- the options, read-only ----------------------------------------------------------------
    @property
    def model(self) -> str:
        """The landmark model: ``"lite"``, ``"full"`` or ``"heavy"``."""
        return self.options.model

    @property
    def min_detection_confidence(self) -> float:
        """The detector's score threshold."""
        return self.options.min_detection_confidence

    @property
    def min_tracking_confidence(self) -> float:
        """The pose-presence threshold (below it: no pose; in video, the person is lost)."""
        return self.options.min_tracking_confidence

    @property
    def enable_segmentation(self) -> bool:
        """Whether results carry a person mask."""
        return self.options.enable_segmentation

    @property
    def upper_body_only(self) -> bool:
        """Whether results hold landmarks 0..24 only."""
        return self.options.upper_body_only

    @property
    def max_num_poses(self) -> int:
        """The most people per image."""
        return self.options.max_num_poses

    @property
    def detection_tiles(self) -> "int | str":
        """``"auto"``, 0 (off) or N: where the detector also looks (``detection_plan``)."""
        return self.options.detection_tiles

    @property
    def smooth_landmarks(self) -> bool:
        """Whether video mode smooths landmarks, visibility and world points."""
        return self.options.smooth_landmarks

    @property
    def smooth_segmentation(self) -> bool:
        """Whether video mode smooths the mask."""
        return self.options.smooth_segmentation

    @property
    def detection_interval_ms(self) -> float:
        """With several people in video: how often to look for newcomers while places are free."""
        return self.options.detection_interval_ms

    @property
    def reid_timeout_ms(self) -> float:
        """How long a lost person may come back with the same id."""
        return self.options.reid_timeout_ms

    @property
    def engine(self) -> str:
        """The inference engine: ``"litert"`` or ``"openvino"``."""
        return self.options.engine

    @property
    def num_threads(self) -> int:
        """Inference threads per engine (the options' value, else every usable core)."""
        return self.options.num_threads or default_num_threads()

    @property
    def num_output_landmarks(self) -> int:
        """Landmarks per person in the results: 33, or 25 with ``upper_body_only``."""
        return NUM_UPPER_BODY_LANDMARKS if self.upper_body_only else NUM_LANDMARKS

    # ---- stages ------------------------------------------------------------------------------
    def detect_people(self, image_rgb: np.ndarray) -> det_stage.Detections:
        """Run only the person detector (no landmarks): detections best first.

        The whole image first; then the tiles of ``detection_plan``, their detections mapped back
        to the image. With ``detection_tiles="auto"`` the levels run coarse to fine, each adding
        the people it finds that no coarser level found and that are no weak detection of a
        found person's body part (``stages.multi.add_new_detections``: the whole image's
        detections stay exactly MediaPipe's), and stop once ``max_num_poses``
        detections are found; with an int all tiles' detections and the whole image's are
        merged by one weighted NMS.

        Args:
            image_rgb: an RGB uint8 image (H, W, 3).

        Returns:
            ``stages.detector.Detections``: ``boxes`` (N, 4) xmin, ymin, xmax, ymax, ``keypoints``
            (N, 4, 2) and ``scores`` (N,), coordinates normalized to the image (x / W, y / H).

        Raises:
            RuntimeError: the landmarker is closed.
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

    def detect(self, image_rgb: np.ndarray) -> det_stage.Detections:
        """Deprecated name of ``detect_people`` (it runs only the detector); removed in 0.3."""
        warnings.warn("PoseLandmarker.detect is deprecated: use detect_people (it runs only the person "
                      "detector; process_image gives landmarks)", DeprecationWarning, stacklevel=2)
        return self.detect_people(image_rgb)

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
        """The expanded ROI, in image pixels, of detection ``index`` (hip centre kp0, body-circle point kp1)."""
        kp = dets.keypoints[index] * np.array([width, height])
        return roi_from_alignment_points(kp[0], kp[1])

    def estimate(self, image_rgb: np.ndarray, rois: list[Roi]) -> list[lm_stage.PoseEstimate]:
        """Run the landmark model on ROIs of one image (one batched call); keep every estimate.

        Args:
            image_rgb: an RGB uint8 image (H, W, 3).
            rois: regions in image pixels (``stages.roi.Roi``: centre, size, rotation).

        Returns:
            One ``stages.landmarks.PoseEstimate`` per ROI, in order, whatever its score.
        """
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
        people = [lm_stage.PersonPose.of(e, i) for i, e in enumerate(estimates)]
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
        """An image path or array as RGB uint8 (H, W, 3).

        Args:
            image: a file path (EXIF orientation applied) or an array (gray, RGB, RGBA, 16-bit).

        Returns:
            The image as a contiguous RGB uint8 array.

        Raises:
            ImageReadError: the file is missing or not a readable image (the message names it).
            InputError: not a path or an array, or an array that is no image.
        """
        if isinstance(image, (str, os.PathLike)):
            return read_image(image)
        if isinstance(image, np.ndarray):
            return as_rgb(image)
        raise InputError(f"expected an image path or a numpy array, got {type(image).__name__}")

    def process_image(self, image: ImageInput) -> PoseResult:
        """Landmarks of the people in one still image (detector on every call, no smoothing).

        Args:
            image: an RGB array (H, W, 3) or an image file path.

        Returns:
            A ``PoseResult`` with up to ``max_num_poses`` people (0 is a normal answer), ids 0..N-1.

        Raises:
            ImageReadError: a path that cannot be read as an image.
            InputError: an input that is no image.
            RuntimeError: the landmarker is closed.
        """
        rgb = self.load(image)
        h, w = rgb.shape[:2]
        dets = self.detect_people(rgb)
        if self.max_num_poses == 1:  # the reference's path: the best detection only
            rois = [self.roi_from_detection(dets, 0, w, h)] if len(dets) else []
            estimates = [e for e in self.estimate(rgb, rois) if e.score >= self.min_tracking_confidence]
        else:
            estimates = self._estimate_people(rgb, dets)
        return self._result(estimates, rgb, mask=self.mask_of(estimates, w, h))

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
        with several, each image goes through ``process_image``.

        Args:
            images: paths and/or RGB arrays.
            batch_size: crops per landmark-model call (>= 1).

        Returns:
            One ``PoseResult`` per input, in input order. An input that cannot be read (a missing
            or corrupt file, a bad array) does not stop the others: its result is empty, with
            ``image_size`` (0, 0), ``result.error`` the message (the file and the problem, as the
            command line reports it) and ``result.meta["file"]`` the path (None for an array).

        Raises:
            ValueError: ``batch_size`` < 1.
        """
        self._check_open()
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        images, loaded, failed = list(images), {}, {}
        for i, im in enumerate(images):
            try:
                loaded[i] = self.load(im)
            except BlazePoseError as exc:
                log.warning("%s", exc)
                failed[i] = PoseResult.failed(str(exc), file=os.fspath(im) if isinstance(im, (str, os.PathLike))
                                              else None, num_landmarks=self.num_output_landmarks)
        done = iter(self._process_loaded(list(loaded.values()), int(batch_size)))
        return [failed[i] if i in failed else next(done) for i in range(len(images))]

    def _process_loaded(self, rgbs: list[np.ndarray], batch_size: int) -> list[PoseResult]:
        """``process_batch`` on the images that loaded."""
        if self.max_num_poses > 1:   # several people: each image's own rounds (already batched)
            return [self.process_image(rgb) for rgb in rgbs]
        # Detector per image, then the best detection's ROI of every image: (image index, ROI).
        jobs: list[tuple[int, Roi]] = []
        for i, rgb in enumerate(rgbs):
            h, w = rgb.shape[:2]
            dets = self.detect_people(rgb)
            if len(dets):
                jobs.append((i, self.roi_from_detection(dets, 0, w, h)))
        per_image: list[list[lm_stage.PoseEstimate]] = [[] for _ in rgbs]
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start:start + batch_size]
            estimates = self._estimate_crops([(rgbs[i], roi) for i, roi in chunk])
            for (i, _), est in zip(chunk, estimates):
                if est.score >= self.min_tracking_confidence:
                    per_image[i].append(est)
        results = []
        for rgb, estimates in zip(rgbs, per_image):
            h, w = rgb.shape[:2]
            results.append(self._result(estimates, rgb, mask=self.mask_of(estimates, w, h)))
        return results

