"""OpenSim set-up files: Pose2Sim's BlazePose marker set, scaling and IK set-ups, and model.

Fetched, never vendored: the files ship inside Pose2Sim's wheel on PyPI (BSD-3-Clause; the
model's credits say it is adapted from Rajagopal et al. 2016). ``fetch`` downloads that one wheel
with ``pip download --no-deps`` (the ``pose2sim`` package and its dependencies are never
installed), unpacks only the files below from ``Pose2Sim/OpenSim_Setup/``, checks each by
sha256 and puts them in the user cache folder (``registry.cache_dir()/opensim/pose2sim-<version>``)
through a temporary folder that is renamed only once everything verifies.

=========================================  =====================================================
file                                       role
=========================================  =====================================================
``Markers_BlazePose.xml``                  the 25 BlazePose markers placed on the model
``Scaling_Setup_Pose2Sim_Blazepose.xml``   ScaleTool: marker pairs that size each body
``IK_Setup_Pose2Sim_Blazepose.xml``        InverseKinematicsTool: the marker weights
``Model_Pose2Sim_simple.osim``             the generic model (no muscles)
``Geometry/*.vtp``                         the 79 bone meshes the model names (for viewers only)
=========================================  =====================================================

The meshes are checked together: ``GEOMETRY_SHA256`` is the sha256 of the text made of one line
``"<file> <sha256>\\n"`` per mesh, sorted by name (each file's own digest is in that text).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import ChecksumError, ModelNotFoundError
from .registry import cache_dir, sha256_of

log = logging.getLogger(__name__)

PACKAGE_VERSION = "0.10.49"
PACKAGE = f"pose2sim=={PACKAGE_VERSION}"
WHEEL = f"pose2sim-{PACKAGE_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1"
MEMBER_PREFIX = "Pose2Sim/OpenSim_Setup/"
#: role -> (file name, bytes, sha256)
FILES: dict[str, tuple[str, int, str]] = {
    "markers": ("Markers_BlazePose.xml", 15482,
                "0de8eb64eaa25683caa4d6a9ddf1430009e56233faa4faad91e65b49cf2578a0"),
    "scaling": ("Scaling_Setup_Pose2Sim_Blazepose.xml", 24135,
                "a2ef85eca690d04697d3f328fda9c1cb9d978c750080de458d97d8a15b682e85"),
    "ik": ("IK_Setup_Pose2Sim_Blazepose.xml", 10952,
           "2ca03a9c9add43e83eda3f62cd6f749e06d271f9e6351a343e6f3cc94e3ac314"),
    "model": ("Model_Pose2Sim_simple.osim", 270672,
              "0b25e3efb09f1a6e8c35dbc9a90afe7248895cc74263e3f4f0dbd29519034707"),
}
GEOMETRY_SHA256 = "ef82ec431db8c069af315a04e35fdba60d4cf307caa786eeabb10d5c84fddff6"
GEOMETRY_COUNT = 79


def setup_dir() -> Path:
    """Where the verified set-up files are kept (``$BLAZEPOSE_CACHE_DIR`` moves it too)."""
    return cache_dir() / "opensim" / f"pose2sim-{PACKAGE_VERSION}"


def mesh_names(model_file: Path) -> list[str]:
    """The mesh files a model names (``<mesh_file>``), sorted, without duplicates."""
    return sorted(set(re.findall(r"<mesh_file>\s*([^<\s]+)\s*</mesh_file>", model_file.read_text("utf-8"))))


def _check(folder: Path) -> None:
    """Verify every file in ``folder``; raise ``ChecksumError`` / ``ModelNotFoundError`` naming it."""
    for name, size, digest in FILES.values():
        p = folder / name
        if not p.is_file():
            raise ModelNotFoundError(f"{p}: missing OpenSim set-up file")
        got = sha256_of(p)
        if p.stat().st_size != size or got != digest:
            raise ChecksumError(f"{p}: not Pose2Sim {PACKAGE_VERSION}'s {name} (sha256 {got}; expected {digest})")
    meshes = mesh_names(folder / FILES["model"][0])
    lines = []
    for m in meshes:
        p = folder / "Geometry" / m
        if not p.is_file():
            raise ModelNotFoundError(f"{p}: missing OpenSim mesh file")
        lines.append(f"{m} {sha256_of(p)}\n")
    got = hashlib.sha256("".join(lines).encode()).hexdigest()
    if len(meshes) != GEOMETRY_COUNT or got != GEOMETRY_SHA256:
        raise ChecksumError(f"{folder / 'Geometry'}: the {len(meshes)} meshes are not Pose2Sim {PACKAGE_VERSION}'s "
                            f"(manifest sha256 {got}; expected {GEOMETRY_SHA256})")


def status() -> str:
    """``"ok"``, ``"missing"`` or ``"corrupt: <why>"`` for the cached set-up folder."""
    folder = setup_dir()
    if not folder.exists():
        return "missing"
    try:
        _check(folder)
    except (ChecksumError, ModelNotFoundError) as exc:
        return f"corrupt: {exc}"
    return "ok"


def _download_wheel(tmp: Path, timeout: float) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary=:all:",
           "-d", str(tmp), PACKAGE]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelNotFoundError(f"{PACKAGE}: pip download failed ({exc})") from exc
    whl = tmp / WHEEL
    if out.returncode != 0 or not whl.is_file():
        err = [ln for ln in (out.stderr or "").splitlines() if ln.strip()][-1:] or ["no wheel"]
        raise ModelNotFoundError(f"{PACKAGE}: pip download failed: {err[0]}")
    got = sha256_of(whl)
    if got != WHEEL_SHA256:
        raise ChecksumError(f"{whl.name}: sha256 {got}, expected {WHEEL_SHA256}")
    return whl


def _unpack(whl: Path, dest: Path) -> None:
    """Copy the set-up files and the model's meshes out of the wheel into ``dest``."""
    with zipfile.ZipFile(whl) as z:
        wanted = [name for name, _, _ in FILES.values()]
        for name in wanted:
            with z.open(MEMBER_PREFIX + name) as src, open(dest / name, "wb") as f:
                shutil.copyfileobj(src, f)
        (dest / "Geometry").mkdir()
        for m in mesh_names(dest / FILES["model"][0]):
            with z.open(f"{MEMBER_PREFIX}Geometry/{m}") as src, open(dest / "Geometry" / m, "wb") as f:
                shutil.copyfileobj(src, f)


