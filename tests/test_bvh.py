"""BVH export: written, read back by PyPI parsers (``bvh`` for the values, ``bvhio`` for an
independent forward kinematics), and the joints put back where the landmarks were.

Joint ↔ landmark correspondence checked (``JOINT_LANDMARKS`` / ``END_SITES`` of the module),
relative to Hips = mid-hips (23, 24): Neck = mid-shoulders (11, 12), Head = mid-ears (7, 8), Head end = nose,
Left/RightArm = shoulder (11/12), ForeArm = elbow (13/14), Hand = wrist (15/16), Hand end =
mid(pinky, index), UpLeg = hip (23/24), Leg = knee (25/26), Foot = ankle (27/28), Toe = foot
index (31/32). Positions are compared relative to the root (world landmarks are hip-centred).
"""
from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from _bvh_fk import forward_kinematics
from blazepose.api.result import PoseResult
from blazepose.errors import InputError
from blazepose.outputs.bvh import AXES, END_SITES, JOINT_LANDMARKS, BvhWriter, write_bvh
from blazepose.outputs.export import export, format_from_path
from conftest import REFERENCE, ROOT

CHECKED = [(n, idx) for n, idx in JOINT_LANDMARKS.items() if n not in ("Hips", "LeftShoulder", "RightShoulder")] + \
          [(n + "/End", idx) for n, idx in END_SITES.items() if idx is not None]


