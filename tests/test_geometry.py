"""Pure geometry of the pipeline on hand-computed values."""
import math

import numpy as np
import pytest

from blazepose.stages import detector as D
from blazepose.stages import landmarks as L
from blazepose.stages.roi import (Roi, image_from_crop_matrix, image_from_roi_points, normalize_radians,
                                  roi_from_alignment_points, rotate_world)


def test_anchor_count_and_layout():
    a = D.generate_anchors()
    assert a.shape == (2254, 2)
    # stride 8: 28x28 cells, 2 anchors each; first cell centre (0.5/28, 0.5/28)
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])
    # stride 16 block starts after 28*28*2 = 1568 anchors
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])
    # merged stride-32 layers: 7x7 cells with 6 anchors each, last one at the bottom-right
    np.testing.assert_allclose(a[1568 + 392], [0.5 / 7, 0.5 / 7])
    np.testing.assert_allclose(a[1568 + 392:1568 + 392 + 6], np.repeat([[0.5 / 7, 0.5 / 7]], 6, 0))
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_decode_hand_computed():
    anchors = np.array([[0.5, 0.25]], np.float32)
    raw = np.zeros((1, 12), np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]   # dx = +0.1, dy = -0.05, w = 0.2, h = 0.1
    raw[0, 4:6] = [0.0, 22.4]                # kp0 = anchor + (0, 0.1)
    boxes, kps, scores = D.decode(raw, np.array([[0.0]]), anchors, min_score=0.4)
    np.testing.assert_allclose(boxes[0], [0.5, 0.15, 0.7, 0.25], atol=1e-6)
    np.testing.assert_allclose(kps[0, 0], [0.5, 0.35], atol=1e-6)
    np.testing.assert_allclose(scores, [0.5])
    # below threshold: dropped; huge logits are clipped, not overflowed
    _, _, s = D.decode(raw, np.array([[-1.0]]), anchors, min_score=0.5)
    assert s.size == 0
    _, _, s = D.decode(raw, np.array([[1e6]]), anchors, min_score=0.5)
    np.testing.assert_allclose(s, [1.0])


def test_weighted_nms_averages_cluster_and_keeps_top_score():
    boxes = np.array([[0, 0, 1, 1], [0.1, 0, 1.1, 1], [5, 5, 6, 6]], float)
    kps = np.zeros((3, 4, 2))
    kps[0, 0] = [0, 0]
    kps[1, 0] = [1, 1]
    kps[2, 0] = [9, 9]
    scores = np.array([0.9, 0.6, 0.7])
    d = D.weighted_nms(boxes, kps, scores, iou_threshold=0.3)
    assert len(d) == 2
    np.testing.assert_allclose(d.scores, [0.9, 0.7])
    # (0.9*0 + 0.6*0.1) / 1.5 = 0.04
    np.testing.assert_allclose(d.boxes[0], [0.04, 0, 1.04, 1])
    np.testing.assert_allclose(d.keypoints[0, 0], [0.4, 0.4])
    np.testing.assert_allclose(d.boxes[1], [5, 5, 6, 6])


def test_letterbox_geometry_and_removal():
    img = np.full((100, 200, 3), 255, np.uint8)   # wide: padding top and bottom
    t, lb = D.detector_input(img)
    assert t.shape == (1, 224, 224, 3)
    assert lb.left == pytest.approx(0) and lb.width == pytest.approx(1)
    assert lb.top == pytest.approx(0.25) and lb.height == pytest.approx(0.5)
    assert t[0, 10, 112, 0] == -1.0 and t[0, 112, 112, 0] == pytest.approx(1.0)
    det = D.Detections(np.array([[0.25, 0.25, 0.75, 0.75]]), np.full((1, 4, 2), 0.5), np.array([0.9]))
    back = D.remove_letterbox(det, lb)
    np.testing.assert_allclose(back.boxes[0], [0.25, 0.0, 0.75, 1.0], atol=1e-12)
    np.testing.assert_allclose(back.keypoints[0, 0], [0.5, 0.5])


def test_roi_from_points_upright_and_sideways():
    # body upright: the scale point straight above the centre -> rotation 0
    r = roi_from_alignment_points((100, 200), (100, 150))
    assert (r.cx, r.cy) == (100, 200)
    assert r.width == r.height == pytest.approx(2 * 50 * 1.25)
    assert r.rotation == pytest.approx(0.0)
    # scale point to the right of the centre -> the body points right: rotated +90 deg (clockwise)
    r = roi_from_alignment_points((0, 0), (10, 0), expand=1.0)
    assert r.rotation == pytest.approx(math.pi / 2) and r.width == pytest.approx(20)
    assert normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2)


def test_crop_matrix_maps_corners_and_projection_inverts_it():
    roi = Roi(50.0, 40.0, 20.0, 20.0, math.pi / 2)
    m = image_from_crop_matrix(roi, 256)
    corner = m @ np.array([0, 0, 1.0])   # crop top-left -> ROI top-left, rotated 90 deg clockwise
    np.testing.assert_allclose(corner, [60, 30], atol=1e-9)
    centre = m @ np.array([128, 128, 1.0])
    np.testing.assert_allclose(centre, [50, 40], atol=1e-9)
    pts = np.array([[0.0, 0.0, 0.1], [0.5, 0.5, 0.0], [1.0, 0.25, -0.2]])
    img = image_from_roi_points(pts, roi)
    crop_px = np.c_[pts[:, :2] * 256, np.ones(3)]
    np.testing.assert_allclose(img[:, :2], (m @ crop_px.T).T, atol=1e-9)
    np.testing.assert_allclose(img[:, 2], pts[:, 2] * 20)
    w = rotate_world(np.array([[1.0, 0, 0.5]]), math.pi / 2)
    np.testing.assert_allclose(w, [[0, 1, 0.5]], atol=1e-12)


def test_heatmap_refinement():
    hm = np.full((64, 64, 2), -20.0, np.float32)
    # landmark 0: confident blob centred between columns 20 and 21, row 10
    hm[10, 20, 0] = hm[10, 21, 0] = 5.0
    # landmark 1: nothing confident -> unchanged
    xy = np.array([[20.5 / 64, 10.2 / 64], [0.3, 0.3]])
    out = L.refine_with_heatmap(xy, hm)
    np.testing.assert_allclose(out[0], [20.5 / 64, 10 / 64], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.3, 0.3])
    # outside the heatmap: left as is
    np.testing.assert_allclose(L.refine_with_heatmap(np.array([[-0.5, 0.2]]), hm[..., :1]), [[-0.5, 0.2]])


def test_decode_landmarks_scales_and_sigmoids():
    raw = np.zeros(39 * 5, np.float32)
    raw[:5] = [128, 64, 25.6, 0.0, 100.0]
    lm = L.decode_landmarks(raw)
    np.testing.assert_allclose(lm[0], [0.5, 0.25, 0.1, 0.5, 1.0])