def fetch(*, timeout: float = 900.0) -> Path:
    """The verified set-up folder, downloading Pose2Sim's wheel once when it is missing or damaged.

    Raises ``ModelNotFoundError`` (pip or the network failed; the message says where to put the
    files by hand) or ``ChecksumError`` (a file does not match)."""
    folder = setup_dir()
    state = status()
    if state == "ok":
        return folder
    if state != "missing":
        log.warning("%s; fetching the OpenSim set-up files again", state)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="fetch-", dir=folder.parent))
    try:
        try:
            whl = _download_wheel(tmp, timeout)
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(
                f"{exc}. Put the files of {MEMBER_PREFIX} from {WHEEL} by hand in {folder} "
                f"(or set $BLAZEPOSE_CACHE_DIR); `blazepose opensim verify` checks them.") from None
        staged = tmp / "setup"
        staged.mkdir()
        _unpack(whl, staged)
        _check(staged)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staged, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("OpenSim set-up files of %s fetched into %s", PACKAGE, folder)
    return folder


def resolve(*, download: bool = True) -> Path:
    """The verified set-up folder; fetched when missing unless ``download`` is false."""
    if status() == "ok":
        return setup_dir()
    if not download:
        raise ModelNotFoundError(f"{setup_dir()}: the OpenSim set-up files are not fetched; "
                                 "`blazepose opensim fetch` fetches them")
    return fetch()


def path_of(role: str, folder: Path | None = None) -> Path:
    """The path of one set-up file by role (``markers``, ``scaling``, ``ik``, ``model``)."""
    return (folder or setup_dir()) / FILES[role][0]
