"""Output names that cannot be written as given are refused before any model loads, alike in
``image``, ``video`` and ``batch``: one line on stderr, exit status 2, nothing written, no input
overwritten. A disk error while writing is one line too (exit status 1), not a traceback."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REFERENCE

PHOTO = REFERENCE / "pose.jpg"
CLIP = REFERENCE / "pose_squats.mp4"


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True,
                          cwd=cwd)


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_refused(p, needle):
    lines = p.stderr.splitlines()
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("blazepose "), p.stderr
    assert needle in lines[0], lines[0]


@pytest.fixture
def work(tmp_path):
    shutil.copy(PHOTO, tmp_path / "in.jpg")
    shutil.copy(CLIP, tmp_path / "in.mp4")
    (tmp_path / "afile").write_text("a file where a folder is needed")
    return tmp_path


@pytest.mark.parametrize("args, needle", [
    (["image", "in.jpg", "--annotate", "in.jpg"], "--annotate in.jpg: is an input of this run"),
    (["image", "in.jpg", "--plot", "in.jpg"], "--plot in.jpg: is an input of this run"),
    (["video", "in.mp4", "-o", "in.mp4"], "-o in.mp4: is an input of this run"),
    (["image", "in.jpg", "--annotate", "x.png", "--mask", "x.png"], "--mask x.png: --annotate writes to the same file"),
    (["image", "in.jpg", "--csv", "x.csv", "--angles", "x.csv"], "--angles x.csv: --csv writes to the same file"),
    (["image", "in.jpg", "--json", "x.json", "--angles", "x.json"], "--angles x.json: --json writes to the same file"),
    (["image", "in.jpg", "--csv", "x.summary.csv", "--angles", "x.csv"], "--csv writes to the same file"),
    (["video", "in.mp4", "--csv", "x.csv", "--angles", "x.csv"], "--angles x.csv: --csv writes to the same file"),
    (["video", "in.mp4", "--json", "x.json", "--angles", "x.json"], "--angles x.json: --json writes to the same file"),
    (["image", "in.jpg", "--json", "afile/x.json"], "afile is a file, not a folder"),
    (["image", "in.jpg", "--annotate", "afile/x.png"], "afile is a file, not a folder"),
    (["image", "in.jpg", str(PHOTO), "--annotate", "afile/pictures"], "afile is a file, not a folder"),
    (["video", "in.mp4", "--json", "afile/x.json"], "afile is a file, not a folder"),
    (["video", "in.mp4", "-o", "afile/deeper/x.mp4"], "afile is a file, not a folder"),
    (["batch", "in.jpg", "--out", "afile"], "--out afile: "),
    (["batch", "in.jpg", "--out", "afile/results"], "afile is a file, not a folder"),
    (["batch", "in.jpg", "--out", "results", "--csv", "afile/all.csv"], "afile is a file, not a folder"),
    (["batch", "in.jpg", "--out", "results", "--workers", "0"], "--workers must be >= 1, got 0"),
    (["image", "in.jpg", "--min-visibility", "3"], "min_visibility must be in [0, 1], got 3.0"),
    (["video", "in.mp4", "--json", "x.json", "--min-visibility", "3"], "min_visibility must be in [0, 1], got 3.0"),
    (["batch", "in.jpg", "--out", "results", "--min-visibility", "3"], "min_visibility must be in [0, 1], got 3.0"),
])
@pytest.mark.slow
def test_unwritable_or_clashing_outputs_are_refused_before_anything_runs(work, args, needle):
    before = snapshot(work)
    p = run(*args, cwd=work)
    assert_refused(p, needle)
    assert p.stdout == ""
    assert snapshot(work) == before         # nothing written, the inputs untouched


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("cmd", [["image", "in.jpg", "--json", "ro/x.json"], ["video", "in.mp4", "--json", "ro/x.json"],
                                 ["batch", "in.jpg", "--out", "ro/results"]])
def test_a_read_only_folder_is_refused(work, cmd):
    (work / "ro").mkdir()
    (work / "ro").chmod(0o555)
    try:
        assert_refused(run(*cmd, cwd=work), "ro is not writable")
    finally:
        (work / "ro").chmod(0o755)


def test_read_only_folder_check_without_permissions(tmp_path, monkeypatch):
    """As root nothing is read-only; the check itself is exercised with ``os.access`` saying no."""
    from blazepose.apps import cli_checks
    from blazepose.errors import UsageError

    real = os.access
    monkeypatch.setattr(cli_checks.os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real(p, mode))
    with pytest.raises(UsageError, match="the folder .* is not writable"):
        cli_checks.check_writable("--json", str(tmp_path / "new" / "x.json"))
    cli_checks.check_writable("--json", str(tmp_path.parent / "x.json"))   # elsewhere: fine


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_disk_error_while_writing_is_one_line(work):
    (work / "full.json").symlink_to("/dev/full")      # every write fails: no space left on device
    p = run("image", "in.jpg", "--json", "full.json", cwd=work)
    assert p.returncode == 1, p.stderr
    # checked writes (outputs.sink.write_all) name the file
    assert p.stderr.strip().splitlines() == ["error: full.json: No space left on device"], p.stderr
