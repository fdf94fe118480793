"""Joint angles on synthetic landmarks with known angles; summaries; the angle files."""
import csv
import json
import math

import numpy as np
import pandas as pd
import pytest

from blazepose import PoseResult
from blazepose.errors import InputError
from blazepose.landmark import Landmark as L
from blazepose.outputs.angles import (ANGLES_CSV_HEADER, JOINT_NAMES, SUMMARY_CSV_HEADER, AngleSeries,
                                      AnglesWriter, angle_at, joint_angles, summarize, summary_path)


def test_angle_at_known_values():
    b = [0.0, 0.0]
    assert angle_at([1, 0], b, [1, 0]) == pytest.approx(0.0, abs=1e-12)        # folded flat
    assert angle_at([1, 0], b, [0, 1]) == pytest.approx(90.0, abs=1e-12)
    assert angle_at([1, 0], b, [-1, 0]) == pytest.approx(180.0, abs=1e-12)     # straight
    assert angle_at([2, 0], b, [1, 1]) == pytest.approx(45.0, abs=1e-12)
    assert angle_at([1, 0], b, [math.cos(1e-7), math.sin(1e-7)]) == pytest.approx(math.degrees(1e-7), rel=1e-6)
    # 3-D: (1,0,0) and (0,1,1) are 90 degrees apart; (1,1,0) and (1,0,1) 60 degrees
    assert angle_at([1, 0, 0], [0, 0, 0], [0, 1, 1]) == pytest.approx(90.0, abs=1e-12)
    assert angle_at([1, 1, 0], [0, 0, 0], [1, 0, 1]) == pytest.approx(60.0, abs=1e-12)
    # a vertex elsewhere, broadcasting over two rows
    got = angle_at([[5, 5, 6], [5, 6, 5]], [5, 5, 5], [[5, 6, 5], [5, 4, 5]])
    np.testing.assert_allclose(got, [90.0, 180.0], atol=1e-12)
    assert math.isnan(angle_at([0, 0], [0, 0], [1, 0]))                          # zero-length segment
    assert math.isnan(angle_at([np.nan, 0], [0, 0], [1, 0]))
    with pytest.raises(ValueError, match="2 or 3 coordinates"):
        angle_at([1], [0], [2])


def pose_with(points2d: dict, world: dict, k=33, vis=0.9, w=200, h=100, **kw) -> PoseResult:
    lm = np.zeros((1, k, 3))
    wd = np.zeros((1, k, 3))
    lm[0, :, 0] = np.arange(k)          # distinct points everywhere else
    wd[0, :, 0] = np.arange(k) * 0.01
    for i, p in points2d.items():
        if i < k:
            lm[0, i, :2] = p
    for i, p in world.items():
        if i < k:
            wd[0, i] = p
    v = np.full((1, k), vis)
    return PoseResult(lm, v, np.ones((1, k)), wd, [1.0], np.zeros((1, 5)), [0], (w, h), **kw)


def test_joint_angles_2d_and_3d_on_a_synthetic_pose():
    # left knee: hip above, ankle straight below -> 180 (2-D); right knee at a right angle -> 90;
    # left elbow folded back onto the shoulder -> 0.
    p2 = {L.LEFT_HIP: (100, 10), L.LEFT_KNEE: (100, 50), L.LEFT_ANKLE: (100, 90),
          L.RIGHT_HIP: (50, 10), L.RIGHT_KNEE: (50, 50), L.RIGHT_ANKLE: (90, 50),
          L.LEFT_SHOULDER: (150, 10), L.LEFT_ELBOW: (150, 40), L.LEFT_WRIST: (150, 20)}
    # 3-D: the left knee bends 90 degrees in depth (the ankle goes back in z): invisible in 2-D
    w3 = {L.LEFT_HIP: (0.1, -0.4, 0.0), L.LEFT_KNEE: (0.1, 0.0, 0.0), L.LEFT_ANKLE: (0.1, 0.0, 0.4),
          L.RIGHT_HIP: (0, 0, 0), L.RIGHT_KNEE: (0, 0.4, 0), L.RIGHT_ANKLE: (0, 0.8, 0)}
    ja = joint_angles(pose_with(p2, w3))
    a2 = dict(zip(JOINT_NAMES, ja.angles_2d[0]))
    a3 = dict(zip(JOINT_NAMES, ja.angles_3d[0]))
    assert a2["left_knee"] == pytest.approx(180.0, abs=1e-9)
    assert a2["right_knee"] == pytest.approx(90.0, abs=1e-9)
    assert a2["left_elbow"] == pytest.approx(0.0, abs=1e-9)
    assert a3["left_knee"] == pytest.approx(90.0, abs=1e-9)
    assert a3["right_knee"] == pytest.approx(180.0, abs=1e-9)


def test_2d_angles_use_pixels_not_normalized_coordinates():
    # In a 200x100 image, a 45-degree angle in pixels is not 45 degrees in normalized units.
    p2 = {L.RIGHT_HIP: (0, 0), L.RIGHT_KNEE: (100, 0), L.RIGHT_ANKLE: (200, 100)}
    ja = joint_angles(pose_with(p2, {}, w=200, h=100))
    assert ja.angles_2d[0, JOINT_NAMES.index("right_knee")] == pytest.approx(135.0, abs=1e-9)


