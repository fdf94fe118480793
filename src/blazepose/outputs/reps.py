"""Counting exercise repetitions from joint angles: an example of analysis built on the API.

Each exercise follows one angle signal: the mean of the left and right joint angles (of the
sides visible enough in that frame). A repetition is **rest → active → rest**: the signal goes
past the ``active`` threshold and comes back past the ``rest`` threshold. The gap between the two
thresholds is the hysteresis, so jitter around one threshold never counts twice.

=================  ================  ========  =======  =======================================
exercise           angle             rest      active   one repetition
=================  ================  ========  =======  =======================================
``squat``          knees, 3-D        ≥ 150°    ≤ 110°   stand, knees bend below 110°, stand
``push-up``        elbows, 3-D       ≥ 150°    ≤ 100°   arms straight, bend, straight
``biceps-curl``    elbows, 3-D       ≥ 140°    ≤ 60°    arm down, curl up, down
``jumping-jack``   shoulders, 3-D    ≤ 40°     ≥ 110°   arms at the sides, overhead, down
=================  ================  ========  =======  =======================================

Each exercise also names the body **posture** it is done in: upright (hip-to-shoulder line within
45° of vertical: squats, curls, jumping jacks) or horizontal (within 30° of horizontal:
push-ups), judged on the world landmarks (metres; their y axis is the image's vertical, so this
assumes a level camera). A frame whose posture is plainly the other one does not count (it keeps
the phase), and the counter reports how many frames were checked and how many were in the wrong
posture, so an upright person's squats are never counted as push-ups. When the hips or shoulders
are not visible enough, or a ``JointAngles`` is given instead of a result, the posture cannot be
told and the frame counts as before.

Limits (say them to users): one person (the first of each frame, or one id); the thresholds are
generic defaults, not fitted to a body or a camera: pass your own ``ExerciseSpec`` for shallow
squats or a partial range of motion; 3-D angles come from the model's depth estimate, which is
less sure when the joint points at the camera; 2-D angles (``kind="2d"``) depend on the viewpoint
(a side view suits squats and push-ups, a front view jumping jacks); a repetition is counted when
it is completed (back to rest), so a clip that ends at the bottom has one repetition in progress
(``phase == "active"``), and a clip that starts at the bottom does not count its first half; frames
without a pose, or with the joints less visible than ``min_visibility``, keep the current phase;
at a low frame rate a fast repetition can skip past a threshold unseen; nothing here judges form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..api.result import PoseResult
from .angles import JOINT_NAMES, KINDS, JointAngles, joint_angles


#: Postures an exercise can need: (largest angle of the hip-to-shoulder line from vertical, or
#: smallest, in degrees) — upright within 45° of vertical, horizontal within 30° of horizontal.
POSTURES = {"upright": (0.0, 45.0), "horizontal": (60.0, 90.0)}
_SHOULDERS, _HIPS = (11, 12), (23, 24)


def body_posture(result: PoseResult, person: int = 0, min_visibility: float = 0.5) -> str | None:
    """``"upright"``, ``"horizontal"``, ``"between"``, or None when the shoulders or hips of
    ``person`` are not visible enough: the angle of the line from the hips' centre to the
    shoulders' centre (world landmarks, metres) from the vertical image axis."""
    vis = result.visibility[person]
    if min(vis[list(_SHOULDERS + _HIPS)]) < min_visibility:
        return None
    w = result.world[person]
    d = w[list(_SHOULDERS)].mean(axis=0) - w[list(_HIPS)].mean(axis=0)
    n = float(np.linalg.norm(d))
    if n == 0.0:
        return None
    tilt = math.degrees(math.acos(min(1.0, abs(float(d[1])) / n)))
    for name, (low, high) in POSTURES.items():
        if low <= tilt <= high:
            return name
    return "between"


@dataclass(frozen=True)
class ExerciseSpec:
    """An angle signal (the mean of ``joints``) and two thresholds in degrees.

    When ``active < rest`` the active phase is the signal at or below ``active`` (flexion: squats,
    push-ups, curls); when ``active > rest``, at or above it (jumping jacks).
    """

    name: str
    joints: tuple[str, ...]
    rest: float
    active: float
    kind: str = "3d"
    posture: str | None = None    # "upright" | "horizontal" | None (not checked)

    def __post_init__(self):
        bad = [j for j in self.joints if j not in JOINT_NAMES]
        if bad or not self.joints:
            raise ValueError(f"ExerciseSpec {self.name!r}: unknown joints {bad}; joints are {', '.join(JOINT_NAMES)}")
        if self.rest == self.active:
            raise ValueError(f"ExerciseSpec {self.name!r}: rest and active thresholds must differ")
        if self.kind not in KINDS:
            raise ValueError(f"ExerciseSpec {self.name!r}: kind must be '2d' or '3d', got {self.kind!r}")
        if self.posture not in (None, *POSTURES):
            raise ValueError(f"ExerciseSpec {self.name!r}: posture must be one of {', '.join(POSTURES)} or None")

    def is_active(self, angle: float) -> bool:
        return angle <= self.active if self.active < self.rest else angle >= self.active

    def is_rest(self, angle: float) -> bool:
        return angle >= self.rest if self.active < self.rest else angle <= self.rest


