"""Exporters: what they write reads back to the same numbers within the documented rounding."""
import csv
import json

import numpy as np
import pandas as pd
import pytest

from blazepose import PoseResult
from blazepose.api.result import ROUNDING
from blazepose.errors import InputError
from blazepose.landmark import COCO17_FROM_BLAZEPOSE, LANDMARK_NAMES
from blazepose.outputs.export import (CSV_HEADER, CsvWriter, JsonWriter, NpzWriter, coco_results, export,
                                      format_from_path, header)

# Half a unit of the last kept decimal, plus float slack: the documented rounding error bound.
TOL = {k: 0.5 * 10 ** -d + 1e-9 for k, d in ROUNDING.items()}


def person_result(n=2, k=33, w=640, h=480, frame=None, ts=None, seed=0):
    rng = np.random.default_rng(seed)
    return PoseResult(landmarks=np.stack([rng.uniform(0, w, (n, k)), rng.uniform(0, h, (n, k)),
                                          rng.normal(0, 50, (n, k))], axis=-1),
                      visibility=rng.uniform(0, 1, (n, k)), presence=rng.uniform(0, 1, (n, k)),
                      world=rng.normal(0, 0.4, (n, k, 3)), scores=rng.uniform(0.5, 1, n),
                      rois=np.column_stack([rng.uniform(0, w, (n, 4)), rng.uniform(-3, 3, n)]),
                      ids=np.arange(n) + 3, image_size=(w, h), frame_index=frame, timestamp_ms=ts)


def frames():
    """Three frames: two people, nobody, one person with a missing (NaN) landmark."""
    a = person_result(2, frame=0, ts=0.0, seed=1)
    b = PoseResult.empty((640, 480), frame_index=1, timestamp_ms=33.367)
    c = person_result(1, frame=2, ts=66.733, seed=2)
    lm = np.array(c.landmarks)
    lm[0, 5] = np.nan
    c = PoseResult(lm, c.visibility, c.presence, c.world, c.scores, c.rois, c.ids, c.image_size,
                   frame_index=2, timestamp_ms=66.733)
    return [a, b, c]


def test_json_round_trip_within_rounding(tmp_path):
    fr = frames()
    (path,) = export(fr, tmp_path / "poses.json", model="full")
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == 2 and doc["model"] == "full" and "blazepose_version" in doc
    assert doc["coordinates"]["x"].startswith("pixels")
    assert [f["frame_index"] for f in doc["frames"]] == [0, 1, 2]
    assert doc["frames"][1]["people"] == []
    for r, f in zip(fr, doc["frames"]):
        assert (f["image_width"], f["image_height"]) == r.image_size
        for i, person in enumerate(f["people"]):
            assert person["id"] == r.ids[i]
            assert abs(person["score"] - r.scores[i]) <= TOL["prob"]
            for j, lm in enumerate(person["landmarks"]):
                assert lm["name"] == LANDMARK_NAMES[j]
                x, y, z = r.landmarks[i, j]
                if np.isnan(x):
                    assert lm["x"] is None and lm["x_norm"] is None   # missing: null, never 0
                    continue
                assert abs(lm["x"] - x) <= TOL["px"] and abs(lm["y"] - y) <= TOL["px"]
                assert abs(lm["z"] - z) <= TOL["z"]
                assert abs(lm["x_norm"] - x / 640) <= TOL["norm"] and abs(lm["y_norm"] - y / 480) <= TOL["norm"]
                assert abs(lm["visibility"] - r.visibility[i, j]) <= TOL["prob"]
                assert abs(lm["presence"] - r.presence[i, j]) <= TOL["prob"]
                for axis, v in zip("xyz", r.world[i, j]):
                    assert abs(lm[f"world_{axis}"] - v) <= TOL["world"]


def test_csv_round_trip_with_pandas_and_missing_values_empty(tmp_path):
    fr = frames()
    export(fr, tmp_path / "poses.csv")
    df = pd.read_csv(tmp_path / "poses.csv")
    assert tuple(df.columns) == CSV_HEADER
    assert len(df) == (2 + 0 + 1) * 33
    for r in fr:
        for i in range(len(r)):
            rows = df[(df.frame == r.frame_index) & (df.person == r.ids[i])].sort_values("landmark")
            assert list(rows.landmark_name) == list(LANDMARK_NAMES)
            np.testing.assert_allclose(rows[["x", "y"]].to_numpy(), r.landmarks[i, :, :2], atol=TOL["px"])
            np.testing.assert_allclose(rows["z"].to_numpy(), r.landmarks[i, :, 2], atol=TOL["z"])
            np.testing.assert_allclose(rows["visibility"].to_numpy(), r.visibility[i], atol=TOL["prob"])
            np.testing.assert_allclose(rows[["world_x", "world_y", "world_z"]].to_numpy(), r.world[i],
                                       atol=TOL["world"])
            np.testing.assert_allclose(rows["timestamp_ms"].to_numpy(), r.timestamp_ms, atol=5e-4)
    # the NaN landmark is an empty cell, not 0
    with open(tmp_path / "poses.csv", newline="") as f:
        row = [r for r in csv.DictReader(f) if r["frame"] == "2" and r["landmark"] == "5"][0]
    assert row["x"] == row["y"] == row["z"] == ""
    assert row["visibility"] != ""


