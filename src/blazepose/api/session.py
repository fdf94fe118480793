"""``VideoSession``: the state of one video (tracker, filters, last timestamp), separate from the
engines.

A landmarker (``api.core.LandmarkerCore``, the base of ``PoseLandmarker``) holds the engines and
the stateless calls (``detect_people``, ``estimate``, ``process_image``); a session uses those
public calls and keeps everything that belongs to one video. Several sessions may share one
landmarker (its engine calls are serialised), e.g. one per camera; one session is used by one
thread at a time.

Coordinates are those of ``PoseResult``: image pixels (x right, y down), world metres; times are
the frames' presentation times in milliseconds.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterator

import numpy as np

from ..errors import InputError, TimestampError
from ..io.images import MAX_SIDE
from ..stages import smoothing as sm_stage
from ..stages.landmarks import AUX_CENTER, AUX_SCALE, NUM_BODY, PersonPose
from ..stages.offline import RawFrame, smooth_tracks
from ..stages.tracking import Tracker
from .core import LandmarkerCore
from .result import PoseResult

log = logging.getLogger(__name__)


class VideoSession:
    """Landmarks of the frames of one video, tracking people from frame to frame.

    The detector runs while nobody is tracked, and with ``max_num_poses`` > 1 also every
    ``detection_interval_ms`` while places are free; each tracked person's next region comes from
    this frame's smoothed auxiliary landmarks (``stages.tracking`` states the rules, ids and
    re-identification included). Landmarks, visibility and world points are smoothed when the
    options' ``smooth_landmarks`` is on, the mask when ``smooth_segmentation`` is.
    """

    def __init__(self, landmarker: LandmarkerCore):
        """A session on a landmarker's engines.

        Args:
            landmarker: a ``PoseLandmarker`` (its options decide tracking and smoothing).

        Raises:
            RuntimeError: the landmarker is closed.
        """
        landmarker._check_open()
        self.landmarker = landmarker
        self.options = landmarker.options
        self.reset()

    def reset(self) -> None:
        """Forget the tracked people, filters and last timestamp: the next frame starts a new video."""
        o = self.options
        self.tracker = Tracker(o.max_num_poses, o.min_tracking_confidence, o.smooth_landmarks,
                               detection_interval_s=o.detection_interval_ms / 1000.0,
                               reid_timeout_s=o.reid_timeout_ms / 1000.0)
        self._mask_smoother = sm_stage.SegmentationSmoother()
        self.last_timestamp_ms: float | None = None
        self._size: tuple[int, int] | None = None
        self._next_index = 0
        #: Frames processed in this video and frames on which the detector ran.
        self.stats = {"frames": 0, "detector_frames": 0}

    # ---- one frame ---------------------------------------------------------------------------
    def _check_time(self, timestamp_ms) -> float:
        try:
            ts = float(timestamp_ms)
        except (TypeError, ValueError):
            raise TimestampError(f"timestamp_ms must be a number of milliseconds, got {timestamp_ms!r}") from None
        if not np.isfinite(ts):
            raise TimestampError(f"timestamp_ms must be finite, got {timestamp_ms!r}")
        if self.last_timestamp_ms is not None and ts <= self.last_timestamp_ms:
            raise TimestampError(
                f"timestamp {ts:g} ms is not after the previous frame's {self.last_timestamp_ms:g} ms: "
                "video-mode timestamps must increase strictly (call reset() to start a new video)")
        return ts

    def _track(self, rgb: np.ndarray, ts: float):
        """One tracking step: (tracked poses, whether the detector ran)."""
        pl, tracker, t_s = self.landmarker, self.tracker, ts / 1000.0
        h, w = rgb.shape[:2]
        if self._size is not None and self._size != (w, h):
            log.info("frame size changed from %s to %s: tracking restarts", self._size, (w, h))
            tracker.reset()
            self._mask_smoother.reset()
        self._size = (w, h)
        self.last_timestamp_ms = ts
        ran = tracker.needs_detection(t_s)
        if ran:
            dets = pl.detect_people(rgb)
            tracker.start_tracks([pl.roi_from_detection(dets, i, w, h) for i in range(len(dets))], t_s)
        poses = tracker.update(pl.estimate(rgb, [t.roi for t in tracker.tracks]), t_s)
        self.stats["frames"] += 1
        self.stats["detector_frames"] += int(ran)
        return poses, ran

    def process_frame(self, frame: np.ndarray, timestamp_ms: float, *, frame_index: int | None = None) -> PoseResult:
        """Landmarks of one video frame (RGB array) at ``timestamp_ms``, tracking the previous frames.

        Timestamps are the frames' real presentation times in milliseconds and must increase
        strictly from call to call (else ``TimestampError``, and nothing changes). ``result.ids``
        are track ids, results ordered by id; ``result.meta["detector"]`` says whether the
        detector ran on this frame.

        Args:
            frame: an RGB image (H, W, 3) (other arrays are converted as ``process_image`` does).
            timestamp_ms: the frame's presentation time in milliseconds.
            frame_index: the index recorded in the result (default: one more than the last).

        Returns:
            A ``PoseResult`` in image pixels, with ``frame_index`` and ``timestamp_ms`` set.

        Raises:
            TimestampError: a time that is not a finite number after the previous frame's.
            InputError: a frame that is no image.
        """
        ts = self._check_time(timestamp_ms)
        rgb = frame if (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
                        and frame.shape[2] == 3 and max(frame.shape[:2]) <= MAX_SIDE) else self.landmarker.load(frame)
        poses, ran = self._track(rgb, ts)
        if frame_index is None:
            frame_index = self._next_index
        self._next_index = frame_index + 1
        h, w = rgb.shape[:2]
        mask = self.landmarker.mask_of([p.estimate for p in poses], w, h)
        if mask is not None and poses and self.options.smooth_segmentation:
            mask = self._mask_smoother.apply(mask)
        elif not poses:
            self._mask_smoother.reset()
        people = [PersonPose.of(p.estimate, p.track_id, p.smoothed) for p in poses]
        return PoseResult.from_people(people, (w, h), self.landmarker.num_output_landmarks, mask=mask,
                                      frame_index=frame_index, timestamp_ms=ts,
                                      meta={"model": self.options.model, "detector": ran})

    # ---- a whole video -----------------------------------------------------------------------
    def process_video(self, source, *, offline_smoothing: bool = False, return_frames: bool = False,
                      progress: Callable[[int], None] | None = None,
                      stop: Callable[[], bool] | None = None) -> Iterator:
        """Iterate over a video: one ``PoseResult`` per decoded frame, in order (a new video: the
        session is reset first).

        ``source`` is a file path, a camera index, a stream URL or an open ``io.video.VideoReader``
        (whose ``errors`` then list the undecodable frames that were skipped: their indices are
        missing from the results). Decoding runs in a background thread, overlapping inference.

        ``offline_smoothing=True`` (files only) replaces the causal filters by the zero-lag
        forward-backward smoother (``stages.offline``) on every tracked stretch: the whole file is
        analysed first (about 2 KB of memory per frame; no masks are kept, so it cannot be combined
        with ``enable_segmentation``), then results are yielded. Interrupted (KeyboardInterrupt)
        during the analysis, the frames done so far are smoothed and yielded, then the interrupt is
        raised again.

        ``return_frames=True`` yields ``(rgb_frame, result)`` pairs (with offline smoothing the
        file is decoded a second time for them). ``progress`` is called with 1 after each frame is
        analysed. ``stop()`` is asked after each frame is analysed (True: no more frames are read;
        with offline smoothing, the frames analysed so far are smoothed and yielded), e.g. a
        cancelled job, or Ctrl-C turned into a request (``apps.loop.stop_on_signals``).

        Args:
            source: a file path, camera index, stream URL or an open ``VideoReader``.
            offline_smoothing: zero-lag forward-backward smoothing (files only).
            return_frames: yield ``(rgb_frame, result)`` pairs.
            progress: called with 1 after each analysed frame.
            stop: asked after each analysed frame; True stops reading.

        Returns:
            An iterator of ``PoseResult`` (or of pairs), one per decoded frame.

        Raises:
            VideoReadError: the source cannot be opened.
            InputError: offline smoothing of a stream, or with ``enable_segmentation``.
        """
        from ..io.video import VideoReader

        own = not isinstance(source, VideoReader)
        reader = VideoReader(source) if own else source
        try:
            self.reset()
            if offline_smoothing:
                if self.options.enable_segmentation:
                    raise InputError("offline_smoothing keeps no segmentation masks: use a landmarker "
                                     "without enable_segmentation, or causal smoothing")
                if reader.is_stream:
                    raise InputError(f"{reader.name}: offline smoothing needs a file (it reads the video to the end)")
                yield from self._offline(reader, return_frames, progress, stop)
                return
            for fr in reader:
                res = self.process_frame(fr.image, fr.timestamp_ms, frame_index=fr.index)
                if progress is not None:
                    progress(1)
                yield (fr.image, res) if return_frames else res
                if stop is not None and stop():
                    return
        finally:
            if own:
                reader.close()

    def _offline(self, reader, return_frames: bool, progress, stop=None) -> Iterator:
        from ..io.video import VideoReader

        self.tracker.smooth_landmarks = False   # pass 1: raw landmarks (aux points still smoothed)
        frames: list[RawFrame] = []
        interrupted = None
        try:
            for fr in reader:
                poses, ran = self._track(fr.image, self._check_time(fr.timestamp_ms))
                h, w = fr.image.shape[:2]
                people = [PersonPose(p.track_id, p.estimate.landmarks[:NUM_BODY].astype(np.float32),
                                     p.estimate.visibility[:NUM_BODY].astype(np.float32),
                                     p.estimate.presence[:NUM_BODY].astype(np.float32),
                                     p.estimate.world.astype(np.float32), p.estimate.score, p.estimate.roi.as_array())
                          for p in poses]
                scales = [sm_stage.object_scale(p.estimate.landmarks[AUX_CENTER], p.estimate.landmarks[AUX_SCALE])
                          for p in poses]
                frames.append(RawFrame(fr.index, fr.timestamp_ms, (w, h), people, ran, scales))
                if progress is not None:
                    progress(1)
                if stop is not None and stop():
                    log.warning("stopped after %d frames: smoothing and returning those", len(frames))
                    break
        except KeyboardInterrupt as exc:
            interrupted = exc
            log.warning("interrupted after %d frames: smoothing and returning those", len(frames))
        finally:
            self.tracker.smooth_landmarks = self.options.smooth_landmarks
        smoothed = smooth_tracks(frames, self.options.smooth_landmarks)
        if return_frames:
            by_index = {f.index: i for i, f in enumerate(frames)}
            last = frames[-1].index if frames else -1
            with VideoReader(reader.source, max_frames=last + 1, log_errors=False) as again:
                for fr in again:
                    if fr.index > last:
                        break
                    i = by_index.get(fr.index)
                    if i is not None:
                        yield fr.image, self._offline_result(frames[i], smoothed[i])
        else:
            for f, people in zip(frames, smoothed):
                yield self._offline_result(f, people)
        if interrupted is not None:
            raise interrupted

    def _offline_result(self, frame: RawFrame, people: list[PersonPose]) -> PoseResult:
        return PoseResult.from_people(people, frame.size, self.landmarker.num_output_landmarks,
                                      frame_index=frame.index, timestamp_ms=frame.timestamp_ms,
                                      meta={"model": self.options.model, "detector": frame.detector,
                                            "offline_smoothing": True})
