"""Several people per image: OKS, duplicate removal, detection tiles, and the COCO fixtures."""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from blazepose.stages import multi
from blazepose.stages.detector import Detections, iou
from conftest import COCO, REFERENCE


def stick_figure(x0=100.0, y0=50.0, width=100.0, height=300.0) -> np.ndarray:
    """A hand-made upright pose (33, 3) in pixels inside the box x0..x0+width, y0..y0+height."""
    rng = np.random.default_rng(7)
    pts = np.zeros((33, 3))
    pts[:, 0] = x0 + rng.uniform(0, 1, 33) * width
    pts[:, 1] = y0 + np.sort(rng.uniform(0, 1, 33)) * height   # head on top, feet at the bottom
    pts[0, :2], pts[32, :2] = (x0, y0), (x0 + width, y0 + height)  # span the whole box
    return pts


# ---- object keypoint similarity, on hand-computed values -----------------------------------
def test_oks_identical_poses_is_one():
    p = stick_figure()
    assert multi.oks(p, p) == pytest.approx(1.0)


def test_oks_uniform_shift_hand_computed():
    # sigma 0.05 -> kappa 0.1; area 10000; d = 10: exp(-100 / (2 * 10000 * 0.01)) = exp(-0.5)
    p = stick_figure()
    q = p + np.array([10.0, 0.0, 0.0])
    assert multi.oks(p, q, area=10000.0, sigmas=np.full(33, 0.05)) == pytest.approx(math.exp(-0.5))


def test_oks_one_landmark_moved_uses_its_sigma():
    # only the nose (sigma 0.026, kappa 0.052) moves by d = 5.2 with area 10000:
    # exp(-27.04 / (2 * 10000 * 0.052**2)) = exp(-0.5); the 32 others match exactly
    p = stick_figure()
    q = p.copy()
    q[0, 1] += 5.2
    assert multi.oks(p, q, area=10000.0) == pytest.approx((32 + math.exp(-0.5)) / 33)


def test_oks_ignores_landmarks_not_visible_in_both():
    p = stick_figure()
    q = p.copy()
    q[15, :2] += 200.0
    vis_p, vis_q = np.ones(33), np.ones(33)
    vis_q[15] = 0.1
    assert multi.oks(p, q, vis_p, vis_q) == pytest.approx(1.0)
    assert multi.oks(p, q, vis_p, np.ones(33)) < 1.0


def test_oks_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        multi.oks(np.zeros((33, 2)), np.zeros((25, 2)))


def test_select_people_uses_landmarks_not_boxes():
    a = stick_figure()
    dup = a + np.random.default_rng(1).normal(0, 2.0, a.shape)   # same body, 2 px noise
    neighbour = stick_figure(x0=140.0)                            # a second person 40 px to the right
    far = stick_figure(x0=600.0)
    # boxes of a and neighbour overlap enough for a box NMS at 0.3 to drop the neighbour
    box = lambda p: np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])
    assert iou(box(a), box(neighbour)[None])[0] > 0.3
    keep = multi.select_people(np.stack([a, dup, neighbour, far]))
    assert keep.tolist() == [0, 2, 3]


def test_select_people_keeps_the_earlier_pose_and_handles_zero_and_one():
    a = stick_figure()
    assert multi.select_people(np.stack([a, a.copy()])).tolist() == [0]
    assert multi.select_people(np.zeros((0, 33, 3))).tolist() == []
    assert multi.select_people(a[None]).tolist() == [0]


# ---- tiles -----------------------------------------------------------------------------------
def test_tile_grid_hand_computed():
    # 640 x 425, 2 x 2, overlap 0.3: tiles ceil(320 * 1.3) = 416 by ceil(212.5 * 1.3) = 277
    assert multi.tile_grid(640, 425, 2, 0.3) == [(0, 0, 416, 277), (224, 0, 640, 277),
                                                 (0, 148, 416, 425), (224, 148, 640, 425)]
    assert multi.tile_grid(640, 425, 1) == [] and multi.tile_grid(640, 425, 0) == []
    assert len(multi.tile_pyramid(640, 425, 3)) == 4 + 9


