"""OpenSim kinematics from one video: scale Pose2Sim's BlazePose model to the person, then
inverse kinematics (IK).

``run_kinematics(results or trc_path, out_dir)`` writes, per person (``NAME`` = the TRC's stem):

======================================  ===============================================================
file                                    what it is
======================================  ===============================================================
``NAME.trc``                            the markers (``outputs.markers``; rescaled when ``height`` is given)
``NAME_scaling_setup.xml``              OpenSim ScaleTool set-up (Pose2Sim's, with our files and times)
``NAME_ik_setup.xml``                   OpenSim InverseKinematicsTool set-up
``NAME_scaled.osim``                    the model scaled to the person
``NAME_ik.mot``                         IK: every coordinate (pelvis, hips, knees, ankles, subtalar,
                                        mtp, lumbar, shoulders, elbows, pronation, wrists) per frame
``NAME_ik_marker_errors.sto``           IK: per frame, total squared error, RMS and max marker error (m)
``NAME_kinematics.json``                summary: RMS marker error, scaling frames, height, file names
======================================  ===============================================================

plus the generic model and marker set copied beside them (OpenSim's set-ups name files relative
to their own folder). The set-up files come from ``models.opensim_setup`` (fetched once).

**Scaling on standing frames.** The world skeleton's thigh looks shorter when the knee bends
(about 41 cm standing, 34-36 cm at the bottom of a squat), so the model is scaled on the longest
stretch of frames where both knees bend less than ``STANDING_FLEXION`` (20°, from the markers);
without such a frame, on every frame (the summary says so). **Height**: the person's stature is
estimated as the standing eye height above the lowest foot marker / 0.936 (eye height is about
93.6 % of stature in anthropometric tables); it is informational in OpenSim. When ``height`` (m) is
given, every marker is scaled by ``height / estimated`` first, so the model takes that size.

OpenSim runs in a subprocess (``outputs.opensim_worker``): it can crash its process at exit.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..errors import InputError, KinematicsError, MissingDependencyError  # noqa: F401 - KinematicsError: re-exported
from .markers import EYE_HEIGHT_RATIO, POSE2SIM_MARKERS, TrcWriter, trc_text
from .storage import read_storage, read_trc

log = logging.getLogger(__name__)

STANDING_FLEXION = 20.0
DEFAULT_MASS_KG = 69.0
INSTALL_HINT = "pip install 'blazepose[opensim]'"


def require_opensim() -> None:
    """Raise ``MissingDependencyError`` naming the extra when the ``opensim`` package is missing
    (checked without importing it: the import is slow and OpenSim runs in a subprocess)."""
    if importlib.util.find_spec("opensim") is None:
        raise MissingDependencyError(f"--opensim needs the OpenSim Python package: {INSTALL_HINT}")


@dataclass(frozen=True)
class Kinematics:
    """What ``run_kinematics`` wrote for one person, and how well the model fits the markers."""

    trc: Path
    scaled_model: Path
    motion: Path
    marker_errors: Path
    summary: Path
    rms_m: float            # mean over frames of the per-frame RMS marker error
    worst_rms_m: float      # the largest per-frame RMS marker error
    scaling_s: tuple[float, float]
    standing_frames: int
    height_m: float
    height_given: bool

    def coordinates(self) -> tuple[list[str], np.ndarray]:
        """(column names, time first; values (F, C)) of the IK ``.mot`` (degrees, metres)."""
        cols, values, _ = read_storage(self.motion)
        return cols, values


def _marker(names: list[str], key: int) -> int:
    return names.index(POSE2SIM_MARKERS[key])


def knee_flexion(names: list[str], markers: np.ndarray) -> np.ndarray:
    """(F, 2) left and right knee flexion in degrees (180 − the hip-knee-ankle angle) from markers."""
    from ..landmark import Landmark as L
    from .angles import angle_at

    out = []
    for hip, knee, ankle in ((L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)):
        a, b, c = (markers[:, _marker(names, i)] for i in (hip, knee, ankle))
        out.append(180.0 - angle_at(a, b, c))
    return np.stack(out, axis=1)


def standing_range(names: list[str], markers: np.ndarray, max_flexion: float = STANDING_FLEXION) -> tuple[int, int, int]:
    """(first, last, count) of the longest run of frames where both knees bend less than
    ``max_flexion``; (0, F-1, 0) when no frame does."""
    ok = (knee_flexion(names, markers) < max_flexion).all(axis=1)
    best, start = (0, -1), None
    for i, v in enumerate(list(ok) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start > best[1] - best[0] + 1:
                best = (start, i - 1)
            start = None
    if best[1] < 0:
        return 0, len(markers) - 1, 0
    return best[0], best[1], best[1] - best[0] + 1


def estimate_height(names: list[str], markers: np.ndarray) -> float:
    """Stature (m): the median eye height above the lowest foot marker / ``EYE_HEIGHT_RATIO``."""
    from ..landmark import Landmark as L

    eyes = markers[:, [_marker(names, L.LEFT_EYE), _marker(names, L.RIGHT_EYE)], 1].mean(axis=1)
    feet = [_marker(names, i) for i in (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)]
    h = eyes - np.nanmin(markers[:, feet, 1], axis=1)
    h = h[np.isfinite(h)]
    return float(np.median(h)) / EYE_HEIGHT_RATIO if h.size else float("nan")


def _set(root: ET.Element, path: str, value: str) -> None:
    for el in root.iterfind(path):
        el.text = value


def _write_setups(setup: Path, out: Path, name: str, times: np.ndarray, scale_range: tuple[float, float],
                  height_m: float, mass_kg: float) -> tuple[Path, Path]:
    """Pose2Sim's scaling and IK set-ups with our file names (relative to ``out``) and times."""
    from ..models import opensim_setup as files

    for role in ("model", "markers"):
        shutil.copyfile(files.path_of(role, setup), out / files.FILES[role][0])
    sc = ET.parse(files.path_of("scaling", setup))
    r = sc.getroot()
    _set(r, ".//ScaleTool/mass", f"{mass_kg:g}")
    _set(r, ".//ScaleTool/height", f"{height_m * 1000:.0f}" if np.isfinite(height_m) else "-1")
    _set(r, ".//GenericModelMaker/model_file", files.FILES["model"][0])
    _set(r, ".//GenericModelMaker/marker_set_file", files.FILES["markers"][0])
    for tool in ("ModelScaler", "MarkerPlacer"):
        _set(r, f".//{tool}/marker_file", f"{name}.trc")
        _set(r, f".//{tool}/time_range", f"{scale_range[0]:.6f} {scale_range[1]:.6f}")
        _set(r, f".//{tool}/output_model_file", f"{name}_scaled.osim")
    scaling = out / f"{name}_scaling_setup.xml"
    sc.write(scaling, encoding="UTF-8", xml_declaration=True)
    ik = ET.parse(files.path_of("ik", setup))
    r = ik.getroot()
    _set(r, ".//InverseKinematicsTool/results_directory", ".")
    _set(r, ".//InverseKinematicsTool/model_file", f"{name}_scaled.osim")
    _set(r, ".//InverseKinematicsTool/marker_file", f"{name}.trc")
    _set(r, ".//InverseKinematicsTool/time_range", f"{times[0]:.6f} {times[-1]:.6f}")
    _set(r, ".//InverseKinematicsTool/output_motion_file", f"{name}_ik.mot")
    _set(r, ".//InverseKinematicsTool/report_errors", "true")
    ik_setup = out / f"{name}_ik_setup.xml"
    ik.write(ik_setup, encoding="UTF-8", xml_declaration=True)
    return scaling, ik_setup


