"""The result type: validation, immutability, derived views, serialisation."""
import json

import numpy as np
import pytest

from blazepose import PoseResult


def make(n=2, k=33, w=100, h=50):
    rng = np.random.default_rng(0)
    return PoseResult(landmarks=rng.uniform(0, 50, (n, k, 3)), visibility=rng.uniform(0, 1, (n, k)),
                      presence=rng.uniform(0, 1, (n, k)), world=rng.normal(0, 0.3, (n, k, 3)),
                      scores=np.ones(n), rois=np.zeros((n, 5)), ids=np.arange(n), image_size=(w, h))


def test_shapes_are_validated_with_a_clear_message():
    r = make()
    with pytest.raises(ValueError, match=r"visibility: expected shape \(2, 33\), got \(2, 32\)"):
        PoseResult(r.landmarks, r.visibility[:, :32], r.presence, r.world, r.scores, r.rois, r.ids, (100, 50))
    with pytest.raises(ValueError, match="landmarks"):
        PoseResult(np.zeros((1, 30, 3)), np.zeros((1, 30)), np.zeros((1, 30)), np.zeros((1, 30, 3)),
                   [1], np.zeros((1, 5)), [0], (10, 10))
    with pytest.raises(ValueError, match="mask"):
        PoseResult.empty((10, 10), mask=np.zeros((9, 10)))


def test_arrays_are_read_only_and_copied():
    src = np.zeros((1, 33, 3))
    r = PoseResult(src, np.zeros((1, 33)), np.zeros((1, 33)), np.zeros((1, 33, 3)), [1], np.zeros((1, 5)), [0], (10, 10))
    src[0, 0, 0] = 5
    assert r.landmarks[0, 0, 0] == 0
    with pytest.raises(ValueError):
        r.landmarks[0, 0, 0] = 1


def test_views():
    r = make(w=100, h=50)
    np.testing.assert_allclose(r.xyn[..., 0], r.landmarks[..., 0] / 100)
    np.testing.assert_allclose(r.xyn[..., 1], r.landmarks[..., 1] / 50)
    c = r.coco17
    assert c.shape == (2, 17, 3)
    np.testing.assert_allclose(c[:, 1, :2], r.landmarks[:, 2, :2])   # left eye
    np.testing.assert_allclose(c[:, 16, 2], r.visibility[:, 28])      # right ankle
    e = PoseResult.empty((4, 3))
    assert len(e) == 0 and e.coco17.shape == (0, 17, 3)


def test_upper_body_result_has_25_points_and_nan_legs_in_coco():
    r = make(n=1, k=25)
    assert r.num_landmarks == 25
    assert np.isnan(r.coco17[0, 13:, :]).all()   # knees and ankles
    assert not np.isnan(r.coco17[0, :13, :]).any()   # head, arms, hips


def test_to_dict_rounds_and_writes_null_for_missing():
    lm = np.full((1, 33, 3), 10.123456789)
    lm[0, 5, 0] = np.nan
    r = PoseResult(lm, np.full((1, 33), 0.5), np.ones((1, 33)), np.zeros((1, 33, 3)), [0.9], np.zeros((1, 5)), [7], (20, 20))
    d = json.loads(r.to_json())
    p = d["people"][0]
    assert p["id"] == 7 and len(p["landmarks"]) == 33
    assert p["landmarks"][0]["x"] == 10.123 and p["landmarks"][0]["x_norm"] == pytest.approx(0.506173)
    assert p["landmarks"][5]["x"] is None and p["landmarks"][5]["name"] == "right_eye"
