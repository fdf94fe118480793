"""Rep counting on synthetic angle signals: thresholds, hysteresis, missing frames."""
import numpy as np
import pytest

from blazepose.outputs.angles import JOINT_NAMES, JointAngles
from blazepose.outputs.reps import EXERCISES, ExerciseSpec, RepCounter, count_reps

J = len(JOINT_NAMES)


def frames(signal, vis=1.0):
    """One person whose every joint angle follows ``signal`` (None: no pose in that frame)."""
    out = []
    for i, v in enumerate(signal):
        if v is None:
            out.append(JointAngles(np.zeros((0, J)), np.zeros((0, J)), np.zeros((0, J)), np.zeros(0, np.int64), i, i * 100.0))
        else:
            a = np.full((1, J), float(v))
            out.append(JointAngles(a, a, np.full((1, J), vis), np.array([0]), i, i * 100.0))
    return out


def test_squat_counts_down_and_up_cycles():
    sig = [170, 160, 130, 100, 90, 100, 140, 165, 170, 120, 95, 150, 170]
    c = count_reps(frames(sig), "squat")
    assert c.count == 2 and c.phase == "rest"
    assert [(r.peak_frame, r.end_frame) for r in c.reps] == [(4, 7), (10, 11)]
    assert c.reps[0].peak_angle == 90 and c.reps[0].start_frame == 1 and c.reps[0].end_ms == 700.0


def test_hysteresis_ignores_jitter_around_one_threshold():
    # wobbling around the active threshold (110), half rising (145 < 150) and down again, then
    # standing: one rep, not four
    sig = [170, 108, 112, 108, 113, 107, 140, 145, 109, 160]
    c = count_reps(frames(sig), "squat")
    assert c.count == 1 and c.reps[0].peak_angle == 107
    sig = [170, 108, 112, 108, 113, 107, 140, 145, 149, 148]
    c = count_reps(frames(sig), "squat")
    assert c.count == 0 and c.phase == "active"


def test_a_clip_starting_at_the_bottom_does_not_count_half_a_rep():
    c = count_reps(frames([90, 95, 130, 170, 170]), "squat")
    assert c.count == 0 and c.phase == "rest"


def test_missing_frames_and_low_visibility_keep_the_phase():
    sig = [170, None, 90, None, None, 170]
    c = count_reps(frames(sig), "squat")
    assert c.count == 1 and np.isnan(c.signal[1])
    c = count_reps(frames([170, 90, 170], vis=0.3), "squat")
    assert c.count == 0 and c.phase is None


@pytest.mark.parametrize("exercise,cycle", [
    ("push-up", [160, 120, 85, 120, 160]),
    ("biceps-curl", [160, 100, 45, 100, 160]),
    ("jumping-jack", [15, 80, 150, 80, 15]),      # arms at the sides -> overhead -> down
])
def test_each_exercise_counts_its_cycle(exercise, cycle):
    c = count_reps(frames(cycle * 3), exercise)
    assert c.count == 3, exercise
    # a half-amplitude movement never reaches the active threshold
    half = [cycle[0], cycle[1], cycle[0]] * 3
    assert count_reps(frames(half), exercise).count == 0


def test_specs_are_checked():
    assert set(EXERCISES) == {"squat", "push-up", "biceps-curl", "jumping-jack"}
    assert RepCounter("Biceps_Curl").spec.name == "biceps-curl"
    with pytest.raises(ValueError, match="unknown exercise 'lunge'"):
        RepCounter("lunge")
    with pytest.raises(ValueError, match="unknown joints"):
        ExerciseSpec("x", ("left_wrist",), 10, 20)
    with pytest.raises(ValueError, match="must differ"):
        ExerciseSpec("x", ("left_knee",), 10, 10)


@pytest.mark.slow
def test_the_counter_checks_the_posture_its_exercise_needs(landmarker_factory):
    """The squats clip is an upright person: counted as squats (2), never as push-ups; the same
    frames turned on their side (a horizontal body) are not squats."""
    from dataclasses import replace

    from conftest import REFERENCE
    from blazepose.outputs.reps import body_posture, count_reps

    frames = list(landmarker_factory("full").process_video(REFERENCE / "pose_squats.mp4"))
    assert count_reps(frames, "squat").count == 2
    push = count_reps(frames, "push-up")
    assert push.count == 0 and push.phase is None
    assert push.posture_checked >= 60 and push.posture_wrong == push.posture_checked
    assert body_posture(frames[0]) == "upright"

    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])   # 90° in the image plane
    lying = [replace(r, world=r.world @ turn.T) for r in frames]
    assert body_posture(lying[0]) == "horizontal"
    squats_lying = count_reps(lying, "squat")
    assert squats_lying.count == 0 and squats_lying.posture_wrong == squats_lying.posture_checked > 0