def test_tiles_cover_the_image():
    for w, h, n in ((640, 425, 3), (1920, 1080, 4), (7, 5, 3)):
        cover = np.zeros((h, w), bool)
        for x0, y0, x1, y1 in multi.tile_grid(w, h, n):
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            cover[y0:y1, x0:x1] = True
        assert cover.all()


def test_detections_to_image_hand_computed():
    det = Detections(np.array([[0.25, 0.25, 0.75, 0.75]]), np.full((1, 4, 2), 0.5), np.array([0.9]))
    out = multi.detections_to_image(det, (100, 50, 300, 250), 400, 500)
    # tile 200 x 200 at (100, 50) of a 400 x 500 image: 0.5 -> (100 + 100) / 400, (50 + 100) / 500
    np.testing.assert_allclose(out.keypoints[0, 0], [0.5, 0.3])
    np.testing.assert_allclose(out.boxes[0], [150 / 400, 100 / 500, 250 / 400, 200 / 500])
    assert out.scores.tolist() == [0.9]


def test_options_are_validated():
    from blazepose import PoseLandmarker

    with pytest.raises(ValueError, match="detection_tiles"):
        PoseLandmarker(detection_tiles=-1)
    with pytest.raises(ValueError, match="max_num_poses"):
        PoseLandmarker(max_num_poses=0)


# ---- the pipeline --------------------------------------------------------------------------
def test_blank_image_gives_zero_people(landmarker_factory):
    pl = landmarker_factory("full", max_num_poses=10, detection_tiles=2)
    res = pl.process_image(np.zeros((480, 640, 3), np.uint8))
    assert len(res) == 0 and res.ids.shape == (0,) and res.landmarks.shape == (0, 33, 3)


def test_one_person_with_many_places_gives_one_pose_same_as_single(landmarker_factory, pose_rgb):
    one = landmarker_factory("full").process_image(pose_rgb)
    many = landmarker_factory("full", max_num_poses=10).process_image(pose_rgb)
    assert len(one) == 1 and len(many) == 1
    np.testing.assert_allclose(many.landmarks, one.landmarks, atol=1e-3)


def _coco_results(pl):
    from blazepose.apps.evaluate import load_coco

    images, anns = load_coco(COCO / "person_keypoints.json")
    out = {}
    for iid, im in images.items():
        rgb = pl.load(COCO / im["file_name"])
        out[iid] = (rgb, pl.process_image(rgb), anns.get(iid, []))
    return out


def _found(results) -> tuple[int, int]:
    from blazepose.apps.evaluate import match_people

    found = total = 0
    for _, res, anns in results.values():
        people = [a for a in anns if sum(v > 0 for v in a["keypoints"][2::3]) >= 8]
        total += len(people)
        found += len(match_people(res.coco17, people, 0.2, 0.5))
    return found, total


@pytest.mark.parametrize("max_num_poses, tiles, expected", [
    (1, "auto", 4),   # the reference's single person per image: 4 of 12 (MediaPipe legacy: 4 of 12)
    (10, 0, 4),       # the detector alone sees one person in each of these images
    (10, "auto", 11),  # the default plan for several people (whole image + 6 square tiles): 11 of 12
    (10, 3, 10),      # whole image + 2x2 + 3x3 tiles: 10 of 12
])
@pytest.mark.slow
def test_coco_fixture_people_found(landmarker_factory, max_num_poses, tiles, expected):
    """Annotated people (>= 8 labelled keypoints, 12 in all) matched one-to-one with PCK@0.2 >= 0.5."""
    pl = landmarker_factory("full", max_num_poses=max_num_poses, detection_tiles=tiles)
    results = _coco_results(pl)
    found, total = _found(results)
    assert total == 12
    assert found == expected, f"{found}/{total} people found"     # docs/people.md's figures
    for rgb, res, _ in results.values():
        assert len(res) <= max_num_poses
        assert res.ids.tolist() == list(range(len(res)))
        for i in range(len(res)):          # no two poses of one body survive
            for j in range(i):
                assert multi.oks(res.landmarks[i], res.landmarks[j], res.visibility[i],
                                 res.visibility[j]) <= multi.DEDUPE_OKS_THRESHOLD


