"""Command-line mistakes: one line on stderr, exit status 2, before any model loads; outputs are
never overwritten silently; ``image`` takes folders and globs."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import REFERENCE

PHOTO = REFERENCE / "pose.jpg"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True,
                          cwd=cwd)


@pytest.mark.parametrize("args, needle", [
    (["--min-detection-confidence", "2"], "min_detection_confidence must be in [0, 1], got 2"),
    (["--min-tracking-confidence", "1.5"], "min_tracking_confidence must be in [0, 1], got 1.5"),
    (["--num-threads", "-1"], "num_threads must be an integer in 1..256, got -1"),
    (["--detection-tiles", "99"], "detection_tiles must be an integer in 0..5, got 99"),
    (["--model", "huge"], "model must be one of lite, full, heavy"),
    (["--annotate", "{tmp}/dir/"], "--annotate {tmp}/dir/: give"),
    (["--annotate", "{tmp}/noext"], "--annotate {tmp}/noext: give"),
    (["--mask", "{tmp}"], "--mask {tmp}: give"),
    (["--plot", "{tmp}"], "--plot {tmp}: give"),
    (["--csv", "{tmp}"], "--csv {tmp}: is a folder"),
    (["--json", "{tmp}/x.txt"], "--json {tmp}/x.txt: the name must end in"),
])
@pytest.mark.slow
def test_image_mistakes_are_one_line_and_exit_2(tmp_path, args, needle):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    p = run("image", str(PHOTO), *args)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("blazepose image: error: "), p.stderr
    assert needle.replace("{tmp}", str(tmp_path)) in lines[0]
    assert p.stdout == "" and list(tmp_path.iterdir()) == []       # nothing written


@pytest.mark.slow
def test_video_and_batch_mistakes_are_one_line_and_exit_2(tmp_path):
    for cmd in (["video", str(REFERENCE / "pose_squats.mp4"), "--json", str(tmp_path / "v.json")],
                ["batch", str(PHOTO), "--out", str(tmp_path / "b")]):
        p = run(*cmd, "--num-threads", "0")
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        assert "num_threads must be an integer in 1..256, got 0" in p.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_same_names_in_two_folders_never_overwrite(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(PHOTO, tmp_path / sub / "x.jpg")
    shutil.copy(PHOTO, tmp_path / "a" / "gray.jpg")
    shutil.copy(PHOTO, tmp_path / "a" / "gray.png")
    out = tmp_path / "out"
    p = run("image", str(tmp_path / "a" / "x.jpg"), str(tmp_path / "b" / "x.jpg"), "--annotate", str(out))
    assert p.returncode == 0, p.stderr
    assert sorted(f.relative_to(out).as_posix() for f in out.rglob("*.png")) == \
        ["a/x.annotated.png", "b/x.annotated.png"]      # the one rule: mirrored folders, simple names
    out2 = tmp_path / "out2"
    p = run("image", str(tmp_path / "a" / "gray.jpg"), str(tmp_path / "a" / "gray.png"), "--mask", str(out2))
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in out2.rglob("*.png")) == ["gray.jpg.mask.png", "gray.png.mask.png"]


@pytest.mark.slow
def test_image_takes_folders_and_globs(tmp_path):
    for name in ("p1.jpg", "p2.jpg"):
        shutil.copy(PHOTO, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a photo")
    p = run("image", str(tmp_path), "--json", str(tmp_path / "r.json"))
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [f["file"].rsplit("/", 1)[-1] for f in doc["frames"]] == ["p1.jpg", "p2.jpg"]
    p = run("image", str(tmp_path / "p*.jpg"))
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["frames"]) == 2


@pytest.mark.parametrize("args, needle", [
    (["serve", "--port", "99999"], "blazepose serve: error: argument --port: 99999 is not a port number"),
    (["video", "x.mp4", "--reps", "lunge"], "blazepose video: error: argument --reps: invalid choice: 'lunge'"),
    (["image"], "blazepose image: error: the following arguments are required: PATH"),
    (["video", "x.mp4", "--max-frames", "-1"], "blazepose video: error: argument --max-frames: must be >= 0, got -1"),
    (["eval", "a.json", "imgs", "--min-labelled", "0"], "blazepose eval: error: argument --min-labelled: must be >= 1"),
])
@pytest.mark.slow
def test_argument_errors_are_one_line_too(args, needle):
    p = run(*args)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.startswith(needle), p.stderr


@pytest.mark.slow
def test_every_input_is_accounted_for_in_the_document(tmp_path):
    """An input that names nothing (a missing file, an empty name, which must not mean the current
    folder) is an error frame of the document, after the photos, as a photo that cannot be read is."""
    (tmp_path / "sub").mkdir()
    shutil.copy(PHOTO, tmp_path / "sub" / "p.jpg")      # would be found if "" meant the current folder
    p = run("image", str(PHOTO), "nothere.jpg", "", "--json", "r.json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    frames = json.loads((tmp_path / "r.json").read_text())["frames"]
    assert [f["frame_index"] for f in frames] == [0, 1, 2]
    assert len(frames[0]["people"]) == 1 and "error" not in frames[0]
    assert frames[1]["file"] == "nothere.jpg" and frames[1]["error"] == "nothere.jpg: no such file or folder"
    assert frames[2]["file"] == "" and frames[2]["error"] == "'': empty input name"
    p = run("image", "", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.strip() == "error: '': empty input name", p.stderr


NO_MODEL = """
import sys
from blazepose.api.landmarker import PoseLandmarker
def refuse(self, *a, **k):
    sys.stderr.write("a model was loaded\\n")
    sys.exit(99)
PoseLandmarker.__init__ = refuse
from blazepose.apps.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("cmd", [
    ["image", str(PHOTO), "--min-detection-confidence", "2"],
    ["image", str(PHOTO), "--csv", "{tmp}"],
    ["video", str(REFERENCE / "pose_squats.mp4"), "--num-threads", "0"],
    ["video", str(REFERENCE / "pose_squats.mp4"), "--json", "{tmp}/x.txt"],
    ["batch", str(PHOTO), "--out", "{tmp}/b", "--detection-tiles", "99"],
])
def test_mistakes_stop_before_any_model_loads(tmp_path, cmd):
    """docs/cli.md's "exit status 2 ... before any model loads": a landmarker that cannot be made
    (its constructor exits 99) is never reached."""
    cmd = [a.replace("{tmp}", str(tmp_path)) for a in cmd]
    p = subprocess.run([sys.executable, "-c", NO_MODEL, *cmd], capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    assert "a model was loaded" not in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_the_no_model_guard_itself_fires(tmp_path):
    p = subprocess.run([sys.executable, "-c", NO_MODEL, "image", str(PHOTO), "--json", str(tmp_path / "r.json")],
                       capture_output=True, text=True)
    assert p.returncode == 99 and "a model was loaded" in p.stderr, p.stderr