def test_visibility_is_the_least_visible_of_the_three_points():
    r = pose_with({}, {})
    vis = np.array(r.visibility)
    vis[0, L.LEFT_ANKLE] = 0.2
    r = PoseResult(r.landmarks, vis, r.presence, r.world, r.scores, r.rois, r.ids, r.image_size)
    ja = joint_angles(r)
    assert ja.visibility[0, JOINT_NAMES.index("left_knee")] == pytest.approx(0.2)
    assert ja.visibility[0, JOINT_NAMES.index("left_ankle")] == pytest.approx(0.2)
    assert ja.visibility[0, JOINT_NAMES.index("left_hip")] == pytest.approx(0.9)
    assert np.isfinite(ja.angles_2d[0, JOINT_NAMES.index("left_knee")])    # never thresholded here


def test_upper_body_results_have_no_leg_angles_and_empty_results_no_rows():
    ja = joint_angles(pose_with({}, {}, k=25))
    for name in ("left_hip", "right_knee", "left_ankle"):
        assert np.isnan(ja.angles_2d[0, JOINT_NAMES.index(name)])
    assert np.isfinite(ja.angles_2d[0, JOINT_NAMES.index("left_elbow")])
    e = joint_angles(PoseResult.empty((10, 10)))
    assert len(e) == 0 and e.angles_2d.shape == (0, len(JOINT_NAMES))


def knee_frames():
    """Four frames: the right knee at 170, 90, (no pose), 120 degrees (2-D and 3-D alike)."""
    out = []
    for i, deg in enumerate([170.0, 90.0, None, 120.0]):
        if deg is None:
            out.append(PoseResult.empty((200, 100), frame_index=i, timestamp_ms=i * 200.0))
            continue
        t = math.radians(deg)
        ankle = (50 + 40 * math.sin(t), 50 - 40 * math.cos(t))
        p2 = {L.RIGHT_HIP: (50, 10), L.RIGHT_KNEE: (50, 50), L.RIGHT_ANKLE: ankle}
        w3 = {L.RIGHT_HIP: (0, -0.4, 0), L.RIGHT_KNEE: (0, 0, 0),
              L.RIGHT_ANKLE: (0.4 * math.sin(t), -0.4 * math.cos(t), 0)}
        out.append(pose_with(p2, w3, frame_index=i, timestamp_ms=i * 200.0))
    return out


def test_series_and_range_of_motion_summary():
    fr = knee_frames()
    s = AngleSeries.from_frames(fr)
    assert list(s.present) == [True, True, False, True]
    np.testing.assert_allclose(s.time_s, [0, 0.2, 0.4, 0.6])
    np.testing.assert_allclose(s.joint("right_knee", "2d"), [170, 90, np.nan, 120], atol=1e-9)
    np.testing.assert_allclose(s.joint("right_knee", "3d"), [170, 90, np.nan, 120], atol=1e-9)
    summ = summarize(fr)
    k = summ["people"]["0"]["right_knee"]
    assert k == {"frames": 3, "min_2d": 90.0, "max_2d": 170.0, "range_2d": 80.0,
                 "min_3d": 90.0, "max_3d": 170.0, "range_3d": 80.0}
    # below the visibility threshold nothing counts: None, not 0
    none = summarize(fr, min_visibility=0.95)["people"]["0"]["right_knee"]
    assert none["frames"] == 0 and none["min_2d"] is None and none["range_3d"] is None


def test_angles_csv_and_summary_round_trip(tmp_path):
    fr = knee_frames()
    with AnglesWriter(tmp_path / "a.csv") as w:
        for r in fr:
            w.write(r)
    df = pd.read_csv(tmp_path / "a.csv")
    assert tuple(df.columns) == ANGLES_CSV_HEADER
    assert len(df) == 3 * len(JOINT_NAMES)        # the frame without a pose has no rows
    knee = df[df.joint == "right_knee"].sort_values("frame")
    np.testing.assert_allclose(knee.angle_2d, [170, 90, 120], atol=0.005)   # 0.01-degree rounding
    np.testing.assert_allclose(knee.angle_3d, [170, 90, 120], atol=0.005)
    np.testing.assert_allclose(knee.timestamp_ms, [0, 200, 600])
    with open(summary_path(tmp_path / "a.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == SUMMARY_CSV_HEADER
    row = [r for r in rows if r["joint"] == "right_knee"][0]
    assert float(row["range_2d"]) == pytest.approx(80.0) and row["frames"] == "3"


def test_angles_json_streams_then_adds_the_summary(tmp_path):
    fr = knee_frames()
    p = tmp_path / "a.json"
    w = AnglesWriter(p)
    w.write(fr[0])
    assert len(json.loads(p.read_text())["frames"]) == 1       # valid while running
    for r in fr[1:]:
        w.write(r)
    w.close()
    doc = json.loads(p.read_text())
    assert doc["schema_version"] == 2 and doc["angles"]["joints"]["left_knee"] == ["left_hip", "left_knee", "left_ankle"]
    assert [f["frame_index"] for f in doc["frames"]] == [0, 1, 2, 3] and doc["frames"][2]["people"] == []
    got = [f["people"][0]["joints"]["right_knee"]["angle_3d"] for f in doc["frames"] if f["people"]]
    assert got == pytest.approx([170, 90, 120], abs=0.005)
    left = doc["frames"][0]["people"][0]["joints"]["left_knee"]
    assert set(left) == {"angle_2d", "angle_3d", "visibility"}
    assert doc["summary"]["people"]["0"]["right_knee"]["range_3d"] == pytest.approx(80.0)


def test_angles_file_extension_is_checked():
    with pytest.raises(InputError, match=r"angles\.txt: joint angles are written as \.csv or \.json"):
        AnglesWriter("angles.txt")
