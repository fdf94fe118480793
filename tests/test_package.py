"""The package stands on its own: the wheel and sdist build, the wheel installs into a fresh
virtual environment and its ``blazepose`` command works outside the source tree; a clone of the
repository alone (no ``shared`` folder beside it) collects every test.

The fresh environment takes the dependencies from the package index pip is configured with (pip's
cache is reused) and the model files from the user cache folder, as a user's install would.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REFERENCE, ROOT

pytestmark = pytest.mark.slow   # builds and installs the package in fresh environments

GIT = shutil.which("git")


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def user_env() -> dict:
    """The environment of a user's shell: no source tree on the path, the default model cache."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "BLAZEPOSE_CACHE_DIR", "VIRTUAL_ENV", "PYTHONHOME")}


def test_wheel_installs_in_a_fresh_venv_and_runs_outside_the_tree(tmp_path):
    pytest.importorskip("build", reason="building needs the 'build' package (the dev extra)")
    dist = tmp_path / "dist"
    # sdist first, then the wheel built from the unpacked sdist: the sdist must hold everything
    run([sys.executable, "-m", "build", "--outdir", dist, ROOT], env=user_env())
    (wheel,) = dist.glob("blazepose-*.whl")
    (sdist,) = dist.glob("blazepose-*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    assert "blazepose/apps/web/static/index.html" in names and "blazepose/apps/cli.py" in names
    assert not any(n.startswith("tests/") or n.endswith((".tflite", ".mp4", ".jpg")) for n in names)
    assert sdist.stat().st_size > 0

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    run([bindir / "python", "-m", "pip", "install", "--quiet", wheel], env=user_env())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    photo = elsewhere / "pose.jpg"
    photo.write_bytes((REFERENCE / "pose.jpg").read_bytes())
    r = run([bindir / "blazepose", "image", photo, "--json", "out.json"], cwd=elsewhere, env=user_env())
    # the package that ran is the installed one, not this source tree
    where = run([bindir / "python", "-c", "import blazepose; print(blazepose.__file__)"], cwd=elsewhere,
                env=user_env()).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    doc = json.loads((elsewhere / "out.json").read_text())
    (frame,) = doc["frames"]
    (person,) = frame["people"]
    assert len(person["landmarks"]) == 33, r.stderr
    assert (frame["image_width"], frame["image_height"]) == (1000, 667)
    # the same numbers as the source tree's package gives (same models, same code)
    from blazepose import PoseLandmarker

    with PoseLandmarker("full") as landmarker:
        here = landmarker.process_image(REFERENCE / "pose.jpg").to_dict()
    for a, b in zip(person["landmarks"], here["people"][0]["landmarks"]):
        assert abs(a["x"] - b["x"]) < 1e-3 and abs(a["y"] - b["y"]) < 1e-3


def collected(folder: Path) -> list[str]:
    """The test ids ``pytest --collect-only`` finds in ``folder`` (it fails on a collection error)."""
    r = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=folder,
            env=user_env())
    return sorted(line for line in r.stdout.splitlines() if "::" in line)


@pytest.mark.skipif(GIT is None or not (ROOT / ".git").exists(), reason="needs git and a git checkout")
def test_a_clone_alone_collects_every_test(tmp_path):
    """A second full run would double CI's time: the clone is checked by collection only."""
    empty = tmp_path / "empty"
    empty.mkdir()
    clone = empty / "blazepose"
    run([GIT, "clone", "--quiet", "--no-hardlinks", ROOT, clone])
    assert not (empty / "shared").exists()
    modules = sorted(p.relative_to(clone).as_posix() for p in (clone / "tests").rglob("*.py"))
    for m in modules:
        text = (clone / m).read_text(encoding="utf-8")
        assert not re.search(r"\.\.[/\\]shared\b", text), f"{m} refers to the shared folder beside the checkout"
    test_modules = [m for m in modules if re.match(r"tests/test_[^/]*\.py$", m)]
    assert len(test_modules) >= 30

    def module(i):
        return i.split("::")[0]

    ids, here = collected(clone), collected(ROOT)
    # modules committed as they are here: the clone collects exactly the tests this checkout does
    same = {m for m in test_modules if (ROOT / m).is_file() and (ROOT / m).read_bytes() == (clone / m).read_bytes()}
    assert [i for i in ids if module(i) in same] == [i for i in here if module(i) in same]
    # and every test module of the clone gives tests (or, unchanged, is skipped whole here too)
    for m in test_modules:
        assert any(module(i) == m for i in ids) or (m in same and not any(module(i) == m for i in here)), m
