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


@pytest.mark.slow
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


# ---- issue 22, item 5: the malformed files an attack tried, and the arguments --------------------
def _set(path, value):
    """A maker that sets d[path[0]][path[1]]...[path[-1]] = value (``del`` for the _DEL value)."""
    def make(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        if value is _DEL:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return d
    return make


_DEL = object()


def _no_torso_no_box(d):
    a = d["annotations"][0]
    for k in (5, 6, 11, 12):
        a["keypoints"][3 * k + 2] = 0
    del a["bbox"]
    return d


@pytest.mark.parametrize("make, needle", [
    (_set(["images", 0, "id"], [1, 2]), "images[0]: expected an object with 'id' and 'file_name'"),
    (_set(["annotations", 0, "image_id"], {"a": 1}), "annotations[0]: expected an object with 'image_id'"),
    (_no_torso_no_box, "annotations[0]: no torso keypoints (a shoulder and the opposite hip) and no 'bbox'"),
    (_set(["annotations", 0, "bbox"], "12 34 56 78"), "annotations[0]: 'bbox' must be [x, y, width, height]"),
    (_set(["annotations", 0, "bbox"], [1, 2, -3, 4]), "annotations[0]: 'bbox' must be [x, y, width, height]"),
    (_set(["annotations", 1, "category_id"], _DEL), "annotations[1]: COCO AP needs 'category_id'"),
    (_set(["annotations", 2, "area"], _DEL), "annotations[2]: COCO AP needs 'area'"),
    (_set(["annotations", 0, "iscrowd"], "no"), "annotations[0]: COCO AP needs 'iscrowd' (0 or 1)"),
    (_set(["categories"], _DEL), "COCO AP needs a 'categories' list"),
    (_set(["categories", 0, "id"], 7), "COCO AP needs the person category (id 1)"),
    (_set(["annotations", 0, "keypoints", 0], float("nan")), "annotations[0]: expected an object with 'image_id'"),
    (_set(["annotations", 0, "keypoints", 0], 10 ** 400), "annotations[0]: expected an object with 'image_id'"),
    (_set(["images", 1, "file_name"], "/etc/hostname"), "images[1]: file_name '/etc/hostname' is not a name inside"),
    (_set(["images", 1, "file_name"], "../../etc/hostname"), "images[1]: file_name '../../etc/hostname' is not"),
    (_set(["images", 1, "file_name"], "sub/..\\..\\x.jpg"), "is not a name inside the images folder"),
    (lambda d: "[" * 200_000, "nested too deeply"),
    (lambda d: b"\xff\xfe{", "not UTF-8 text"),
    (lambda d: '{"images": [', "not JSON"),
])
def test_each_malformed_file_is_one_line_and_exit_1(tmp_path, capsys, make, needle):
    bad = tmp_path / "bad.json"
    doc = make(_good())
    if isinstance(doc, bytes):
        bad.write_bytes(doc)
    else:
        bad.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    assert main(["eval", str(bad), str(COCO)]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith(f"error: {bad}: not a COCO person-keypoints file") and needle in lines[0], lines[0]


def test_ap_fields_are_not_needed_without_ap(tmp_path):
    d = _set(["categories"], _DEL)(_set(["annotations", 2, "area"], _DEL)(_good()))
    bad = tmp_path / "no_ap.json"
    bad.write_text(json.dumps(d))
    assert len(evaluate.read_inputs(bad, COCO, with_ap=False)["annotations"]) == len(d["annotations"])


@pytest.mark.parametrize("flag, value", [("--alpha", "-1"), ("--alpha", "nan"), ("--alpha", "0"),
                                         ("--alpha", "inf"), ("--alpha", "x"), ("--min-labelled", "18"),
                                         ("--min-labelled", "0")])
def test_bad_alpha_and_min_labelled_are_usage_errors(capsys, flag, value):
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(ANN), str(COCO), flag, value])
    assert exc.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


def test_json_report_with_nobody_to_average_is_valid_json(tmp_path, capsys):
    """No eligible person (all crowds): the averages are null, not NaN, and the text says n/a."""
    d = _good()
    for a in d["annotations"]:
        a["iscrowd"] = 1
    crowd = tmp_path / "crowd.json"
    crowd.write_text(json.dumps(d))
    assert main(["eval", str(crowd), str(COCO), "--json", "--max-poses", "1"]) == 0
    m = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert m["people"] == 0 and m["pck_found"] is None and m["pck_all"] is None
    assert m["images"] == 4 and m["poses"] == 4
    assert main(["eval", str(crowd), str(COCO), "--no-ap", "--max-poses", "1"]) == 0
    assert "of found people: n/a; over all people (0 if not found): n/a" in capsys.readouterr().out