def _run_worker(scaling: Path, ik: Path, geometry: Path, frames: int, on_frame, timeout: float | None) -> None:
    """Run ``opensim_worker`` in a subprocess; ``on_frame(done, total)`` follows its IK log."""
    log_path = scaling.with_name(scaling.name.replace("_scaling_setup.xml", "_opensim.log"))
    cmd = [sys.executable, "-m", "blazepose.outputs.opensim_worker", str(scaling), str(ik), str(geometry)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = 0
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            for line in proc.stdout:
                logf.write(line)
                if on_frame and line.lstrip("[info] ").startswith("Frame ") and done < frames:
                    done += 1
                    on_frame(done, frames)
            code = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if code != 0:
        step = {3: "scaling", 4: "inverse kinematics"}.get(code, f"OpenSim (exit status {code})")
        raise KinematicsError(f"{scaling.parent}: {step} failed; OpenSim's log is {log_path}")


def kinematics_of_trc(trc: str | os.PathLike, out_dir: str | os.PathLike, *, height: float | None = None,
                      mass: float = DEFAULT_MASS_KG, on_frame: Callable[[int, int], None] | None = None,
                      timeout: float | None = None) -> Kinematics:
    """Scale and IK for one TRC marker file (see the module's docstring); returns what was written."""
    from ..models import opensim_setup

    require_opensim()
    setup = opensim_setup.resolve()
    trc, out = Path(trc), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names, times, markers, rate = read_trc(trc)
    missing = [n for n in POSE2SIM_MARKERS.values() if n not in names]
    if missing:
        raise InputError(f"{trc}: no marker named {', '.join(missing)} (Pose2Sim's BlazePose names)")
    present = np.isfinite(markers).any(axis=(1, 2))
    if not present.any():
        raise InputError(f"{trc}: no frame has markers")
    estimated = estimate_height(names, markers)
    name = trc.stem
    if height is not None:
        if not (height > 0 and np.isfinite(estimated)):
            raise InputError(f"{trc}: cannot rescale to height {height} m (estimated height {estimated})")
        markers = markers * (height / estimated)
    if height is not None or trc.resolve().parent != out.resolve():
        new = out / f"{name}.trc"
        new.write_text(trc_text(tuple(names), times, markers, rate, new.name))
        trc = new
    first, last, standing = standing_range(names, markers)
    scale_range = (float(times[first]), float(times[last]))
    if not standing:
        log.warning("%s: no frame with both knees straighter than %g°; scaling on every frame", trc,
                    STANDING_FLEXION)
    scaling, ik = _write_setups(setup, out, name, times, scale_range,
                                height if height is not None else estimated, mass)
    _run_worker(scaling, ik, setup / "Geometry", len(times), on_frame, timeout)
    errors = out / f"{name}_ik_marker_errors.sto"
    raw = out / "_ik_marker_errors.sto"
    if raw.exists():
        os.replace(raw, errors)
    cols, err, _ = read_storage(errors)
    rms = err[:, cols.index("marker_error_RMS")]
    result = Kinematics(trc, out / f"{name}_scaled.osim", out / f"{name}_ik.mot", errors,
                        out / f"{name}_kinematics.json", float(np.nanmean(rms)), float(np.nanmax(rms)),
                        scale_range, standing, float(height if height is not None else estimated),
                        height is not None)
    summary = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}
    summary.update(frames=int(len(times)), frames_with_markers=int(present.sum()), rate_hz=rate,
                   setup_files=f"Pose2Sim {opensim_setup.PACKAGE_VERSION} OpenSim_Setup", mass_kg=mass)
    result.summary.write_text(json.dumps(summary, indent=1) + "\n")
    return result