@pytest.mark.parametrize("people", [0, 1, 2])
def test_csv_header_is_fixed_whatever_the_content(tmp_path, people):
    r = person_result(people, frame=0) if people else PoseResult.empty((10, 10), frame_index=0)
    with CsvWriter(tmp_path / "a.csv") as w:
        w.write(r)
    with open(tmp_path / "a.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 1 + 33 * people
    assert {row[2] for row in rows[1:]} == {str(i + 3) for i in range(people)}


def test_npz_round_trip_is_exact_with_nan_padding(tmp_path):
    fr = frames()
    export(fr, tmp_path / "poses.npz", model="lite")
    with np.load(tmp_path / "poses.npz", allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    assert d["landmarks"].shape == (3, 2, 33, 3) and d["world"].shape == (3, 2, 33, 3)
    assert d["visibility"].shape == d["presence"].shape == (3, 2, 33)
    assert d["rois"].shape == (3, 2, 5) and d["scores"].shape == (3, 2)
    assert list(d["num_people"]) == [2, 0, 1] and list(d["frame_index"]) == [0, 1, 2]
    np.testing.assert_array_equal(d["timestamp_ms"], [0.0, 33.367, 66.733])
    np.testing.assert_array_equal(d["image_size"], [[640, 480]] * 3)
    np.testing.assert_array_equal(d["ids"], [[3, 4], [-1, -1], [3, -1]])
    for t, r in enumerate(fr):
        n = len(r)
        np.testing.assert_array_equal(d["landmarks"][t, :n], r.landmarks)   # NaN compares equal here
        np.testing.assert_array_equal(d["world"][t, :n], r.world)
        np.testing.assert_array_equal(d["visibility"][t, :n], r.visibility)
        np.testing.assert_array_equal(d["rois"][t, :n], r.rois)
        assert np.isnan(d["landmarks"][t, n:]).all() and np.isnan(d["scores"][t, n:]).all()
    assert tuple(d["landmark_names"]) == LANDMARK_NAMES
    assert json.loads(str(d["meta"]))["model"] == "lite"


def test_coco_results_17_points(tmp_path):
    fr = frames()
    (path,) = export(fr, tmp_path / "poses.coco.json")
    entries = json.loads(path.read_text())
    assert entries == coco_results(fr)
    assert [e["image_id"] for e in entries] == [0, 0, 2]
    for e, (r, i) in zip(entries, [(fr[0], 0), (fr[0], 1), (fr[2], 0)]):
        assert e["category_id"] == 1 and abs(e["score"] - r.scores[i]) <= TOL["prob"]
        kp = np.array(e["keypoints"], float).reshape(17, 3)
        src = list(COCO17_FROM_BLAZEPOSE)
        absent = ~np.isfinite(r.landmarks[i, src, 0])
        assert (kp[absent] == 0).all()   # not there: 0, 0, 0
        kp[absent, :2] = np.nan
        np.testing.assert_allclose(kp[:, :2], r.landmarks[i, src, :2], atol=TOL["px"])
        np.testing.assert_allclose(kp[~absent, 2], r.visibility[i, src][~absent], atol=TOL["prob"])
    # BlazePose 5 (right eye) is COCO 2: missing there, so 0, 0, 0 as COCO writes "not labelled"
    assert entries[2]["keypoints"][6:9] == [0, 0, 0]
    named = coco_results(fr[:1], image_ids=[785])
    assert {e["image_id"] for e in named} == {785}
    upper = person_result(1, k=25)
    (e,) = coco_results([upper])
    assert e["keypoints"][13 * 3:] == [0] * 12   # knees and ankles absent in upper-body mode


def test_export_of_one_result_and_frames_without_index(tmp_path):
    r = person_result(1)
    doc = json.loads(export(r, tmp_path / "one.json")[0].read_text())
    assert doc["frames"][0]["frame_index"] == 0
    export([r, r], tmp_path / "two.csv")
    assert list(pd.read_csv(tmp_path / "two.csv").frame.unique()) == [0, 1]


def test_format_is_chosen_by_extension_and_bad_names_are_clear_errors(tmp_path):
    assert [format_from_path(p) for p in ("a.json", "a.CSV", "b.coco.json", "c.npz")] == ["json", "csv", "coco", "npz"]
    with pytest.raises(InputError, match=r"poses\.txt: cannot tell the export format"):
        export([], tmp_path / "poses.txt")
    with pytest.raises(InputError, match="unknown export format 'xml'"):
        export([], tmp_path / "poses.json", format="xml")


def test_json_writer_stays_valid_after_every_frame_and_takes_a_footer(tmp_path):
    p = tmp_path / "s.json"
    w = JsonWriter(p, header("full"))
    assert json.loads(p.read_text())["frames"] == []
    w.write(person_result(1, frame=0))
    assert len(json.loads(p.read_text())["frames"]) == 1     # readable while still open
    w.close(footer={"summary": {"n": 1}})
    doc = json.loads(p.read_text())
    assert doc["summary"] == {"n": 1} and len(doc["frames"]) == 1


def test_npz_writer_rejects_mixed_landmark_counts(tmp_path):
    with pytest.raises(InputError, match="same number of landmarks"):
        with NpzWriter(tmp_path / "m.npz") as w:
            w.write(person_result(1, k=33))
            w.write(person_result(1, k=25))
    assert (tmp_path / "m.npz").exists()    # what came before the error is kept


def test_read_document_refuses_other_json_with_a_clear_error(tmp_path):
    from blazepose.outputs.export import read_document

    (doc,) = export(frames(), tmp_path / "r.json")
    assert [f["frame_index"] for f in read_document(doc)["frames"]] == [0, 1, 2]
    (coco,) = export(frames(), tmp_path / "r.coco.json")   # a JSON list: valid JSON, not a document
    with pytest.raises(InputError, match=r"r\.coco\.json: not a result document"):
        read_document(coco)
    other = tmp_path / "other.json"
    other.write_text('{"people": []}')
    with pytest.raises(InputError, match=r"other\.json: not a result document"):
        read_document(other)
