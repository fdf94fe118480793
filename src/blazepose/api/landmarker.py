"""PoseLandmarker: the public entry point (image mode; video mode and batches build on it)."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import InputError, TimestampError
from ..io.images import as_rgb, read_image
from ..landmark import NUM_LANDMARKS, NUM_UPPER_BODY_LANDMARKS
from ..models import registry
from ..runtime.engine import DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, LiteRTEngine, default_num_threads
from ..stages import detector as det_stage
from ..stages import landmarks as lm_stage
from ..stages import multi as multi_stage
from ..stages.roi import Roi, roi_from_alignment_points
from ..stages import smoothing as sm_stage
from ..stages.tracking import Tracker
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

    Video mode (``process_frame``, ``process_video``) tracks people from frame to frame and, with
    ``smooth_landmarks`` / ``smooth_segmentation`` (both on by default), smooths landmarks and
    masks over time; ``process_image`` never tracks or smooths.

    Several people: ``max_num_poses`` (default 1) is the most people returned per image. People
    are ordered by their detection score, best first, and numbered 0, 1, ... in that order
    (``result.ids``). A pose whose object keypoint similarity with a better-scored pose exceeds
    ``stages.multi.DEDUPE_OKS_THRESHOLD`` (two detections on one body) is dropped, and the next
    detection is tried in its place. ``detection_tiles`` (default 0, off) adds a tiled detection
    pass for small or far people: besides the whole image, the detector also looks at the
    overlapping tiles of the 2x2, 3x3, ... grids up to ``detection_tiles`` x ``detection_tiles``,
    so it costs ``1 + sum(k² for k in 2..detection_tiles)`` detector calls per image (5 for 2,
    14 for 3) instead of 1; detections from all of them are merged with weighted NMS.

    Several people in video (``stages.tracking`` has the exact rules): each tracked person keeps
    an id (``result.ids``, results ordered by id). The detector runs on every frame while nobody
    is tracked, and, while fewer than ``max_num_poses`` are, at most once per
    ``detection_interval_ms`` (default 250 ms; 0: every frame) to pick up newcomers; detections
    overlapping a tracked person are ignored, and of two poses on one body the older id is kept.
    A person lost and found again within ``reid_timeout_ms`` (default 2000 ms; 0: off) near where
    they were last seen, at a similar size, gets their id back when no other ended track or new
    person could match (re-identification); their filters restart either way.
    """

    def __init__(self, model: str = "full", *, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, enable_segmentation: bool = False,
                 upper_body_only: bool = False, max_num_poses: int = 1, detection_tiles: int | str = "auto",
                 num_threads: int | None = None, model_path: str | os.PathLike | None = None,
                 detector_path: str | os.PathLike | None = None, download: bool = True,
                 smooth_landmarks: bool = True, smooth_segmentation: bool = True,
                 detection_interval_ms: float = 250.0, reid_timeout_ms: float = 2000.0):
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        for nm, v in (("min_detection_confidence", min_detection_confidence),
                      ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{nm} must be in [0, 1], got {v}")
        if int(max_num_poses) < 1:
            raise ValueError(f"max_num_poses must be >= 1, got {max_num_poses}")
        for nm, v in (("detection_interval_ms", detection_interval_ms), ("reid_timeout_ms", reid_timeout_ms)):
            if not (np.isfinite(float(v)) and float(v) >= 0.0):
                raise ValueError(f"{nm} must be a finite number of milliseconds >= 0, got {v}")
        if detection_tiles != "auto" and (isinstance(detection_tiles, str) or int(detection_tiles) < 0):
            raise ValueError(f"detection_tiles must be 'auto' or an int >= 0 (0 or 1: off), got {detection_tiles!r}")
        self.model = model
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.enable_segmentation = bool(enable_segmentation)
        self.upper_body_only = bool(upper_body_only)
        self.max_num_poses = int(max_num_poses)
        self.detection_tiles = "auto" if detection_tiles == "auto" else int(detection_tiles)
        self.detection_interval_ms = float(detection_interval_ms)
        self.reid_timeout_ms = float(reid_timeout_ms)
        self.num_threads = num_threads or default_num_threads()
        det_file = registry.resolve("detector", detector_path, download=download)
        lm_file = registry.resolve(model, model_path, download=download)
        wanted = ["landmarks", "pose_flag", "heatmap", "world"] + (["segmentation"] if enable_segmentation else [])
        self._detector = LiteRTEngine(det_file, DETECTOR_OUTPUTS, self.num_threads)
        self._landmarker = LiteRTEngine(lm_file, LANDMARK_OUTPUTS, self.num_threads, outputs=wanted)
        self._anchors = det_stage.generate_anchors()
        self._closed = False
        self.smooth_landmarks = bool(smooth_landmarks)
        self.smooth_segmentation = bool(smooth_segmentation)
        self._init_video_state()

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

        The whole image first; then the tiles of ``detection_plan``, their detections mapped back
        to the image. With ``detection_tiles="auto"`` the levels run coarse to fine, each adding
        the people it finds that no coarser level found (``stages.multi.add_new_detections``: the
        whole image's detections stay exactly MediaPipe's), and stop once ``max_num_poses``
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
            return det_stage.weighted_nms(*multi_stage.concat_detections(parts)) if len(parts) > 1 else dets
        for level in plan:                      # "auto": coarse to fine, each level adds new people
            if len(dets) >= self.max_num_poses:
                break
            found = [multi_stage.detections_to_image(self._detect_once(
                np.ascontiguousarray(image_rgb[t[1]:t[3], t[0]:t[2]])), t, w, h) for t in level]
            dets = multi_stage.add_new_detections(dets, found)
        return dets

    def detection_plan(self, width: int, height: int) -> list[list[tuple[int, int, int, int]]]:
        """Where the detector looks besides the whole image: levels of tiles ``(x0, y0, x1, y1)``.

        ``detection_tiles="auto"`` (the default): none with ``max_num_poses=1`` (MediaPipe's
        path), else ``stages.multi.auto_tile_levels`` (square tiles at 1.5x and 2.25x the whole
        image's zoom, chosen from the image size). An int n >= 2: one level, the 2x2 ... n x n
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

    # ---- video mode ----------------------------------------------------------------------------
    def _init_video_state(self) -> None:
        self._tracker = Tracker(self.max_num_poses, self.min_tracking_confidence, self.smooth_landmarks,
                                detection_interval_s=self.detection_interval_ms / 1000.0,
                                reid_timeout_s=self.reid_timeout_ms / 1000.0)
        self._mask_smoother = sm_stage.SegmentationSmoother()
        self._last_timestamp_ms: float | None = None
        self._video_size: tuple[int, int] | None = None
        self._frame_counter = 0
        #: Counters of the current video: frames processed and frames on which the detector ran.
        self.video_stats = {"frames": 0, "detector_frames": 0}

    def reset(self) -> None:
        """Forget the tracked people, filters and last timestamp: the next frame starts a new video."""
        self._init_video_state()

    def _track(self, rgb: np.ndarray, t_s: float):
        """One tracking step: (tracked poses, whether the detector ran)."""
        tracker = self._tracker
        ran = False
        if tracker.needs_detection(t_s):
            ran = True
            h, w = rgb.shape[:2]
            dets = self.detect(rgb)
            tracker.start_tracks([self.roi_from_detection(dets, i, w, h) for i in range(len(dets))], t_s)
        estimates = self.estimate(rgb, [t.roi for t in tracker.tracks])
        return tracker.update(estimates, t_s), ran

    def process_frame(self, frame: np.ndarray, timestamp_ms: float, *, frame_index: int | None = None) -> PoseResult:
        """Landmarks of one video frame (RGB array) at ``timestamp_ms``, tracking the previous frames.

        Timestamps are the frames' real presentation times in milliseconds and must increase
        strictly from call to call (else ``TimestampError``; call ``reset()`` to start another
        video). The detector runs while nobody is tracked, and with ``max_num_poses`` > 1 also
        every ``detection_interval_ms`` while places are free; each tracked person's next region
        comes from this frame's smoothed auxiliary landmarks. Landmarks, visibility and world
        points are smoothed when ``smooth_landmarks`` is on, the mask when
        ``smooth_segmentation`` is; all filters of a person restart when the person is lost.
        ``result.ids`` are track ids, results ordered by id (a person lost and found again within
        ``reid_timeout_ms`` near the same place gets the same id back, see the class docstring);
        ``result.meta["detector"]`` says whether the detector ran on this frame.
        """
        self._check_open()
        try:
            ts = float(timestamp_ms)
        except (TypeError, ValueError):
            raise TimestampError(f"timestamp_ms must be a number of milliseconds, got {timestamp_ms!r}") from None
        if not np.isfinite(ts):
            raise TimestampError(f"timestamp_ms must be finite, got {timestamp_ms!r}")
        if self._last_timestamp_ms is not None and ts <= self._last_timestamp_ms:
            raise TimestampError(
                f"timestamp {ts:g} ms is not after the previous frame's {self._last_timestamp_ms:g} ms: "
                "video-mode timestamps must increase strictly (call reset() to start a new video)")
        rgb = self.load(frame) if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or \
            frame.ndim != 3 or frame.shape[2] != 3 else frame
        h, w = rgb.shape[:2]
        if self._video_size is not None and self._video_size != (w, h):
            log.info("frame size changed from %s to %s: tracking restarts", self._video_size, (w, h))
            self._tracker.reset()
            self._mask_smoother.reset()
        self._video_size = (w, h)
        self._last_timestamp_ms = ts
        poses, ran = self._track(rgb, ts / 1000.0)
        self.video_stats["frames"] += 1
        self.video_stats["detector_frames"] += int(ran)
        if frame_index is None:
            frame_index = self._frame_counter
        self._frame_counter = frame_index + 1
        mask = self._mask([p.estimate for p in poses], w, h)
        if mask is not None and poses and self.smooth_segmentation:
            mask = self._mask_smoother.apply(mask)
        elif not poses:
            self._mask_smoother.reset()
        return self._tracked_result(poses, rgb.shape, mask, frame_index, ts, ran)

    def _tracked_result(self, poses, shape, mask, frame_index, ts, ran) -> PoseResult:
        h, w = shape[:2]
        k = self.num_output_landmarks
        meta = {"model": self.model, "detector": ran}
        if not poses:
            return PoseResult.empty((w, h), k, mask=mask, frame_index=frame_index, timestamp_ms=ts, meta=meta)
        return PoseResult(
            landmarks=np.stack([p.smoothed.landmarks[:k] for p in poses]),
            visibility=np.stack([p.smoothed.visibility[:k] for p in poses]),
            presence=np.stack([p.estimate.presence[:k] for p in poses]),
            world=np.stack([p.smoothed.world[:k] for p in poses]),
            scores=np.array([p.estimate.score for p in poses]),
            rois=np.stack([p.estimate.roi.as_array() for p in poses]),
            ids=np.array([p.track_id for p in poses], np.int64),
            image_size=(w, h), mask=mask, frame_index=frame_index, timestamp_ms=ts, meta=meta)

    def process_video(self, source, *, offline_smoothing: bool = False, return_frames: bool = False,
                      progress=None):
        """Iterate over a video: one ``PoseResult`` per decoded frame, in order.

        ``source`` is a file path, a camera index, a stream URL or an open ``io.video.VideoReader``
        (whose ``errors`` then list the undecodable frames that were skipped: their indices are
        missing from the results). Each result carries ``frame_index`` and ``timestamp_ms`` from
        the container. Starts a new video (``reset()``) first. Decoding runs in a background
        thread, overlapping inference.

        ``offline_smoothing=True`` (files only) replaces the causal filters by the zero-lag
        forward-backward smoother (``stages.smoothing.smooth_offline``) on every tracked
        stretch: the whole file is analysed first (memory grows by about 2 KB per frame; no
        masks are kept, so it cannot be combined with ``enable_segmentation``), then results are
        yielded. If interrupted (KeyboardInterrupt) during the analysis, the frames done so far
        are smoothed and yielded, then the interrupt is raised again.

        ``return_frames=True`` yields ``(rgb_frame, result)`` pairs instead (with offline
        smoothing the file is decoded a second time for them). ``progress``, if given, is called
        with 1 after each frame is analysed (during the analysis pass with offline smoothing).
        """
        from ..io.video import VideoReader

        own = not isinstance(source, VideoReader)
        reader = VideoReader(source) if own else source
        try:
            if offline_smoothing:
                if self.enable_segmentation:
                    raise InputError("offline_smoothing keeps no segmentation masks: use a landmarker "
                                     "without enable_segmentation, or causal smoothing")
                if reader.is_stream:
                    raise InputError(f"{reader.name}: offline smoothing needs a file (it reads the video to the end)")
                yield from self._process_video_offline(reader, return_frames, progress)
                return
            self.reset()
            for fr in reader:
                res = self.process_frame(fr.image, fr.timestamp_ms, frame_index=fr.index)
                if progress is not None:
                    progress(1)
                yield (fr.image, res) if return_frames else res
        finally:
            if own:
                reader.close()

    def _process_video_offline(self, reader, return_frames: bool, progress=None):
        from ..io.video import VideoReader

        self.reset()
        saved = self.smooth_landmarks
        self._tracker.smooth_landmarks = False  # pass 1: raw landmarks (aux points still smoothed)
        frames = []   # per frame: (index, ts, [(track_id, landmarks, vis, presence, world, score, roi, scale)])
        interrupted = None
        try:
            for fr in reader:
                poses, ran = self._track(fr.image, fr.timestamp_ms / 1000.0)
                self.video_stats["frames"] += 1
                self.video_stats["detector_frames"] += int(ran)
                people = []
                for p in poses:
                    e = p.estimate
                    scale = sm_stage.object_scale(e.landmarks[33], e.landmarks[34])
                    people.append((p.track_id, e.landmarks[:33].astype(np.float32), e.visibility[:33].astype(np.float32),
                                   e.presence[:33].astype(np.float32), e.world.astype(np.float32), e.score,
                                   e.roi.as_array(), scale, ran))
                frames.append((fr.index, fr.timestamp_ms, fr.image.shape, people, ran))
                if progress is not None:
                    progress(1)
        except KeyboardInterrupt as exc:
            interrupted = exc
            log.warning("interrupted after %d frames: smoothing and returning those", len(frames))
        finally:
            self._tracker.smooth_landmarks = saved
        smoothed = self._smooth_tracks_offline(frames)
        if return_frames:
            by_index = {f[0]: i for i, f in enumerate(frames)}
            last = frames[-1][0] if frames else -1
            with VideoReader(reader.source, max_frames=last + 1, log_errors=False) as again:
                for fr in again:
                    if fr.index > last:
                        break
                    i = by_index.get(fr.index)
                    if i is not None:
                        yield fr.image, self._offline_result(frames[i], smoothed[i])
        else:
            for f, s in zip(frames, smoothed):
                yield self._offline_result(f, s)
        if interrupted is not None:
            raise interrupted

    def _smooth_tracks_offline(self, frames):
        """Per frame, per person: (landmarks, visibility, world) after zero-lag smoothing."""
        out = [[None] * len(f[3]) for f in frames]
        runs: dict[int, list[list[tuple[int, int]]]] = {}   # per id, its unbroken stretches
        for i, f in enumerate(frames):
            for j, person in enumerate(f[3]):
                stretches = runs.setdefault(person[0], [])
                if not stretches or stretches[-1][-1][0] != i - 1:  # a re-identified id restarts
                    stretches.append([])
                stretches[-1].append((i, j))
        for pos in (p for stretches in runs.values() for p in stretches):
            people = [frames[i][3][j] for i, j in pos]
            t = np.array([frames[i][1] for i, _ in pos]) / 1000.0
            lm = np.stack([p[1] for p in people]).astype(np.float64)
            vis = np.stack([p[2] for p in people]).astype(np.float64)
            wo = np.stack([p[4] for p in people]).astype(np.float64)
            if self.smooth_landmarks:
                scales = np.array([1.0 / p[7] if p[7] >= sm_stage.MIN_OBJECT_SCALE else 0.0 for p in people])
                lm = sm_stage.smooth_offline(lm, t, sm_stage.LANDMARK_FILTER, scales)
                wo = sm_stage.smooth_offline(wo, t, sm_stage.WORLD_FILTER)
                vis = sm_stage.smooth_offline_ema(vis)
            for n, (i, j) in enumerate(pos):
                out[i][j] = (lm[n], vis[n], wo[n])
        return out

    def _offline_result(self, frame, smoothed) -> PoseResult:
        index, ts, shape, people, ran = frame
        h, w = shape[:2]
        k = self.num_output_landmarks
        meta = {"model": self.model, "detector": ran, "offline_smoothing": True}
        if not people:
            return PoseResult.empty((w, h), k, frame_index=index, timestamp_ms=ts, meta=meta)
        return PoseResult(
            landmarks=np.stack([s[0][:k] for s in smoothed]), visibility=np.stack([s[1][:k] for s in smoothed]),
            presence=np.stack([p[3][:k] for p in people]), world=np.stack([s[2][:k] for s in smoothed]),
            scores=np.array([p[5] for p in people]), rois=np.stack([p[6] for p in people]),
            ids=np.array([p[0] for p in people], np.int64), image_size=(w, h), frame_index=index,
            timestamp_ms=ts, meta=meta)

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
            results.append(self._result(estimates, rgb, mask=self._mask(estimates, w, h)))
        return results
