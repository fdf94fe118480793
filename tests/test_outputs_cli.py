"""``blazepose image --csv --angles --plot`` through the real entry point."""
import csv
import json
import shutil

import numpy as np
import pytest

from blazepose.outputs.angles import ANGLES_CSV_HEADER, JOINT_NAMES, summary_path
from blazepose.outputs.export import CSV_HEADER
from conftest import REFERENCE
from test_cli import run

pytestmark = pytest.mark.slow   # the command line in subprocesses, on photos and clips


def test_image_csv_angles_and_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs the 'plot' extra (matplotlib)")
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    out = tmp_path / "out"
    for name in ("pose.jpg", "dance.jpg"):      # one folder: the pictures are named NAME.angles.png in --plot
        shutil.copy(REFERENCE / name, tmp_path / name)
    p = run("image", str(tmp_path / "pose.jpg"), str(bad), str(tmp_path / "dance.jpg"),
            "--json", str(out / "r.json"), "--csv", str(out / "r.csv"), "--angles", str(out / "a.csv"),
            "--plot", str(out / "plots"))
    assert p.returncode == 1 and "Traceback" not in p.stderr       # the broken file is reported
    doc = json.loads((out / "r.json").read_text())
    with open(out / "r.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_HEADER
    # frame = the image's position on the command line: 0 and 2 (1 failed)
    assert sorted({r[0] for r in rows[1:]}) == ["0", "2"] and len(rows) == 1 + 2 * 33
    nose = [r for r in rows[1:] if r[0] == "2" and r[3] == "0"][0]
    lm = doc["frames"][2]["people"][0]["landmarks"][0]
    assert float(nose[5]) == lm["x"] and float(nose[6]) == lm["y"]      # one code path, same values
    with open(out / "a.csv", newline="") as f:
        arows = list(csv.reader(f))
    assert tuple(arows[0]) == ANGLES_CSV_HEADER and len(arows) == 1 + 2 * len(JOINT_NAMES)
    assert summary_path(out / "a.csv").exists()
    from blazepose.io.images import read_image

    assert read_image(out / "plots" / "pose.angles.png").shape == (667, 1000, 3)
    assert read_image(out / "plots" / "dance.angles.png").shape == (640, 960, 3)


def test_image_angles_json(tmp_path):
    p = run("image", str(REFERENCE / "pose.jpg"), "--json", str(tmp_path / "r.json"), "--angles",
            str(tmp_path / "a.json"))
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["model"] == "full" and len(doc["frames"]) == 1
    # the front knee of the yoga pose is bent, the back leg straight (the photo)
    joints = doc["frames"][0]["people"][0]["joints"]
    assert joints["right_knee"]["angle_2d"] < 130 < 160 < joints["left_knee"]["angle_2d"]
    assert doc["summary"]["people"]["0"]["left_knee"]["frames"] == 1
    for cmd in (["image", str(REFERENCE / "pose.jpg")], ["video", str(REFERENCE / "pose_squats.mp4")]):
        p = run(*cmd, "--angles", str(tmp_path / "a.txt"))      # refused before any model loads
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        assert "a.txt: joint angles are written as .csv or .json" in p.stderr


def test_video_angles_plot_and_reps(tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs the 'plot' extra (matplotlib)")
    p = run("video", str(REFERENCE / "pose_squats.mp4"), "--angles", str(tmp_path / "a.csv"),
            "--plot", str(tmp_path / "p.png"), "--reps", "squat", "--no-progress")
    assert p.returncode == 0, p.stderr
    # 2 squats completed and a third at its bottom when the clip ends (see test_squats_outputs)
    assert p.stdout == "squat: 2 repetition(s) (+1 in progress)\n"
    with open(tmp_path / "a.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == ANGLES_CSV_HEADER and len(rows) == 1 + 65 * len(JOINT_NAMES)
    knee = np.array([float(r[5]) for r in rows[1:] if r[3] == "left_knee"])       # angle_3d
    assert knee.min() < 95 and knee.max() > 160
    assert (tmp_path / "p.png").stat().st_size > 10_000
    p = run("video", str(REFERENCE / "pose_squats.mp4"), "--reps", "lunge")
    assert p.returncode == 2 and "invalid choice: 'lunge'" in p.stderr


def test_video_reps_push_up_on_an_upright_person_counts_none_and_says_why():
    p = run("video", str(REFERENCE / "pose_squats.mp4"), "--reps", "push-up", "--no-progress")
    assert p.returncode == 0, p.stderr
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("push-up:")][0]
    assert line.startswith("push-up: 0 repetition(s)") and "were not horizontal" in line


def test_video_json_format_is_chosen_by_the_name_as_for_image(tmp_path):
    """``blazepose video --json X.npz`` / ``X.coco.json`` write those formats (as ``blazepose image``
    and ``export()`` do), with the same values as the JSON document; other names are refused."""
    clip = str(REFERENCE / "pose_squats.mp4")
    p = run("video", clip, "--max-frames", "3", "--no-progress", "--json", str(tmp_path / "r.json"),
            "--csv", str(tmp_path / "r.csv"))
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    p = run("video", clip, "--max-frames", "3", "--no-progress", "--json", str(tmp_path / "r.npz"))
    assert p.returncode == 0, p.stderr
    z = np.load(tmp_path / "r.npz")          # a real .npz, not a JSON text under that name
    assert z["landmarks"].shape == (3, 1, 33, 3) and z["frame_index"].tolist() == [0, 1, 2]
    nose = doc["frames"][2]["people"][0]["landmarks"][0]
    assert abs(z["landmarks"][2, 0, 0, 0] - nose["x"]) <= 0.0005 and abs(z["world"][2, 0, 0, 2] - nose["world_z"]) <= 5e-6
    assert json.loads(str(z["meta"]))["video"]["fps"] == doc["video"]["fps"]
    p = run("video", clip, "--max-frames", "3", "--no-progress", "--json", str(tmp_path / "r.coco.json"))
    assert p.returncode == 0, p.stderr
    coco = json.loads((tmp_path / "r.coco.json").read_text())
    assert [e["image_id"] for e in coco] == [0, 1, 2] and len(coco[2]["keypoints"]) == 51
    assert coco[2]["keypoints"][:2] == [nose["x"], nose["y"]]
    for flag, name, want in (("--json", "r.txt", ".json or .npz or .coco.json"), ("--csv", "r.tsv", ".csv")):
        p = run("video", clip, "--no-progress", flag, str(tmp_path / name))
        assert p.returncode == 2 and f"the name must end in {want}" in p.stderr and "Traceback" not in p.stderr
        assert not (tmp_path / name).exists()


def test_video_summary_line_names_no_bvh_when_nobody_was_found(tmp_path):
    from _video_clips import blank_frames, write_avi

    clip = write_avi(tmp_path / "blank.avi", blank_frames(3))
    p = run("video", str(clip), "--no-progress", "--json", str(tmp_path / "r.json"), "--bvh", str(tmp_path / "r.bvh"))
    assert p.returncode == 0, p.stderr
    assert "nobody in any frame; no BVH file written" in p.stderr and not (tmp_path / "r.bvh").exists()
    assert "-> " + str(tmp_path / "r.json") in p.stderr and "-> " + str(tmp_path / "r.bvh") not in p.stderr
