"""The detect-or-track state machine of video mode (pipeline.md §4), for up to N people.
No I/O, no models.

A ``Tracker`` holds a list of ``Track``s, each with an id, the ROI to look at in the next frame
and its own filters. Per frame at time ``t`` (seconds), the caller (``VideoSession.process_frame``):

1. asks ``tracker.needs_detection(t)``. The detector runs on a frame when

   - nobody is tracked (every frame, as MediaPipe does), or
   - fewer than ``max_num_poses`` people are tracked and at least ``detection_interval_s`` has
     passed since the detector last ran (0: every such frame). With ``max_num_poses=1`` this
     never happens (one tracked person fills the only place), so the single-person default
     does no extra work. With all places taken the detector does not run: a newcomer has no
     place until a track ends, and the next search follows on the next frame.

2. if so, runs the detector (whose tiles' weak detections of a found person's body parts are
   already dropped, ``stages.multi.is_body_part``) and passes the detections' ROIs (best first) to
   ``tracker.start_tracks(rois, t)``: a ROI whose box overlaps a tracked person's ROI by more than
   ``overlap_threshold`` (IoU of the axis-aligned boxes) is that person again and is ignored; the
   others start *candidate* tracks (no id yet, fresh filters), as many as there are free places.

3. runs the landmark model on ``[t.roi for t in tracker.tracks]`` and hands the estimates to
   ``tracker.update(estimates, t)``, which:

   a. ends the tracks whose pose flag is below ``min_tracking_confidence`` (lost);
   b. removes duplicates with the still images' rule (``stages.multi.select_people``: one pose on
      the same body as another, by OKS, box containment and size); the better pose is kept under
      its own track's id (more visible landmarks; on a tie the older track, smaller id, candidates
      last) and the other track ends: a track that drifted onto someone else's body with a partial
      pose ends rather than take that person's place (it may be re-identified later);
   c. gives each remaining candidate an id: the id of a recently ended track when the match is
      unambiguous (re-identification, below), else a new one (0, 1, 2, ... in order of appearance);
   d. smooths each track's pose with its own filters and sets its next ROI from the smoothed aux
      points 33/34, with the same recipe as from a detection (``roi_from_alignment_points``).

   Tracks come out ordered by id.

Re-identification rule. When a track ends (a or b) its id, the time it was last seen and its last
body region (the ROI from its smoothed aux points: centre = body centre, size = body scale) are
remembered for ``reid_timeout_s`` (0: never). A new pose P (its region from its own aux points) is
a candidate for an ended track L when

- P's time minus L's last-seen time is at most ``reid_timeout_s``,
- P's centre is within ``REID_MAX_SHIFT`` × L's region size of L's centre, and
- the two region sizes differ by at most a factor ``REID_MAX_SCALE``.

P takes L's id when L is P's only candidate and P is L's only candidate in that frame
(unambiguous); otherwise P gets a new id. Filters always restart: a re-identified person is
smoothed afresh. Limits: the rule uses position and size only, not appearance: someone else
stepping into the place another person left, within the timeout, takes that person's id; a person
coming back elsewhere (the other side of the picture) or much nearer or farther gets a new id; two
people leaving from close places and coming back together are ambiguous and get new ids.

Coordinates are image pixels (x right, y down); times are seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .landmarks import AUX_CENTER, AUX_SCALE, NUM_BODY, PoseEstimate
from .multi import select_people
from .roi import Roi, roi_from_alignment_points
from .smoothing import PoseSmoother, SmoothedPose

#: Re-identification: the most a returning person's body centre may be from where the ended
#: track was last seen, as a fraction of that track's region size (about 1.25 × body height).
REID_MAX_SHIFT = 0.5
#: Re-identification: the largest ratio between the returning and the last-seen region sizes.
REID_MAX_SCALE = 1.5
#: Slack for comparing times (seconds), so that an interval of exactly k frames counts.
_TIME_EPS = 1e-9


@dataclass
class Track:
    """One followed person: id (None while a candidate), the ROI for the next frame, filters."""

    id: int | None
    roi: Roi
    smoother: PoseSmoother
    from_detection: bool = True
    frames: int = 0
    last_seen: float | None = None


@dataclass(frozen=True)
class EndedTrack:
    """What re-identification remembers of a track that ended: id, last-seen time and region."""

    id: int
    last_seen: float
    roi: Roi


@dataclass
class TrackedPose:
    """The output of one track for one frame: raw estimate and smoothed values."""

    track_id: int
    estimate: PoseEstimate
    smoothed: SmoothedPose


def _aabb(roi: Roi) -> tuple[float, float, float, float]:
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


def reid_candidate(ended: EndedTrack, roi: Roi, t: float, timeout: float) -> bool:
    """Whether a new pose with body region ``roi`` at time ``t`` may be the ended track (the
    time, distance and size gates of the module docstring's re-identification rule)."""
    if t - ended.last_seen > timeout + _TIME_EPS:
        return False
    size = max(ended.roi.width, 1e-6)
    if math.hypot(roi.cx - ended.roi.cx, roi.cy - ended.roi.cy) > REID_MAX_SHIFT * size:
        return False
    ratio = max(roi.width, 1e-6) / size
    return 1.0 / REID_MAX_SCALE <= ratio <= REID_MAX_SCALE


def unambiguous_matches(candidates: list[list[int]], n_ended: int) -> dict[int, int]:
    """``{new index: ended index}`` for the pairs that are each other's only candidate.

    ``candidates[i]`` lists the ended tracks new pose ``i`` may be.
    """
    count = [0] * n_ended
    for cs in candidates:
        for j in cs:
            count[j] += 1
    return {i: cs[0] for i, cs in enumerate(candidates) if len(cs) == 1 and count[cs[0]] == 1}


def _visible(est: PoseEstimate) -> int:
    """How many of a pose's body landmarks are visible (visibility >= 0.5)."""
    return int(np.sum(est.visibility[:NUM_BODY] >= 0.5))


@dataclass
class Tracker:
    """Tracks for up to ``max_num_poses`` people; see the module docstring for the protocol."""

    max_num_poses: int = 1
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True
    overlap_threshold: float = 0.5
    detection_interval_s: float = 0.25
    reid_timeout_s: float = 2.0
    tracks: list[Track] = field(default_factory=list)
    ended: list[EndedTrack] = field(default_factory=list)
    next_id: int = 0
    last_detection: float | None = None

    def reset(self) -> None:
        """Forget every track and every ended track (ids keep counting up)."""
        self.tracks.clear()
        self.ended.clear()
        self.last_detection = None

    def needs_detection(self, t: float | None = None) -> bool:
        """Whether the detector should run on the frame at time ``t`` (seconds)."""
        n = len(self.tracks)
        if n == 0:
            return True
        if n >= self.max_num_poses:
            return False
        return t is None or self.last_detection is None or \
            t - self.last_detection >= self.detection_interval_s - _TIME_EPS

    def start_tracks(self, rois: list[Roi], t: float | None = None) -> list[Track]:
        """Candidate tracks for detected ROIs (best first) that do not overlap a tracked person."""
        if t is not None:
            self.last_detection = t
        new = []
        for roi in rois:
            if len(self.tracks) >= self.max_num_poses:
                break
            if any(roi_iou(roi, tr.roi) > self.overlap_threshold for tr in self.tracks):
                continue
            tr = Track(None, roi, PoseSmoother(self.smooth_landmarks))
            self.tracks.append(tr)
            new.append(tr)
        return new

    def _end(self, track: Track) -> None:
        if track.id is not None and track.last_seen is not None and self.reid_timeout_s > 0:
            self.ended.append(EndedTrack(track.id, track.last_seen, track.roi))

    def _drop_duplicates(self, alive: list[tuple[Track, PoseEstimate]]) -> list[tuple[Track, PoseEstimate]]:
        # the better pose first (more visible landmarks), then the older track: of two tracks on
        # one body, the one that drifted onto it with a partial pose ends, the other keeps its id
        order = sorted(alive, key=lambda te: (-_visible(te[1]), te[0].id is None,
                                              te[0].id if te[0].id is not None else 0))
        keep = select_people(np.stack([e.landmarks[:NUM_BODY] for _, e in order]),
                             np.stack([e.visibility[:NUM_BODY] for _, e in order]), min_visible=0,
                             replace=False).tolist()
        for i in sorted(set(range(len(order))) - set(keep)):
            self._end(order[i][0])
        return [order[i] for i in keep]

    def _assign_ids(self, new: list[tuple[Track, PoseEstimate]], t: float) -> None:
        matches: dict[int, int] = {}
        if self.ended:
            regions = [roi_from_alignment_points(e.landmarks[AUX_CENTER, :2], e.landmarks[AUX_SCALE, :2])
                       for _, e in new]
            cands = [[j for j, en in enumerate(self.ended) if reid_candidate(en, r, t, self.reid_timeout_s)]
                     for r in regions]
            matches = unambiguous_matches(cands, len(self.ended))
        for i, (tr, _) in enumerate(new):
            if i in matches:
                tr.id = self.ended[matches[i]].id
            else:
                tr.id = self.next_id
                self.next_id += 1
        if matches:
            used = set(matches.values())
            self.ended = [en for j, en in enumerate(self.ended) if j not in used]

    def update(self, estimates: list[PoseEstimate], t: float) -> list[TrackedPose]:
        """Feed one estimate per track (same order as ``tracks``); return the kept poses by id."""
        if len(estimates) != len(self.tracks):
            raise ValueError(f"expected {len(self.tracks)} estimates (one per track), got {len(estimates)}")
        alive = []
        for track, est in zip(self.tracks, estimates):
            if est.score < self.min_tracking_confidence:
                self._end(track)          # lost: the track and its filters are dropped
            else:
                alive.append((track, est))
        if len(alive) > 1:
            alive = self._drop_duplicates(alive)
        new = [(tr, e) for tr, e in alive if tr.id is None]
        if new:
            self._assign_ids(new, t)
        if len(alive) > 1:
            alive.sort(key=lambda te: te[0].id)
        out = []
        for track, est in alive:
            aux = est.landmarks[[AUX_CENTER, AUX_SCALE]]
            sm = track.smoother.apply(est.landmarks[:NUM_BODY], est.visibility[:NUM_BODY], est.world,
                                      aux, t)
            track.roi = roi_from_alignment_points(sm.aux[0, :2], sm.aux[1, :2])
            track.from_detection = False
            track.frames += 1
            track.last_seen = t
            out.append(TrackedPose(track.id, est, sm))
        self.tracks = [tr for tr, _ in alive]
        if self.ended:
            self.ended = [en for en in self.ended if t - en.last_seen <= self.reid_timeout_s + _TIME_EPS]
        return out