def rot_x(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def synthetic_body(t: float) -> tuple[np.ndarray, float, float]:
    """33 landmarks of a rigid body at time t (s) in MediaPipe world axes (metres, hip-centred),
    with the left elbow's and right knee's flexion angles (radians). Built y up, facing +z, then
    turned to MediaPipe's axes (x, -y, -z). The body turns about the vertical, the left elbow and
    the right knee bend sinusoidally, the trunk leans forward a little."""
    elbow = np.radians(20 + 60 * (1 - np.cos(2 * np.pi * 0.5 * t)))     # 20°..140°
    knee = np.radians(5 + 45 * (1 - np.cos(2 * np.pi * 0.4 * t)))       # 5°..95°
    yaw, lean = np.radians(40 * np.sin(2 * np.pi * 0.3 * t)), np.radians(10 * np.sin(2 * np.pi * 0.2 * t))
    p = np.zeros((33, 3))
    trunk = rot_x(lean)                      # the upper body leans about the hips' axis
    up = lambda v: trunk @ np.array(v, float)  # noqa: E731
    p[23], p[24] = [0.1, 0, 0], [-0.1, 0, 0]
    p[11], p[12] = up([0.18, 0.5, 0.02]), up([-0.18, 0.5, 0.02])
    head = {0: [0, 0.66, 0.1], 1: [0.02, 0.69, 0.09], 2: [0.035, 0.69, 0.085], 3: [0.05, 0.69, 0.08],
            4: [-0.02, 0.69, 0.09], 5: [-0.035, 0.69, 0.085], 6: [-0.05, 0.69, 0.08], 7: [0.075, 0.67, 0.0],
            8: [-0.075, 0.67, 0.0], 9: [0.025, 0.62, 0.09], 10: [-0.025, 0.62, 0.09]}
    for i, v in head.items():
        p[i] = up(v)
    for side, sgn, (sh, el, wr, pk, ix, th) in (("L", 1, (11, 13, 15, 17, 19, 21)), ("R", -1, (12, 14, 16, 18, 20, 22))):
        arm = trunk @ rot_x(0.3 if side == "R" else 0.0)     # the right arm hangs a little forward
        p[el] = p[sh] + arm @ [0, -0.29, 0]
        fore = arm @ rot_x(-elbow if side == "L" else -np.radians(15))   # flexion: forearm forward
        p[wr] = p[el] + fore @ [0, -0.25, 0]
        p[pk], p[ix], p[th] = (p[wr] + fore @ [0.03 * sgn, -0.08, -0.01], p[wr] + fore @ [0.0, -0.09, 0.03],
                               p[wr] + fore @ [-0.01 * sgn, -0.05, 0.05])
    for side, sgn, (hp, kn, an, he, fi) in (("L", 1, (23, 25, 27, 29, 31)), ("R", -1, (24, 26, 28, 30, 32))):
        thigh = rot_x(np.radians(10)) if side == "L" else np.eye(3)
        p[kn] = p[hp] + thigh @ [0, -0.44, 0]
        shin = thigh @ rot_x(knee if side == "R" else np.radians(10))  # flexion: shin backward
        p[an] = p[kn] + shin @ [0, -0.42, 0]
        p[he], p[fi] = p[an] + shin @ [0, -0.06, -0.05], p[an] + shin @ [0.01 * sgn, -0.07, 0.15]
    p = p @ rot_y(yaw).T
    return p * AXES, float(elbow), float(knee)


def synthetic_clip(n: int = 50, dt_ms: float = 40.0):
    results, angles = [], []
    for f in range(n):
        t = f * dt_ms / 1000
        world, elbow, knee = synthetic_body(t)
        cx, cy = 300 + 120 * t, 400 + 30 * np.sin(2 * np.pi * 0.5 * t)   # the hips move in the image
        px = np.column_stack([cx + 400 * world[:, 0], cy + 400 * world[:, 1], 400 * world[:, 2]])
        results.append(PoseResult(px[None], np.ones((1, 33)), np.ones((1, 33)), world[None], [0.9],
                                  [[cx, cy, 400, 400, 0]], [0], (800, 900), frame_index=f, timestamp_ms=t * 1000))
        angles.append((elbow, knee, cx, cy))
    return results, np.array(angles)


def local_rotation_angle(text: str, joint: str) -> np.ndarray:
    """The rotation angle (degrees) of a joint's local rotation in every frame, from its channels."""
    from bvh import Bvh

    from _bvh_fk import _axis_rotation

    mocap = Bvh(text)
    start = mocap.get_joint_channels_index(joint)
    chans = mocap.joint_channels(joint)
    values = np.array(mocap.frames, float)[:, start:start + len(chans)]
    r = np.tile(np.eye(3), (len(values), 1, 1))
    for ch, v in zip(chans, values.T):
        r = r @ _axis_rotation(ch[0], v)
    return np.degrees(np.arccos(np.clip((np.trace(r, axis1=1, axis2=2) - 1) / 2, -1, 1)))


def fk_errors(text: str, results: list[PoseResult]) -> dict[str, np.ndarray]:
    """Per checked joint, the distance (m) per frame between FK (relative to the root, back in
    MediaPipe axes) and the landmark (relative to the mid-hips)."""
    pos, _, _ = forward_kinematics(text)
    world = np.array([r.world[0] for r in results])
    hips = world[:, [23, 24]].mean(axis=1)
    return {name: np.linalg.norm((pos[name] - pos["Hips"]) * AXES - (world[:, list(idx)].mean(axis=1) - hips), axis=-1)
            for name, idx in CHECKED}


def test_synthetic_motion_round_trips_through_a_bvh_parser(tmp_path):
    results, truth = synthetic_clip()
    path = write_bvh(results, tmp_path / "synthetic.bvh")
    text = path.read_text()
    pos, frame_time, frames = forward_kinematics(text)
    assert frames == len(results) and frame_time == pytest.approx(0.040)
    errors = fk_errors(text, results)
    worst = max(float(e.max()) for e in errors.values())
    # A rigid body: every joint lands on its landmark; 0.1 mm allows the file's rounding.
    assert worst < 1e-4, {k: float(e.max()) for k, e in errors.items()}
    # The joint angles: the local rotations of LeftForeArm and RightLeg are the flexion angles.
    np.testing.assert_allclose(local_rotation_angle(text, "LeftForeArm"), np.degrees(truth[:, 0]), atol=0.01)
    np.testing.assert_allclose(local_rotation_angle(text, "RightLeg"), np.degrees(truth[:, 1]), atol=0.01)
    # Root: the image motion of the hips at this clip's 400 px per metre; y up, the floor at 0.
    np.testing.assert_allclose(pos["Hips"][:, 0], (truth[:, 2] - truth[0, 2]) / 400, atol=1e-5)
    np.testing.assert_allclose(pos["Hips"][:, 1] - pos["Hips"][0, 1], -(truth[:, 3] - truth[0, 3]) / 400, atol=1e-5)
    np.testing.assert_allclose(pos["Hips"][:, 2], 0.0)
    feet = np.array([r.world[0, 27:33, 1] for r in results]).max(axis=1)   # MediaPipe y is down
    lowest_foot = pos["Hips"][:, 1] - feet
    assert abs(float(np.median(lowest_foot))) < 1e-4
    # An independent forward kinematics (bvhio's) agrees with the test's.
    bvhio = pytest.importorskip("bvhio")
    root = bvhio.readAsHierarchy(str(path))
    for f in (0, 17, 49):
        root.loadPose(f)
        for joint, _, _ in root.layout():
            if joint.Name in pos:
                np.testing.assert_allclose(np.array(joint.PositionWorld), pos[joint.Name][f], atol=1e-5)


@pytest.fixture(scope="module")
def squats():
    from blazepose import PoseLandmarker

    with PoseLandmarker("full") as landmarker:
        return list(landmarker.process_video(REFERENCE / "pose_squats.mp4"))


@pytest.mark.slow
def test_squats_clip_bvh_matches_the_world_landmarks(squats, tmp_path, capsys):
    (path,) = export(squats, tmp_path / "squats.bvh")
    text = path.read_text()
    pos, frame_time, frames = forward_kinematics(text)
    assert frames == 65 and frame_time == pytest.approx(0.2)         # the clip is 5 fps
    errors = fk_errors(text, squats)
    everything = np.concatenate(list(errors.values()))
    with capsys.disabled():
        print(f"\nsquats BVH vs world landmarks: median {np.median(everything) * 100:.2f} cm, "
              f"max {everything.max() * 100:.2f} cm; per joint median/max cm: "
              + ", ".join(f"{k} {np.median(e) * 100:.1f}/{e.max() * 100:.1f}" for k, e in errors.items()))
    # The figures docs/bvh_3d_notebook.md states (measured 1.34 cm, 11.33 cm).
    assert np.median(everything) < 0.015
    assert everything.max() < 0.12
    # The squats move the root: the hips go down by more than 20 cm between standing and the bottom.
    assert np.ptp(pos["Hips"][:, 1]) > 0.2


def test_writer_sink_people_skips_and_names(tmp_path, caplog):
    results, _ = synthetic_clip(6)
    two = []
    for r in results:   # a second person (id 3), shifted in the image, in frames 2..5 only
        if r.frame_index < 2:
            two.append(r)
            continue
        lm = np.concatenate([r.landmarks, r.landmarks + [200, 0, 0]])
        two.append(PoseResult(lm, np.ones((2, 33)), np.ones((2, 33)), np.concatenate([r.world, r.world]), [0.9, 0.8],
                              np.concatenate([r.rois, r.rois]), [0, 3], r.image_size, frame_index=r.frame_index,
                              timestamp_ms=r.timestamp_ms))
    with BvhWriter(tmp_path / "clip.bvh") as sink:
        for r in two[:3]:
            sink.write(r, frame=None)
        sink.skip(3, 120.0, "unreadable")
        for r in two[4:]:
            sink.write(r)
    assert sink.paths == [tmp_path / "clip.id0.bvh", tmp_path / "clip.id3.bvh"]
    pos0, _, n0 = forward_kinematics(sink.paths[0].read_text())
    pos3, _, n3 = forward_kinematics(sink.paths[1].read_text())
    assert n0 == n3 == 6
    # id 3 holds its first pose before it appears; the skipped frame holds the previous pose.
    np.testing.assert_allclose(pos3["LeftHand"][0], pos3["LeftHand"][2])
    np.testing.assert_allclose(pos0["LeftHand"][3], pos0["LeftHand"][2])
    assert not np.allclose(pos0["LeftHand"][4], pos0["LeftHand"][3])
    # write_bvh: the id in the most frames by default, or the one asked for.
    a = forward_kinematics(write_bvh(two, tmp_path / "a.bvh").read_text())[0]
    b = forward_kinematics(write_bvh(two, tmp_path / "b.bvh", person_id=3).read_text())[0]
    np.testing.assert_allclose(a["Hips"][5, 0] - a["Hips"][2, 0], b["Hips"][5, 0] - b["Hips"][2, 0], atol=1e-5)
    assert not np.allclose(a["Hips"][:2], b["Hips"][:2])   # id 3 holds frame 2's pose in frames 0-1
    # Nobody: an error naming the file for write_bvh; a warning and no file for the sink.
    empty = [PoseResult.empty((100, 100), timestamp_ms=0.0)]
    with pytest.raises(InputError, match="nobody.bvh: nobody"):
        write_bvh(empty, tmp_path / "nobody.bvh")
    with caplog.at_level(logging.WARNING), BvhWriter(tmp_path / "none.bvh") as sink:
        sink.write(empty[0])
    assert sink.paths == [] and not (tmp_path / "none.bvh").exists() and "nobody" in caplog.text
    assert format_from_path("x.BVH") == "bvh"


DOC = ROOT / "docs" / "bvh_3d_notebook.md"


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S))))
def test_the_docs_python_blocks_run(index, monkeypatch, tmp_path):
    """docs/bvh_3d_notebook.md's examples run and write their files (tests/test_readme.py runs the other pages' blocks)."""
    monkeypatch.chdir(ROOT)
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[index].replace('"out/', f'"{tmp_path}/')
    exec(compile(code, f"{DOC.name} python block {index}", "exec"), {"__name__": "__doc__"})
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written and all((tmp_path / n).stat().st_size > 1000 for n in written), written