@pytest.mark.slow
def test_coco_fixture_calls_per_image(monkeypatch):
    """docs/benchmarks.md's cost figures for the auto plan on the COCO fixtures: 7 detector calls per
    image (whole image + 6 tiles) and 16 landmark crops for the 11 people returned."""
    from blazepose import PoseLandmarker

    calls = {"crops": 0, "detector": 0}
    estimate = PoseLandmarker._estimate_crops

    def counting(self, crops):
        calls["crops"] += len(crops)
        return estimate(self, crops)

    monkeypatch.setattr(PoseLandmarker, "_estimate_crops", counting)
    photos = sorted(COCO.glob("*.jpg"))
    with PoseLandmarker("full", max_num_poses=10) as pl:
        run = pl._detector.run

        def detector(x):
            calls["detector"] += x.shape[0]
            return run(x)

        pl._detector.run = detector
        people = sum(len(pl.process_image(p)) for p in photos)
    assert (len(photos), people) == (4, 11)
    assert calls == {"crops": 16, "detector": 7 * 4}


def test_people_are_ordered_by_detection_score(landmarker_factory):
    pl = landmarker_factory("full", max_num_poses=10, detection_tiles=3)
    rgb = pl.load(COCO / "000000196141.jpg")
    res = pl.process_image(rgb)
    dets = pl.detect_people(rgb)          # best first
    h, w = rgb.shape[:2]
    det_rois = np.stack([pl.roi_from_detection(dets, i, w, h).as_array() for i in range(len(dets))])
    order = [int(np.argmin(np.abs(det_rois - r).sum(1))) for r in res.rois]
    assert len(res) >= 4 and order == sorted(order)
    assert all(np.abs(det_rois[o] - r).max() < 1e-9 for o, r in zip(order, res.rois))


def test_ids_reach_exports_and_drawing(landmarker_factory, tmp_path):
    from blazepose.outputs.draw import draw_pose
    from blazepose.outputs.export import CsvWriter, JsonWriter

    pl = landmarker_factory("full", max_num_poses=10, detection_tiles=3)
    rgb = pl.load(COCO / "000000040083.jpg")
    res = pl.process_image(rgb)
    assert len(res) == 2
    assert [p["id"] for p in res.to_dict()["people"]] == [0, 1]
    with CsvWriter(tmp_path / "r.csv") as cw:
        cw.write(res)
    with JsonWriter(tmp_path / "r.json", {"model": "full"}) as jw:
        jw.write(res)
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert sorted({r["person"] for r in rows}) == ["0", "1"] and len(rows) == 2 * 33
    assert [p["id"] for p in json.loads((tmp_path / "r.json").read_text())["frames"][0]["people"]] == [0, 1]
    auto = draw_pose(rgb, res)
    assert np.array_equal(auto, draw_pose(rgb, res, color_by_id=True))
    assert not np.array_equal(auto, draw_pose(rgb, res, color_by_id=False))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True)


@pytest.mark.slow
def test_cli_max_poses_and_detection_tiles():
    p = _cli("image", str(COCO / "000000196141.jpg"), "--max-poses", "10", "--detection-tiles", "3")
    assert p.returncode == 0, p.stderr
    people = json.loads(p.stdout)["frames"][0]["people"]
    assert len(people) >= 4 and [q["id"] for q in people] == list(range(len(people)))
    bad = _cli("image", str(REFERENCE / "pose.jpg"), "--max-poses", "0")
    assert bad.returncode == 2 and "blazepose image: error: max_num_poses must be an integer in 1..100, got 0" in bad.stderr
