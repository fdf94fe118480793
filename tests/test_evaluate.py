"""``blazepose eval``: COCO keypoint ground truth and a folder of images in, metrics out."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from blazepose.apps import evaluate
from blazepose.errors import InputError
from conftest import COCO

ANN = COCO / "person_keypoints.json"


def _parser():
    p = argparse.ArgumentParser()
    evaluate.register(p.add_subparsers())
    return p


def _run(args):
    from blazepose.apps.options_cli import options_from_args

    return args.func(args, options_from_args(args))


def test_coco_ap_of_the_ground_truth_itself_is_one():
    images, anns = evaluate.load_coco(ANN)
    dets = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
            for a in sum(anns.values(), []) if a["num_keypoints"] > 0]
    ap = evaluate.coco_ap(ANN, list(images), dets)
    assert ap["AP"] == pytest.approx(1.0) and ap["AR"] == pytest.approx(1.0)
    moved = [dict(d, keypoints=(np.asarray(d["keypoints"], float) + [40, 0, 0] * 17).tolist()) for d in dets]
    assert evaluate.coco_ap(ANN, list(images), moved)["AP"] < 0.5


@pytest.mark.parametrize("extra, found, poses, pck_found, ap", [
    ([], 11, 11, 0.866, 0.499),                           # default: max_num_poses=10, auto plan
    (["--max-poses", "1"], 4, 4, 0.790, 0.179),
    (["--detection-tiles", "3"], 10, 11, 0.808, 0.437),
])
@pytest.mark.slow
def test_eval_on_the_coco_fixtures(capsys, extra, found, poses, pck_found, ap):
    """The figures docs/people.md prints for ``blazepose eval`` on the fixtures (rounded to 0.001 there;
    0.005 allows other CPUs' last-bit float differences, not another result)."""
    args = _parser().parse_args(["eval", str(ANN), str(COCO), "--json", *extra])
    assert _run(args) == 0
    m = json.loads(capsys.readouterr().out)
    assert (m["images"], m["people"], m["missing_images"]) == (4, 12, 0)
    assert (m["found"], m["poses"]) == (found, poses)
    assert m["pck_found"] == pytest.approx(pck_found, abs=0.005)
    assert m["ap"]["AP"] == pytest.approx(ap, abs=0.005)
    assert str(m["detection_tiles"]) == ("3" if "--detection-tiles" in extra else "auto")


def test_eval_text_report_and_errors(capsys, tmp_path):
    args = _parser().parse_args(["eval", str(ANN), str(COCO), "--max-poses", "1", "--no-ap"])
    assert _run(args) == 0
    out = capsys.readouterr().out
    assert "found (PCK@0.2 >= 0.5, one-to-one): 4/12" in out and "AP" not in out
    with pytest.raises(InputError, match="no such annotation file"):
        _run(_parser().parse_args(["eval", str(tmp_path / "x.json"), str(COCO)]))
    with pytest.raises(InputError, match="none of the 4 images"):
        _run(_parser().parse_args(["eval", str(ANN), str(tmp_path)]))
    from blazepose.apps.cli import main

    assert main(["eval", str(ANN), str(COCO), "--detection-tiles", "-1"]) == 2
    assert "detection_tiles must be an integer in 0..5, got -1" in capsys.readouterr().err
