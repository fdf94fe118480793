"""Our joint and segment angle definitions against Pose2Sim's ``points_to_angles``.

The reference numbers below were computed ONCE with ``Pose2Sim.common.points_to_angles`` from
pose2sim 0.10.49 (its wheel, ``pip download --no-deps pose2sim==0.10.49``) on the fixed points of
this file (the full model's landmarks of frame 30 of ``pose_squats.mp4``, the bottom of a squat,
rounded), using Pose2Sim's ``angle_dict`` point lists (``Neck`` = mid-shoulders, ``Hip`` =
mid-hips). Nothing of Pose2Sim is imported or reimplemented here; the test compares our numbers
with those stored values. Relations (docs/opensim.md states them too):

- knee and elbow, 3-D: the same angle (both unsigned, at the middle point): equal.
- knee and elbow, 2-D: Pose2Sim's is signed (-180, 180]; ours is unsigned: ``ours = |theirs|``.
- segments (2-D): Pose2Sim's raw ``points_to_angles([a, b])`` is ``atan2(dy, dx)`` in image
  coordinates (y down); Sports2D/Pose2Sim then multiply by -1 (``angle_dict``'s factor), which is
  our ``atan2(-dy, dx)``: ``ours = -theirs`` (pelvis and shoulders wrapped to (-90, 90]).
- hip and shoulder differ by definition: Pose2Sim measures the thigh (or arm) against the trunk
  line mid-hips → mid-shoulders; ours is the angle at the hip (shoulder) between the same side's
  shoulder (hip) and knee (elbow). Hip: ``ours ≈ 180 - theirs``; shoulder: ``ours ≈ theirs``; the
  rest is the tilt of the same-side line against the mid line: on these points (3-D) hip +0.95°
  (left) and -1.76° (right), shoulder -0.34° and -0.12°.
- ankle differs by definition: Pose2Sim's is shank against the heel → toe line (then +90 for
  dorsiflexion); ours is the angle at the ankle between knee and foot index (toe). On these points
  ours is 15.7° (left) and 16.0° (right) larger than Pose2Sim's raw angle (3-D).
"""
import numpy as np
import pytest

from blazepose.api.result import PoseResult
from blazepose.landmark import Landmark as L
from blazepose.outputs.angles import JOINT_NAMES, joint_angles
from blazepose.outputs.segments import SEGMENT_NAMES, segment_angles

PIXELS = {"LEFT_SHOULDER": [427.3, 498.6], "RIGHT_SHOULDER": [303.5, 471.2], "LEFT_ELBOW": [507.4, 570.1],
          "RIGHT_ELBOW": [340.6, 541.9], "LEFT_WRIST": [510.5, 501.2], "RIGHT_WRIST": [444.6, 474.0],
          "LEFT_INDEX": [501.8, 479.0], "RIGHT_INDEX": [466.6, 454.8], "LEFT_HIP": [333.4, 698.9],
          "RIGHT_HIP": [251.0, 684.0], "LEFT_KNEE": [407.9, 787.3], "RIGHT_KNEE": [302.8, 789.3],
          "LEFT_ANKLE": [347.1, 955.2], "RIGHT_ANKLE": [262.6, 958.3], "LEFT_HEEL": [321.2, 981.6],
          "RIGHT_HEEL": [251.7, 982.3], "LEFT_FOOT_INDEX": [395.4, 1003.7], "RIGHT_FOOT_INDEX": [293.3, 1012.7]}
WORLD = {"LEFT_SHOULDER": [0.304, -0.422, 0.01], "RIGHT_SHOULDER": [0.011, -0.458, -0.208],
         "LEFT_ELBOW": [0.431, -0.302, -0.177], "RIGHT_ELBOW": [0.13, -0.359, -0.353],
         "LEFT_WRIST": [0.42, -0.397, -0.381], "RIGHT_WRIST": [0.288, -0.442, -0.363],
         "LEFT_INDEX": [0.383, -0.445, -0.403], "RIGHT_INDEX": [0.331, -0.481, -0.372],
         "LEFT_HIP": [0.101, 0.016, 0.072], "RIGHT_HIP": [-0.101, -0.016, -0.071], "LEFT_KNEE": [0.225, 0.224, -0.186],
         "RIGHT_KNEE": [0.012, 0.154, -0.354], "LEFT_ANKLE": [0.14, 0.574, -0.115], "RIGHT_ANKLE": [-0.033, 0.535, -0.249],
         "LEFT_HEEL": [0.139, 0.621, -0.116], "RIGHT_HEEL": [-0.04, 0.584, -0.243],
         "LEFT_FOOT_INDEX": [0.23, 0.676, -0.196], "RIGHT_FOOT_INDEX": [0.015, 0.662, -0.34]}
