"""The CLI through its real entry point."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REFERENCE


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True, **kw)


@pytest.mark.slow
def test_image_json_annotate_and_mask(tmp_path):
    ann, mask = tmp_path / "a.png", tmp_path / "m.png"
    p = run("image", str(REFERENCE / "pose.jpg"), "--annotate", str(ann), "--mask", str(mask))
    assert p.returncode == 0 and p.stdout == "", p.stderr     # outputs named: no document on stdout
    p = run("image", str(REFERENCE / "pose.jpg"), "--annotate", str(ann), "--mask", str(mask), "--json", "-")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema_version"] == 2 and doc["model"] == "full"
    (img,) = doc["frames"]
    assert img["image_width"] == 1000 and len(img["people"][0]["landmarks"]) == 33
    from blazepose.io.images import read_image
    a = read_image(ann)
    assert a.shape == (667, 1000, 3)
    assert np.abs(a.astype(int) - read_image(REFERENCE / "pose.jpg")).sum() > 0   # something was drawn
    assert read_image(mask).shape == (667, 1000, 3)


@pytest.mark.slow
def test_many_files_one_bad_still_processes_the_others(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    out = tmp_path / "r.json"
    p = run("image", str(REFERENCE / "pose.jpg"), str(bad), str(REFERENCE / "dance.jpg"), "--json", str(out))
    assert p.returncode == 1
    doc = json.loads(out.read_text())
    # one frame per photo in command-line order; the bad one is a frame with its error
    assert [f["file"] for f in doc["frames"]] == [str(REFERENCE / "pose.jpg"), str(bad), str(REFERENCE / "dance.jpg")]
    assert [f["frame_index"] for f in doc["frames"]] == [0, 1, 2]
    assert "not an image" in doc["frames"][1]["error"] and "people" not in doc["frames"][1]
    assert all("error" not in doc["frames"][i] and doc["frames"][i]["people"] for i in (0, 2))
    assert "2 processed, 1 failed" in p.stderr and "broken.jpg" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.slow
def test_models_list_and_verify():
    p = run("models", "list")
    assert p.returncode == 0
    assert "pose_landmark_heavy.tflite" in p.stdout and "59e42d71" in p.stdout
    p = run("models", "verify")
    assert p.returncode == 0, p.stdout
    assert p.stdout.count(": ok") == 4


@pytest.mark.slow
def test_a_clean_run_prints_nothing_on_stderr(tmp_path):
    """TFLite's "Created TensorFlow Lite XNNPACK delegate" notice (native code, fd 2) is kept out."""
    p = run("image", str(REFERENCE / "pose.jpg"), "--json", str(tmp_path / "r.json"))
    assert p.returncode == 0 and p.stderr == ""
    p = run("video", str(REFERENCE / "pose_squats.mp4"), "--max-frames", "3", "--json", str(tmp_path / "v.json"),
            "--no-progress")
    assert p.returncode == 0 and "XNNPACK" not in p.stderr and p.stderr.startswith("3 frames processed")