def run_kinematics(source, out_dir: str | os.PathLike, *, height: float | None = None,
                   person: int | None = None, name: str = "markers", mass: float = DEFAULT_MASS_KG,
                   on_frame: Callable[[int, int], None] | None = None) -> list[Kinematics]:
    """OpenSim scaling + IK of a video's people.

    Args:
        source: a TRC file (``str`` / ``PathLike``), or the results of a video's frames
            (``PoseResult`` sequence), written to ``out_dir/NAME.trc`` first (several people:
            ``NAME.id<N>.trc`` each, and one kinematics per person).
        out_dir: the folder for every file (created).
        height: the person's stature in metres (None: estimated from the markers).
        person: only this track id (results only).
        on_frame: called as ``on_frame(done, total)`` while IK solves frames.
    Returns:
        One ``Kinematics`` per person, in id order.
    Raises:
        MissingDependencyError: ``opensim`` is not installed. KinematicsError: OpenSim failed.
        InputError: the markers cannot be used. ModelNotFoundError: set-up files unavailable.
    """
    require_opensim()
    out = Path(out_dir)
    if isinstance(source, (str, os.PathLike)):
        trcs = [Path(source)]
    else:
        with TrcWriter(out / f"{name}.trc", person=person) as w:
            for r in _iter(source):
                w.write(r)
        trcs = w.paths
        if not trcs:
            raise InputError(f"{out}: nobody in any frame; nothing for OpenSim")
    return [kinematics_of_trc(t, out, height=height, mass=mass, on_frame=on_frame) for t in trcs]


def _iter(source) -> Iterable:
    from ..api.result import PoseResult

    return [source] if isinstance(source, PoseResult) else source