#: Pose2Sim 0.10.49 ``points_to_angles`` on the points above (angle_dict's point lists).
P2A = {"left_knee_2d": -119.9708, "left_elbow_2d": 50.823, "left_hip_2d": -59.6369, "left_shoulder_2d": -67.7608,
       "left_ankle_2d": -86.6795, "left_foot": 16.5858, "left_shank": 109.9064, "left_thigh": 49.8771,
       "left_arm": 41.7532, "left_forearm": -87.4238, "left_hand": -111.3998, "right_knee_2d": -140.4259,
       "right_elbow_2d": 84.5485, "right_hip_2d": -45.7079, "right_shoulder_2d": -47.2024,
       "right_ankle_2d": -112.7779, "right_foot": 36.1582, "right_shank": 103.3803, "right_thigh": 63.8061,
       "right_arm": 62.3116, "right_forearm": -33.1399, "right_hand": -41.1121, "pelvis": 10.2498,
       "trunk": -70.486, "shoulders": 12.4798, "left_knee_3d": 109.7723, "left_elbow_3d": 116.0819,
       "left_hip_3d": 74.0998, "left_shoulder_3d": 83.3359, "left_ankle_3d": 96.8604, "right_knee_3d": 102.4703,
       "right_elbow_3d": 108.5075, "right_hip_3d": 80.0377, "right_shoulder_3d": 84.1156,
       "right_ankle_3d": 108.3697}


@pytest.fixture(scope="module")
def ours() -> dict[str, float]:
    lm, wd = np.zeros((1, 33, 3)), np.zeros((1, 33, 3))
    for name, xy in PIXELS.items():
        lm[0, L[name], :2] = xy
    for name, p in WORLD.items():
        wd[0, L[name]] = p
    r = PoseResult(landmarks=lm, visibility=np.ones((1, 33)), presence=np.ones((1, 33)), world=wd,
                   scores=np.ones(1), rois=np.zeros((1, 5)), ids=np.zeros(1, np.int64), image_size=(720, 1280))
    ja = joint_angles(r)
    out = {f"{j}_2d": float(ja.angles_2d[0, i]) for i, j in enumerate(JOINT_NAMES)}
    out.update({f"{j}_3d": float(ja.angles_3d[0, i]) for i, j in enumerate(JOINT_NAMES)})
    out.update({s: float(v) for s, v in zip(SEGMENT_NAMES, segment_angles(r)[0])})
    return out


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("joint", ["knee", "elbow"])
def test_knee_and_elbow_match_pose2sim(ours, side, joint):
    name = f"{side}_{joint}"
    assert ours[f"{name}_3d"] == pytest.approx(P2A[f"{name}_3d"], abs=1e-3)          # the same angle
    assert ours[f"{name}_2d"] == pytest.approx(abs(P2A[f"{name}_2d"]), abs=1e-3)     # ours is unsigned


@pytest.mark.parametrize("segment", [s for s in SEGMENT_NAMES if s != "shoulders"] + ["shoulders"])
def test_segment_angles_are_pose2sims_with_its_sign_flip(ours, segment):
    assert ours[segment] == pytest.approx(-P2A[segment], abs=1e-3)


@pytest.mark.parametrize("side", ["left", "right"])
def test_hip_and_shoulder_differ_by_the_trunk_line(ours, side):
    """Stated differences on these points (3-D): hip +0.95 / -1.76°, shoulder -0.34 / -0.12°."""
    hip_diff = ours[f"{side}_hip_3d"] - (180.0 - P2A[f"{side}_hip_3d"])
    shoulder_diff = ours[f"{side}_shoulder_3d"] - P2A[f"{side}_shoulder_3d"]
    expected = {"left": (0.95, -0.34), "right": (-1.76, -0.12)}[side]
    assert (hip_diff, shoulder_diff) == pytest.approx(expected, abs=0.01)


def test_ankle_is_another_definition(ours):
    """Ours (knee-ankle-toe) is 15.7° / 16.0° above Pose2Sim's raw shank-against-foot angle here."""
    for side, diff in (("left", 15.70), ("right", 15.97)):
        assert ours[f"{side}_ankle_3d"] - P2A[f"{side}_ankle_3d"] == pytest.approx(diff, abs=0.01)
