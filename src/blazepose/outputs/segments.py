"""Segment angles: the orientation of a body segment in the picture, relative to the horizontal.

A segment is a vector from one landmark (or the mid-point of two) to another. Its angle is
measured **in the image plane** (x, y pixels; z is ignored), from the image's horizontal pointing
right, **counter-clockwise as seen in the picture** (the image's y axis points down, so the
angle is ``atan2(-dy, dx)``), in degrees in (-180, 180]. The pelvis and shoulder lines are
wrapped to (-90, 90] (which end is first does not matter there). These are the definitions (points,
order, sign, zero) of Pose2Sim's and Sports2D's segment angles, so numbers can be compared:

============  ================================  ==========================================
segment       vector (from → to)                0° when …; standing upright, facing the camera
============  ================================  ==========================================
foot          heel → foot index (toe)           flat, toes to the right; ±180 toes to the left
shank         knee → ankle                      horizontal; about -90 standing
thigh         hip → knee                        horizontal; about -90 standing
pelvis        right hip → left hip              level; (-90, 90]
trunk         mid-hips → mid-shoulders          horizontal; about 90 standing
shoulders     right shoulder → left shoulder    level; (-90, 90]
arm           shoulder → elbow                  horizontal; about -90 arms down
forearm       elbow → wrist                     horizontal; about -90 arms down
hand          wrist → index knuckle             horizontal; about -90 hands down
============  ================================  ==========================================

Left and right segments are separate (``left_thigh``, ``right_thigh``, …). NaN when a landmark
is missing or the two points coincide.
"""
from __future__ import annotations

import numpy as np

from ..api.result import PoseResult
from ..landmark import Landmark as L

#: name -> (from landmark(s), to landmark(s)); a pair is its mid-point.
SEGMENTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
for _side, _p in (("left", "LEFT_"), ("right", "RIGHT_")):
    def _l(name: str) -> tuple[int, ...]:
        return (int(L[_p + name]),)
    SEGMENTS.update({f"{_side}_foot": (_l("HEEL"), _l("FOOT_INDEX")), f"{_side}_shank": (_l("KNEE"), _l("ANKLE")),
                     f"{_side}_thigh": (_l("HIP"), _l("KNEE")), f"{_side}_arm": (_l("SHOULDER"), _l("ELBOW")),
                     f"{_side}_forearm": (_l("ELBOW"), _l("WRIST")), f"{_side}_hand": (_l("WRIST"), _l("INDEX"))})
SEGMENTS.update({"pelvis": ((int(L.RIGHT_HIP),), (int(L.LEFT_HIP),)),
                 "trunk": ((int(L.LEFT_HIP), int(L.RIGHT_HIP)), (int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER))),
                 "shoulders": ((int(L.RIGHT_SHOULDER),), (int(L.LEFT_SHOULDER),))})
_ORDER = ("foot", "shank", "thigh", "pelvis", "trunk", "shoulders", "arm", "forearm", "hand")
#: Segment names: foot to hand, left before right.
SEGMENT_NAMES: tuple[str, ...] = tuple(n for part in _ORDER for n in (f"left_{part}", f"right_{part}", part)
                                       if n in SEGMENTS)
#: Lines whose direction does not matter: wrapped to (-90, 90].
LINES = frozenset({"pelvis", "shoulders"})


def segment_angle(start: np.ndarray, end: np.ndarray, *, line: bool = False) -> np.ndarray:
    """The angle (degrees) of the vector ``start → end`` (image x, y pixels, y down) from the
    image's horizontal, counter-clockwise as seen: (-180, 180], or (-90, 90] when ``line``.
    Broadcasts over leading axes; NaN for a zero-length or missing segment."""
    d = np.asarray(end, np.float64)[..., :2] - np.asarray(start, np.float64)[..., :2]
    a = np.degrees(np.arctan2(-d[..., 1], d[..., 0]))
    a = np.where(a <= -180.0, a + 360.0, a)
    if line:
        a = np.where(a > 90.0, a - 180.0, np.where(a <= -90.0, a + 180.0, a))
    return np.where((d == 0).all(axis=-1), np.nan, a)


def segment_angles(result: PoseResult) -> np.ndarray:
    """(N, S) segment angles of the N people of ``result`` in ``SEGMENT_NAMES`` order (NaN where a
    landmark is missing, e.g. the legs of an upper-body result)."""
    n, k = len(result), result.num_landmarks
    out = np.full((n, len(SEGMENT_NAMES)), np.nan)
    xy = result.landmarks[..., :2]
    for j, name in enumerate(SEGMENT_NAMES):
        a, b = SEGMENTS[name]
        if max(a + b) >= k or not n:
            continue
        out[:, j] = segment_angle(xy[:, list(a)].mean(axis=1), xy[:, list(b)].mean(axis=1), line=name in LINES)
    return out
