"""Filters and the tracking state machine on hand-computed values (no models, no files)."""
import math

import numpy as np
import pytest

from blazepose.stages.landmarks import PoseEstimate
from blazepose.stages.roi import Roi
from blazepose.stages.smoothing import (LowPassFilter, OneEuroFilter, PoseSmoother, SegmentationSmoother,
                                        object_scale, segmentation_uncertainty, smooth_offline)
from blazepose.stages.tracking import Tracker


def test_one_euro_worked_example():
    # min_cutoff 1 Hz, beta 0, frames 0.1 s apart: alpha = 1 / (1 + (1/2π) / 0.1) = 0.385870
    f = OneEuroFilter(1.0, 0.0, 1.0)
    assert f.apply([0.0], 0.0)[0] == 0.0                       # the first value passes
    assert f.apply([1.0], 0.1)[0] == pytest.approx(0.385870, abs=1e-6)
    assert f.apply([1.0], 0.2)[0] == pytest.approx(0.385870 + 0.385870 * (1 - 0.385870), abs=1e-6)


def test_one_euro_derivative_is_scaled_and_speeds_the_filter_up():
    # beta 1, value_scale 0.5: dx = (1 - 0)·0.5·10 = 5; edx = 0.385870·5 = 1.929350;
    # cutoff = 1 + 1.929350; tau = 1/(2π·2.929350) = 0.0543312; alpha = 1/(1 + 0.543312) = 0.647958
    f = OneEuroFilter(1.0, 1.0, 1.0)
    f.apply([0.0], 0.0, 0.5)
    assert f.apply([1.0], 0.1, 0.5)[0] == pytest.approx(0.647958, abs=1e-6)


def test_one_euro_uses_real_time_steps():
    a, b = OneEuroFilter(1.0, 0.0, 1.0), OneEuroFilter(1.0, 0.0, 1.0)
    a.apply([0.0], 0.0), b.apply([0.0], 0.0)
    slow, fast = a.apply([1.0], 0.2)[0], b.apply([1.0], 0.01)[0]
    assert slow == pytest.approx(1 / (1 + (1 / (2 * math.pi)) / 0.2))
    assert fast == pytest.approx(1 / (1 + (1 / (2 * math.pi)) / 0.01))


def test_ema_and_reset():
    f = LowPassFilter(0.1)
    assert f.apply([1.0])[0] == 1.0
    assert f.apply([0.0])[0] == pytest.approx(0.9)
    f.reset()
    assert f.apply([0.0])[0] == 0.0


def test_segmentation_smoothing_trusts_confident_pixels():
    assert segmentation_uncertainty(np.array([0.5]))[0] == pytest.approx(1.0)
    assert segmentation_uncertainty(np.array([0.0, 1.0])).max() < 1e-3
    s = SegmentationSmoother()
    s.apply(np.array([[1.0, 0.0]], np.float32))
    out = s.apply(np.array([[0.5, 0.0]], np.float32))
    assert out[0, 0] == pytest.approx(0.5 + (1.0 - 0.5) * 1.0 * 0.7)   # uncertain: mostly the previous
    assert out[0, 1] == pytest.approx(0.0)


def test_pose_smoother_off_still_smooths_aux_points():
    sm = PoseSmoother(smooth_landmarks=False)
    lm, vis, wo = np.zeros((33, 3)), np.ones(33), np.zeros((33, 3))
    aux = np.array([[100.0, 200.0, 0.0], [100.0, 100.0, 0.0]])
    assert object_scale(aux[0], aux[1]) == pytest.approx(200.0)
    sm.apply(lm, vis, wo, aux, 0.0)
    out = sm.apply(lm + 10, vis, wo, aux + 10, 0.1)
    np.testing.assert_array_equal(out.landmarks, lm + 10)             # landmarks untouched
    assert 100 < out.aux[0, 0] < 110                                   # aux points filtered


def test_offline_smoother_has_no_lag_and_less_jitter():
    rng = np.random.default_rng(1)
    t = np.arange(200) / 30.0
    clean = 100 * np.sin(2 * np.pi * 0.5 * t)
    raw = clean + rng.normal(0, 2.0, t.shape)
    scales = np.full(t.shape, 1 / 300.0)
    off = smooth_offline(raw[:, None], t, value_scales=scales)[:, 0]
    causal = smooth_offline.__globals__["_one_euro_pass"](raw[:, None], t, (0.05, 80.0, 1.0), scales)[:, 0]
    acc = lambda x: np.abs(np.diff(x, 2)).mean()
    assert acc(off) < acc(causal) < acc(raw)
    d = np.gradient(clean, t)                       # x(t) ≈ clean(t − lag) ≈ clean − lag·clean'
    lag = lambda x: -float(((x - clean) * d).sum() / (d * d).sum())
    assert abs(lag(off)) < 0.002 < lag(causal)       # seconds
    # symmetric in time
    np.testing.assert_allclose(smooth_offline(raw[::-1, None], t, value_scales=scales)[::-1, 0], off, atol=1e-9)


def _estimate(score, center=(100.0, 200.0), top=(100.0, 100.0)):
    lm = np.zeros((39, 3))
    lm[33, :2], lm[34, :2] = center, top
    return PoseEstimate(lm, np.ones(39), np.ones(39), np.zeros((33, 3)), score, Roi(0, 0, 1, 1, 0))


def test_tracker_detect_track_lose_detect():
    tr = Tracker(max_num_poses=1, min_tracking_confidence=0.5)
    assert tr.needs_detection()
    (track,) = tr.start_tracks([Roi(100, 150, 300, 300, 0.0), Roi(400, 150, 300, 300, 0.0)])  # best only
    assert track.id is None and not tr.needs_detection()   # a candidate: its id comes with its pose
    (pose,) = tr.update([_estimate(0.9)], 0.0)
    assert pose.track_id == 0 == track.id
    roi = tr.tracks[0].roi                          # next ROI from aux points 33/34, same recipe as §2
    assert (roi.cx, roi.cy) == pytest.approx((100.0, 200.0))
    assert roi.width == pytest.approx(2 * 100 * 1.25) and roi.rotation == pytest.approx(0.0)
    assert tr.update([_estimate(0.2)], 0.1) == []    # pose flag below the threshold: lost
    assert tr.needs_detection() and tr.tracks == []
    (again,) = tr.start_tracks([Roi(100, 150, 300, 300, 0.0)])
    assert again is not track                         # a new track, fresh filters
    (pose,) = tr.update([_estimate(0.9)], 0.2)
    assert pose.track_id == 0                         # same place within reid_timeout_s: same id back
    with pytest.raises(ValueError):
        tr.update([], 0.3)
