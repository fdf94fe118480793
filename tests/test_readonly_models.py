"""A read-only model folder holding only the official files (models baked into an image or a
shared volume): runs still work. The derived mask-free file goes to a writable user cache, or,
with nowhere to write, the official file is used and gives the same landmarks (issue 22, item 2).

The folder is made read-only with a read-only bind mount (``chmod`` does not stop root, and these
tests run as root in CI); where ``mount`` is refused, the tests skip and say so."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import REFERENCE, ROOT


def _ro_bind(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for cmd in (["mount", "--bind", str(src), str(dst)], ["mount", "-o", "remount,bind,ro", str(dst)]):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except OSError as exc:
            pytest.skip(f"no read-only bind mount here ({exc}); the folder cannot be made read-only for root")
        if r.returncode != 0:
            subprocess.run(["umount", str(dst)], capture_output=True)
            pytest.skip(f"no read-only bind mount here ({r.stderr.strip()}); "
                        "the folder cannot be made read-only for root")
    probe = dst / f".probe-{uuid.uuid4().hex}"
    try:
        probe.touch()
    except OSError:
        return
    probe.unlink()
    subprocess.run(["umount", str(dst)], capture_output=True)
    pytest.skip("the bind mount is writable despite ro")


@pytest.fixture()
def readonly_models(tmp_path):
    """A read-only folder holding only the official detector and full landmark files."""
    from blazepose.models import registry

    src = tmp_path / "models-src"
    src.mkdir()
    for name in ("detector", "full"):
        shutil.copyfile(registry.resolve(name), src / registry.spec(name).file)
    ro = tmp_path / "models"
    _ro_bind(src, ro)
    yield ro
    subprocess.run(["umount", str(ro)], capture_output=True)


def _image(tmp_path: Path, env_extra: dict, out: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env_extra}
    r = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "image", str(REFERENCE / "pose.jpg"),
                        "--json", str(tmp_path / out)], capture_output=True, text=True, env=env, timeout=300)
    doc = json.loads((tmp_path / out).read_text()) if r.returncode == 0 else {}
    return r, doc


@pytest.mark.slow
def test_image_works_with_a_readonly_model_folder(readonly_models, tmp_path):
    user_cache = tmp_path / "xdg"
    r, doc = _image(tmp_path, {"BLAZEPOSE_CACHE_DIR": str(readonly_models),
                               "XDG_CACHE_HOME": str(user_cache)}, "ro.json")
    assert r.returncode == 0, r.stderr
    assert "Read-only" not in r.stderr
    # the derived file was made in the user's cache, never in the read-only folder
    assert sorted(p.name for p in readonly_models.iterdir()) == ["pose_detection.tflite", "pose_landmark_full.tflite"]
    derived = user_cache / "blazepose" / "pose_landmark_full.noseg.tflite"
    assert derived.is_file() and (user_cache / "blazepose" / "pose_landmark_full.noseg.json").is_file()
    assert not list((user_cache / "blazepose").glob("*.part"))
    # the same landmarks as a run with a writable cache, bit for bit
    r2, ref = _image(tmp_path, {}, "ref.json")
    assert r2.returncode == 0, r2.stderr
    assert doc["frames"][0]["people"] == ref["frames"][0]["people"]
    assert len(doc["frames"][0]["people"]) == 1


@pytest.mark.slow
def test_image_works_with_nowhere_to_write(readonly_models, tmp_path):
    """The user's cache is read-only too: the official file is used, with a warning."""
    home = tmp_path / "home-src"
    home.mkdir()
    ro_home = tmp_path / "home"
    _ro_bind(home, ro_home)
    try:
        r, doc = _image(tmp_path, {"BLAZEPOSE_CACHE_DIR": str(readonly_models), "HOME": str(ro_home),
                                   "XDG_CACHE_HOME": str(ro_home / ".cache")}, "nowhere.json")
    finally:
        subprocess.run(["umount", str(ro_home)], capture_output=True)
    assert r.returncode == 0, r.stderr
    r2, ref = _image(tmp_path, {}, "ref.json")
    assert doc["frames"][0]["people"] == ref["frames"][0]["people"]


def test_pruned_path_falls_back_when_writes_fail(tmp_path, monkeypatch):
    """Where ``os.access`` says yes but every write fails (root on a read-only mount answers
    EROFS only at write time), the official file is returned instead of an error."""
    from blazepose.models import prune, registry

    shutil.copyfile(registry.resolve("lite"), tmp_path / "pose_landmark_lite.tflite")
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(registry, "default_cache_dir", lambda: tmp_path)

    def refuse(path, payload):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(prune, "_write_replace", refuse)
    assert prune.pruned_path("lite") == tmp_path / "pose_landmark_lite.tflite"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pose_landmark_lite.tflite"]
