"""``blazepose eval`` on malformed annotation files and a folder with an unreadable image: a typed
error naming the file and what is wrong, never a traceback; one bad image does not lose the rest."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from blazepose.apps import evaluate
from blazepose.apps.cli import main
from blazepose.errors import InputError
from conftest import COCO

ANN = COCO / "person_keypoints.json"


def _good():
    return json.loads(ANN.read_text())


def _cut_keypoints(d):
    d["annotations"][0]["keypoints"] = d["annotations"][0]["keypoints"][:10]
    return d


def _text_keypoints(d):
    d["annotations"][0]["keypoints"] = "abc"
    return d


def _no_file_name(d):
    del d["images"][1]["file_name"]
    return d


@pytest.mark.parametrize("make, needle", [
    (lambda d: [1, 2, 3], "expected an object with 'images' and 'annotations' lists"),
    (lambda d: {"images": {}, "annotations": []}, "expected an object with 'images' and 'annotations' lists"),
    (_no_file_name, "images[1]: expected an object with 'id' and 'file_name'"),
    (_cut_keypoints, "annotations[0]: expected an object with 'image_id' and 'keypoints'"),
    (_text_keypoints, "annotations[0]: expected an object with 'image_id' and 'keypoints'"),
])
def test_a_malformed_annotation_file_is_one_typed_error(tmp_path, capsys, make, needle):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(make(_good())))
    with pytest.raises(ValueError, match=re.escape(needle)):
        evaluate.load_coco(bad)
    assert main(["eval", str(bad), str(COCO), "--no-ap"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: not a COCO person-keypoints file") and needle in err[0]


def test_an_unreadable_image_is_reported_and_the_others_still_count(tmp_path, capsys, landmarker_factory):
    folder = tmp_path / "coco"
    shutil.copytree(COCO, folder)
    broken = folder / "000000040083.jpg"
    broken.write_bytes(broken.read_bytes()[:5000])           # truncated JPEG
    images, anns = evaluate.load_coco(ANN)
    people_there = sum(len(evaluate.eligible(anns.get(i, []))) for i, im in images.items()
                       if im["file_name"] != broken.name)
    m = evaluate.evaluate(landmarker_factory("full", max_num_poses=10), ANN, folder, with_ap=False)
    assert m["images"] == 3 and m["missing_images"] == 0 and m["people"] == people_there
    assert len(m["unreadable_images"]) == 1 and str(broken) in m["unreadable_images"][0]
    assert "truncated" in m["unreadable_images"][0]
    assert main(["eval", str(ANN), str(folder), "--no-ap"]) == 1
    out, err = capsys.readouterr()
    assert f"people (>= 8 labelled keypoints): {people_there}" in out
    assert err.strip().splitlines() == [f"error: {m['unreadable_images'][0]}"]
    with pytest.raises(InputError, match="none of the 4 images"):   # nothing readable: still an error
        for name in ("000000000785.jpg", "000000196141.jpg", "000000197388.jpg"):
            (folder / name).write_bytes(b"")
        evaluate.evaluate(landmarker_factory("full", max_num_poses=10), ANN, folder, with_ap=False)


def test_eval_help_states_its_own_max_poses_default(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "people per image, 1..100 (default 10)" in text and "(default 1)" not in text