EXERCISES: dict[str, ExerciseSpec] = {
    "squat": ExerciseSpec("squat", ("left_knee", "right_knee"), rest=150.0, active=110.0, posture="upright"),
    "push-up": ExerciseSpec("push-up", ("left_elbow", "right_elbow"), rest=150.0, active=100.0,
                            posture="horizontal"),
    "biceps-curl": ExerciseSpec("biceps-curl", ("left_elbow", "right_elbow"), rest=140.0, active=60.0,
                                posture="upright"),
    "jumping-jack": ExerciseSpec("jumping-jack", ("left_shoulder", "right_shoulder"), rest=40.0, active=110.0,
                                 posture="upright"),
}


def exercise_spec(exercise: str | ExerciseSpec) -> ExerciseSpec:
    if isinstance(exercise, ExerciseSpec):
        return exercise
    key = exercise.lower().replace("_", "-")
    if key not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    return EXERCISES[key]


@dataclass
class Rep:
    """One completed repetition: frames where it started (left rest), bottomed out, ended."""

    start_frame: int
    peak_frame: int
    end_frame: int
    peak_angle: float
    start_ms: float | None = None
    end_ms: float | None = None


@dataclass
class RepCounter:
    """Feed frames in order (``update``); read ``count``, ``reps`` and ``phase``.

    ``phase`` is None until the signal is first seen at rest, then "rest" or "active".
    """

    exercise: str | ExerciseSpec = "squat"
    min_visibility: float = 0.5
    person: int | None = None
    spec: ExerciseSpec = field(init=False)
    phase: str | None = field(default=None, init=False)
    reps: list[Rep] = field(default_factory=list, init=False)
    signal: list[float] = field(default_factory=list, init=False)
    #: Frames whose posture could be told, and those of them in another posture than the exercise's.
    posture_checked: int = field(default=0, init=False)
    posture_wrong: int = field(default=0, init=False)

    def __post_init__(self):
        self.spec = exercise_spec(self.exercise)
        self._cols = [JOINT_NAMES.index(j) for j in self.spec.joints]
        self._n = 0
        self._start: tuple[int, float | None] | None = None
        self._peak: tuple[int, float] | None = None

    @property
    def count(self) -> int:
        return len(self.reps)

    def value(self, item: PoseResult | JointAngles, angles: JointAngles | None = None) -> float:
        """The exercise's angle signal in one frame, NaN when absent or not visible enough
        (``angles``: the frame's joint angles when already computed)."""
        ja = angles if angles is not None else (joint_angles(item) if isinstance(item, PoseResult) else item)
        if not len(ja):
            return math.nan
        i = 0
        if self.person is not None:
            hits = np.flatnonzero(ja.ids == self.person)
            if not hits.size:
                return math.nan
            i = int(hits[0])
        a = ja.angles(self.spec.kind)[i, self._cols]
        ok = (ja.visibility[i, self._cols] >= self.min_visibility) & np.isfinite(a)
        return float(a[ok].mean()) if ok.any() else math.nan

    def update(self, item: PoseResult | JointAngles, angles: JointAngles | None = None) -> bool:
        """Take the next frame (a result, so that the posture can be checked, or its joint angles);
        True when it completes a repetition."""
        frame = self._n
        self._n += 1
        fi = getattr(item, "frame_index", None)
        frame = fi if fi is not None else frame
        ts = getattr(item, "timestamp_ms", None)
        v = self.value(item, angles)
        if self.spec.posture and isinstance(item, PoseResult) and not math.isnan(v):
            i = 0 if self.person is None else int(np.flatnonzero(item.ids == self.person)[0])
            posture = body_posture(item, i, self.min_visibility)
            if posture is not None:
                self.posture_checked += 1
                if posture != self.spec.posture and posture != "between":
                    self.posture_wrong += 1
                    v = math.nan                   # plainly another exercise: this frame does not count
        self.signal.append(v)
        if math.isnan(v):
            return False
        s = self.spec
        if self.phase is None:
            if s.is_rest(v):
                self.phase = "rest"
                self._start = (frame, ts)
            return False
        if self.phase == "rest":
            if s.is_rest(v):
                self._start = (frame, ts)      # the last frame at rest before going down
            elif s.is_active(v):
                self.phase = "active"
                self._peak = (frame, v)
            return False
        # active: follow the extreme, finish when back at rest
        if self._peak is None or (v < self._peak[1] if s.active < s.rest else v > self._peak[1]):
            self._peak = (frame, v)
        if s.is_rest(v):
            start = self._start or (frame, ts)
            self.reps.append(Rep(start[0], self._peak[0], frame, self._peak[1], start[1], ts))
            self.phase = "rest"
            self._start, self._peak = (frame, ts), None
            return True
        return False


def count_reps(frames: Iterable[PoseResult | JointAngles], exercise: str | ExerciseSpec = "squat",
               **kw) -> RepCounter:
    """Run a ``RepCounter`` over a sequence of frames and return it."""
    counter = RepCounter(exercise, **kw)
    for item in frames:
        counter.update(item)
    return counter
