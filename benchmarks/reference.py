"""The reference implementation, MediaPipe 0.10.14, in its own virtual environment.

MediaPipe brings its own OpenCV and protobuf, so it lives in ``.venv-mediapipe`` at the project
root (created on first use with ``pip install mediapipe==0.10.14``). Its wheel ships the detector
and the full model; the lite and heavy files are copied into it from this project's verified
cache, so both sides run the very same model files. Benchmarks call ``run_reference(script,
args)``: the script runs inside that environment and prints one JSON document on stdout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
VENV = Path(os.environ.get("BLAZEPOSE_MP_VENV", ROOT / ".venv-mediapipe"))
MP_VERSION = "0.10.14"


def _ensure_venv(venv: Path, requirement: str) -> Path:
    """A virtual environment at ``venv`` with ``requirement`` installed (made on first use); its python."""
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", requirement], check=True)
    return py


def ensure_reference_env() -> Path:
    """Create the MediaPipe environment if needed; return its python."""
    py = _ensure_venv(VENV, f"mediapipe=={MP_VERSION}")
    site = subprocess.run([str(py), "-c", "import mediapipe, os; print(os.path.dirname(mediapipe.__file__))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    from blazepose.models import registry

    dest = Path(site) / "modules" / "pose_landmark"
    for name in ("lite", "heavy"):
        target = dest / registry.spec(name).file
        if not target.exists():
            shutil.copyfile(registry.resolve(name), target)
    return py


def run_reference(script: str | Path, *args: str, timeout: float = 3600) -> dict:
    """Run a script in the MediaPipe environment; parse the JSON it prints last on stdout."""
    return _run(ensure_reference_env(), Path(script), *args, timeout=timeout)


# ---- MediaPipe Tasks (the newest wheel), in a second environment -----------------------------
TASKS_VENV = Path(os.environ.get("BLAZEPOSE_MPTASKS_VENV", ROOT / ".venv-mptasks"))


def ensure_tasks_env() -> Path:
    """Create the newest-MediaPipe environment if needed (``pip install mediapipe``); its python."""
    return _ensure_venv(TASKS_VENV, "mediapipe")


def tasks_bundle(model: str, folder: Path) -> Path:
    """A ``.task`` bundle of this project's verified detector and ``model`` files (with the input
    normalization metadata Tasks requires, written by _mptasks_bundle.py), in ``folder``."""
    from blazepose.models import registry

    out = Path(folder) / f"pose_landmarker_{model}.task"
    if not out.exists():
        _run(ensure_tasks_env(), HERE / "_mptasks_bundle.py", str(registry.resolve("detector")),
             str(registry.resolve(model)), str(out))
    return out


def run_tasks(*args: str, timeout: float = 3600) -> dict:
    """Run _mptasks_run.py (MediaPipe Tasks PoseLandmarker) in its environment; its JSON."""
    return _run(ensure_tasks_env(), HERE / "_mptasks_run.py", *args, timeout=timeout)


def _run(py: Path, script: Path, *args: str, timeout: float = 3600) -> dict:
    """Run ``script`` with the python of a reference environment; the JSON it prints last."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.setdefault("GLOG_minloglevel", "2")
    out = subprocess.run([str(py), str(script), *args], capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"reference run failed ({script}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

