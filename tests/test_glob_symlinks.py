"""``**`` patterns never follow symlinked folders (issue 22, item 3): a folder holding ``self -> .``
gave the same photo 41 times, and with ``up -> ..`` too ``image 'd/**/*.jpg'`` and ``batch`` ran
forever. Now each photo is found once, quickly."""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import REFERENCE, ROOT


@pytest.fixture()
def looped(tmp_path):
    d = tmp_path / "d"
    (d / "sub" / ".hidden").mkdir(parents=True)
    shutil.copyfile(REFERENCE / "pose.jpg", d / "a.jpg")
    for rel in ("sub/b.jpg", "sub/.hidden/h.jpg", "sub/.c.jpg", "notes.txt"):
        (d / rel).write_bytes(b"x")
    return d


def _links(d):
    os.symlink(".", d / "self")
    os.symlink("..", d / "up")


def test_glob_inputs_matches_glob_where_there_is_no_link(looped, monkeypatch):
    from blazepose.apps.batch.inputs import glob_inputs

    monkeypatch.chdir(looped.parent)
    patterns = ["d/**/*.jpg", "d/**", "d/*", "d/*/*.jpg", "d/**/b.jpg", "d/sub/.*", "d/**/.hidden/*.jpg",
                "*/a.jpg", "d/**/", str(looped / "**" / "*.jpg"), "d/nothing/**/*.jpg", "d/a.jpg"]
    for pat in patterns:
        want = sorted({p.rstrip("/") for p in glob.glob(pat, recursive=True)})
        assert glob_inputs(pat) == want, pat


@pytest.mark.parametrize("pattern, found", [
    ("d/**/*.jpg", ["a.jpg", "sub/b.jpg"]),
    # a matched folder is taken whole, as a folder input is (hidden files too), links not followed
    ("d/**", ["a.jpg", "sub/.c.jpg", "sub/.hidden/h.jpg", "sub/b.jpg"])])
def test_symlink_loops_give_each_photo_once_quickly(looped, monkeypatch, pattern, found):
    from blazepose.apps.batch import collect_inputs

    _links(looped)
    monkeypatch.chdir(looped.parent)
    t0 = time.perf_counter()
    items, missing = collect_inputs([pattern])
    took = time.perf_counter() - t0
    assert [i.rel for i in items] == found and missing == []
    assert took < 1.0, f"{took:.2f} s"   # a generous guard: it takes milliseconds


@pytest.mark.slow
def test_image_and_batch_with_self_and_up_links_process_one_frame(looped, tmp_path):
    os.remove(looped / "sub" / "b.jpg")
    _links(looped)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = [sys.executable, "-m", "blazepose.apps.cli"]
    r = subprocess.run([*run, "image", "d/**/*.jpg", "--json", str(tmp_path / "out.json")], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    assert len(doc["frames"]) == 1 and doc["frames"][0]["file"].endswith("a.jpg")
    r = subprocess.run([*run, "batch", "d/**/*.jpg", "--out", str(tmp_path / "res")], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "res" / "batch_report.json").read_text())
    assert report["counts"]["done"] == 1 and report["counts"]["failed"] == 0
