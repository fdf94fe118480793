"""The detect-or-track state machine of video mode (pipeline.md §4). No I/O, no models.

A ``Tracker`` holds a list of ``Track``s, each with an id, the ROI to look at in the next frame
and its own filters. Per frame, the caller (``PoseLandmarker.process_frame``):

1. asks ``tracker.needs_detection()``: true while fewer than ``max_num_poses`` people are tracked
   (with the default of one person: only when nobody is tracked, as in MediaPipe);
2. if so, runs the detector and passes the detections' ROIs to ``tracker.start_tracks`` (ROIs that
   overlap a tracked person are ignored);
3. runs the landmark model on ``[t.roi for t in tracker.tracks]`` and hands the estimates to
   ``tracker.update``, which drops the tracks whose pose flag is below ``min_tracking_confidence``
   (their filters go with them: a person found again starts fresh filters and a new id), smooths
   the others and sets their next ROI from the smoothed aux points 33/34, with the same recipe as
   from a detection (``roi_from_alignment_points``).

Coordinates are image pixels (x right, y down); times are seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .landmarks import AUX_CENTER, AUX_SCALE, NUM_BODY, PoseEstimate
from .roi import Roi, roi_from_alignment_points
from .smoothing import PoseSmoother, SmoothedPose


@dataclass
class Track:
    """One followed person: id, the ROI for the next frame, filters, frames tracked so far."""

    id: int
    roi: Roi
    smoother: PoseSmoother
    from_detection: bool = True
    frames: int = 0


@dataclass
class TrackedPose:
    """The output of one track for one frame: raw estimate and smoothed values."""

    track_id: int
    estimate: PoseEstimate
    smoothed: SmoothedPose


def _aabb(roi: Roi) -> tuple[float, float, float, float]:
    import math

    c, s = abs(math.cos(roi.rotation)), abs(math.sin(roi.rotation))
    hw = 0.5 * (roi.width * c + roi.height * s)
    hh = 0.5 * (roi.width * s + roi.height * c)
    return roi.cx - hw, roi.cy - hh, roi.cx + hw, roi.cy + hh


def roi_iou(a: Roi, b: Roi) -> float:
    """IoU of the axis-aligned boxes around two ROIs (a cheap overlap test)."""
    ax0, ay0, ax1, ay1 = _aabb(a)
    bx0, by0, bx1, by1 = _aabb(b)
    iw, ih = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Tracker:
    """Tracks for up to ``max_num_poses`` people; see the module docstring for the protocol."""

    max_num_poses: int = 1
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True
    overlap_threshold: float = 0.5
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 0

    def reset(self) -> None:
        self.tracks.clear()

    def needs_detection(self) -> bool:
        return len(self.tracks) < self.max_num_poses

    def start_tracks(self, rois: list[Roi]) -> list[Track]:
        """New tracks for detected ROIs that do not overlap a tracked person (best first)."""
        new = []
        for roi in rois:
            if len(self.tracks) >= self.max_num_poses:
                break
            if any(roi_iou(roi, t.roi) > self.overlap_threshold for t in self.tracks):
                continue
            t = Track(self.next_id, roi, PoseSmoother(self.smooth_landmarks))
            self.next_id += 1
            self.tracks.append(t)
            new.append(t)
        return new

    def update(self, estimates: list[PoseEstimate], t: float) -> list[TrackedPose]:
        """Feed one estimate per track (same order as ``tracks``); return the kept poses."""
        if len(estimates) != len(self.tracks):
            raise ValueError(f"expected {len(self.tracks)} estimates (one per track), got {len(estimates)}")
        kept, out = [], []
        for track, est in zip(self.tracks, estimates):
            if est.score < self.min_tracking_confidence:
                continue  # lost: the track and its filters are dropped
            aux = est.landmarks[[AUX_CENTER, AUX_SCALE]]
            sm = track.smoother.apply(est.landmarks[:NUM_BODY], est.visibility[:NUM_BODY], est.world,
                                      aux, t)
            track.roi = roi_from_alignment_points(sm.aux[0, :2], sm.aux[1, :2])
            track.from_detection = False
            track.frames += 1
            kept.append(track)
            out.append(TrackedPose(track.id, est, sm))
        self.tracks = kept
        return out
