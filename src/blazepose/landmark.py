"""The 33 BlazePose landmarks: names, order, skeleton connections and body sides.

This module is the one place that names landmarks; drawing, exporters and tests import it.
"Left" and "right" are the subject's own left and right (MediaPipe's convention).
"""
from __future__ import annotations

from enum import IntEnum


class Landmark(IntEnum):
    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_LANDMARKS = 33
#: Landmarks 0..24 form the upper-body view (head, arms, hands, hips).
NUM_UPPER_BODY_LANDMARKS = 25
#: snake_case names in index order, as used in export headers.
LANDMARK_NAMES: tuple[str, ...] = tuple(lm.name.lower() for lm in Landmark)

#: Skeleton edges (0-indexed pairs), the same set MediaPipe draws.
CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)
UPPER_BODY_CONNECTIONS: tuple[tuple[int, int], ...] = tuple(
    (a, b) for a, b in CONNECTIONS if a < NUM_UPPER_BODY_LANDMARKS and b < NUM_UPPER_BODY_LANDMARKS
)

LEFT: frozenset[int] = frozenset(lm.value for lm in Landmark if lm.name.startswith("LEFT") or lm.name == "MOUTH_LEFT")
RIGHT: frozenset[int] = frozenset(lm.value for lm in Landmark if lm.name.startswith("RIGHT") or lm.name == "MOUTH_RIGHT")
CENTER: frozenset[int] = frozenset(range(NUM_LANDMARKS)) - LEFT - RIGHT

#: COCO-17 keypoint order, and the BlazePose landmark each one comes from.
COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17_FROM_BLAZEPOSE: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


def side_of(index: int) -> str:
    """'left', 'right' or 'center' for a landmark index."""
    if index in LEFT:
        return "left"
    if index in RIGHT:
        return "right"
    return "center"
