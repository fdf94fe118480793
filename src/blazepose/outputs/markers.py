"""Marker files for biomechanics tools: TRC (OpenSim) and C3D (motion-capture labs).

Each landmark of the world skeleton becomes one marker, in **metres**, on **OpenSim's axes**:
Y up, X the camera's right, Z towards the camera (right-handed). From MediaPipe's world landmarks
(x right, y down, z away from the camera, origin between the hips) that is a half turn about x,
``(X, Y, Z) = (x, -y, -z)`` (``opensim_from_world``), the same rotation as the BVH export. It is
a rotation, never a mirror: ``(x, -y, z)`` would turn the person into their mirror image and
OpenSim's inverse kinematics would fit it badly without a word.

**Names.** The 25 landmarks that Pose2Sim's BlazePose marker set (``Markers_BlazePose.xml``)
places on its OpenSim model carry its names exactly (``POSE2SIM_MARKERS``: ``Nose``, ``LEye``,
``LShoulder``, …, ``LBigToe`` for MediaPipe's left foot index, ``LHeel``, ``LThumb``, ``LPinky``,
``LIndex``); a different spelling would make OpenSim leave that marker out of IK silently. The
other 8 keep MediaPipe's names (``left_eye_inner``, ``left_ear``, ``mouth_left``, …). "Left" is the
person's own left. Markers are in MediaPipe's landmark order (``MARKER_NAMES``).

**Origin.** World landmarks are centred between the hips in every frame: one camera gives no
global translation, so the pelvis stays at X = Z = 0 and only rotates. Each person's markers are
lifted by one constant height (``floor_offset``): the 90th percentile over the person's frames of
the lowest foot landmark's depth below the hips (heels and toes, in metres), so the feet touch
Y = 0 when the person stands tallest (when the hips drop, in a squat, the feet rise above Y = 0:
the origin follows the hips). It is constant over the file; it changes no angle.

**Frames and gaps.** A file has one row per frame of the run, from the first to the last, with
the frame's real time (``timestamp_ms`` / 1000, seconds); the rate written in the header is the
median frame interval's inverse (30 Hz when results carry no timestamps). Frames where the person
is missing (not found, or a frame that could not be read) are gaps: ``NaN`` in TRC (never empty
cells, which stop OpenSim's reader), and in C3D NaN coordinates with the residual -1, never zeros.

**People.** One person seen: ``path``. Several: one file per track id, ``NAME.id<ID>.trc`` beside
``path`` (as the BVH export does); ``person=ID`` writes only that id, to ``path`` itself.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..api.result import PoseResult
from ..errors import InputError, MissingDependencyError, OutputWriteError
from ..landmark import LANDMARK_NAMES, Landmark as L
from .sink import Sink, write_all

log = logging.getLogger(__name__)

#: MediaPipe world axes (x right, y down, z away) -> OpenSim axes (X right, Y up, Z towards the camera).
OPENSIM_AXES = np.array([1.0, -1.0, -1.0])
#: Pose2Sim's BlazePose marker names (``Markers_BlazePose.xml``), by landmark.
POSE2SIM_MARKERS: dict[int, str] = {
    L.NOSE: "Nose", L.LEFT_EYE: "LEye", L.RIGHT_EYE: "REye",
    L.LEFT_SHOULDER: "LShoulder", L.RIGHT_SHOULDER: "RShoulder", L.LEFT_ELBOW: "LElbow",
    L.RIGHT_ELBOW: "RElbow", L.LEFT_WRIST: "LWrist", L.RIGHT_WRIST: "RWrist",
    L.LEFT_PINKY: "LPinky", L.RIGHT_PINKY: "RPinky", L.LEFT_INDEX: "LIndex", L.RIGHT_INDEX: "RIndex",
    L.LEFT_THUMB: "LThumb", L.RIGHT_THUMB: "RThumb", L.LEFT_HIP: "LHip", L.RIGHT_HIP: "RHip",
    L.LEFT_KNEE: "LKnee", L.RIGHT_KNEE: "RKnee", L.LEFT_ANKLE: "LAnkle", L.RIGHT_ANKLE: "RAnkle",
    L.LEFT_HEEL: "LHeel", L.RIGHT_HEEL: "RHeel", L.LEFT_FOOT_INDEX: "LBigToe", L.RIGHT_FOOT_INDEX: "RBigToe",
}
#: The marker name of every landmark, in landmark order (Pose2Sim's where it has one).
MARKER_NAMES: tuple[str, ...] = tuple(POSE2SIM_MARKERS.get(i, name) for i, name in enumerate(LANDMARK_NAMES))
_FEET = [int(i) for i in (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)]
_EYES = [int(L.LEFT_EYE), int(L.RIGHT_EYE)]
DEFAULT_RATE = 30.0
#: Eye height / stature of an adult standing upright (anthropometric tables give 0.93-0.94).
EYE_HEIGHT_RATIO = 0.936


def opensim_from_world(world: np.ndarray) -> np.ndarray:
    """OpenSim axes (X right, Y up, Z towards the camera; metres) from MediaPipe world landmarks
    (x right, y down, z away; metres): ``(x, -y, -z)``, a half turn about x. Any leading axes."""
    return np.asarray(world, np.float64) * OPENSIM_AXES


def floor_offset(markers: np.ndarray) -> float:
    """The constant lift (metres) that puts the lowest foot marker at Y = 0 in the tallest frames:
    the 90th percentile over frames of ``-min(Y of heels and toes)``; 0 without feet or frames.
    ``markers``: (F, K, 3) on OpenSim axes, NaN in gaps."""
    if markers.shape[1] <= max(_FEET):
        return 0.0
    feet = markers[:, _FEET, 1]
    feet = feet[np.isfinite(feet).any(axis=1)]
    lowest = np.nanmin(feet, axis=1) if len(feet) else np.array([])
    return float(np.percentile(-lowest, 90)) if lowest.size else 0.0


class PersonSeries(Sink):
    """A sink that buffers one array per person per frame and writes one file per person on close.

    Subclasses define ``_values(result)`` (a ``{id: array}`` of one frame) and
    ``_write_person(path, person_id, times_s, series, rate)`` (``series``: the person's arrays
    stacked over every frame, NaN where absent). ``person`` keeps only that track id (written to
    ``path``). Several ids: ``NAME.id<ID>.EXT`` each. Nobody in any frame: nothing is written.
    """

    def __init__(self, path: str | os.PathLike, *, person: int | None = None):
        super().__init__()
        self.path = Path(path)
        self.person = person
        self._frames: list[tuple[float | None, dict[int, np.ndarray]]] = []
        self._shape: tuple[int, ...] | None = None

    def _values(self, result: PoseResult) -> dict[int, np.ndarray]:
        raise NotImplementedError

    def write(self, result: PoseResult, frame=None) -> None:
        """Add one frame (``frame``, the picture, is not used)."""
        people = {i: v for i, v in self._values(result).items() if self.person is None or i == self.person}
        for v in people.values():
            if self._shape is None:
                self._shape = v.shape
            elif v.shape != self._shape:
                raise InputError(f"{self.path}: every frame must have the same number of landmarks "
                                 f"({self._shape[0]}), got {v.shape[0]}")
        self._frames.append((result.timestamp_ms, people))

    def skip(self, frame_index: int, timestamp_ms: float | None, error: str | None = None) -> None:
        """A frame that could not be read: a gap for everybody."""
        self._frames.append((timestamp_ms, {}))

    def ids(self) -> list[int]:
        """Track ids seen, smallest first."""
        return sorted({i for _, people in self._frames for i in people})

    def times(self) -> tuple[np.ndarray, float]:
        """(times in seconds of every buffered frame, rate in Hz). Frames without a timestamp are
        placed at the median interval from their neighbours (all of them: index / 30 Hz)."""
        ts = np.array([np.nan if t is None else t / 1000.0 for t, _ in self._frames], np.float64)
        ok = np.flatnonzero(np.isfinite(ts))
        steps = np.diff(ts[ok]) / np.maximum(np.diff(ok), 1) if ok.size > 1 else np.array([])
        steps = steps[steps > 0]
        dt = float(np.median(steps)) if steps.size else 1.0 / DEFAULT_RATE
        if ok.size == 0:
            return np.arange(len(ts)) * dt, 1.0 / dt
        idx = np.arange(len(ts))
        ts = np.where(np.isfinite(ts), ts, ts[ok[0]] + (idx - ok[0]) * dt)
        return ts, 1.0 / dt

    def series(self, person_id: int) -> np.ndarray:
        """The person's values stacked over every buffered frame, NaN where absent."""
        out = np.full((len(self._frames), *(self._shape or (0,))), np.nan)
        for f, (_, people) in enumerate(self._frames):
            if person_id in people:
                out[f] = people[person_id]
        return out

    def person_path(self, person_id: int, several: bool) -> Path:
        return self.path.with_name(f"{self.path.stem}.id{person_id}{self.path.suffix}") if several else self.path

    def _finish(self, complete: bool) -> None:
        ids = self.ids()
        if not ids:
            log.warning("%s: nobody in any frame; nothing written", self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        times, rate = self.times()
        for i in ids:
            out = self.person_path(i, len(ids) > 1)
            self.paths.append(out)
            self._write_person(out, i, times, self.series(i), rate)

    def _write_person(self, path: Path, person_id: int, times: np.ndarray, series: np.ndarray, rate: float) -> None:
        raise NotImplementedError


class MarkerTrack(PersonSeries):
    """Per-person markers: world landmarks on OpenSim axes, lifted by ``floor_offset``."""

    def _values(self, result: PoseResult) -> dict[int, np.ndarray]:
        return {int(i): opensim_from_world(result.world[n]) for n, i in enumerate(result.ids)}

    def person_markers(self, person_id: int) -> np.ndarray:
        """(F, K, 3) markers of one person on OpenSim axes, lifted by ``floor_offset``; NaN gaps."""
        out = self.series(person_id)
        out[..., 1] += floor_offset(out)
        return out

    def marker_names(self) -> tuple[str, ...]:
        return MARKER_NAMES[: self._shape[0] if self._shape else len(MARKER_NAMES)]

    def _write_person(self, path: Path, person_id: int, times: np.ndarray, series: np.ndarray, rate: float) -> None:
        series[..., 1] += floor_offset(series)
        self._write_markers(path, times, series, rate)

    def _write_markers(self, path: Path, times: np.ndarray, markers: np.ndarray, rate: float) -> None:
        raise NotImplementedError


def trc_text(names: tuple[str, ...], times: np.ndarray, markers: np.ndarray, rate: float, file_name: str) -> str:
    """An OpenSim TRC (version 4, X/Y/Z, metres): header, ``Frame#``/``Time`` and three columns
    per marker; missing values are ``NaN`` (OpenSim's reader stops at empty cells)."""
    f, k = markers.shape[:2]
    head = [f"PathFileType\t4\t(X/Y/Z)\t{file_name}",
            "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
            f"{rate:.6g}\t{rate:.6g}\t{f}\t{k}\tm\t{rate:.6g}\t1\t{f}",
            "Frame#\tTime\t" + "\t".join(f"{n}\t\t" for n in names).rstrip("\t"),
            "\t\t" + "\t".join(f"X{j}\tY{j}\tZ{j}" for j in range(1, k + 1)), ""]
    flat = markers.reshape(f, k * 3)
    rows = ["\t".join([str(i + 1), f"{times[i]:.6f}"] + ["NaN" if not np.isfinite(v) else f"{v:.6f}" for v in row])
            for i, row in enumerate(flat)]
    return "\n".join(head + rows) + "\n"


class TrcWriter(MarkerTrack):
    """World landmarks as an OpenSim TRC marker file per person (see the module's docstring)."""

    def _write_markers(self, path: Path, times: np.ndarray, markers: np.ndarray, rate: float) -> None:
        data = trc_text(self.marker_names(), times, markers, rate, path.name).encode()
        try:
            f = open(path, "wb")
        except OSError as exc:
            raise OutputWriteError(path, exc.strerror or str(exc), errno=exc.errno) from exc
        with f:
            write_all(f, data, path)


def require_ezc3d():
    """The ``ezc3d`` module, or ``MissingDependencyError`` naming the extra."""
    try:
        import ezc3d
    except ImportError:
        raise MissingDependencyError("C3D files need ezc3d: pip install 'blazepose[c3d]'") from None
    return ezc3d


class C3dWriter(MarkerTrack):
    """World landmarks as a C3D file per person (``ezc3d``): the same markers, names and axes as
    the TRC, units ``m``, the video's rate; gaps are NaN with the residual -1."""

    def __init__(self, path: str | os.PathLike, *, person: int | None = None):
        require_ezc3d()
        super().__init__(path, person=person)

    def _write_markers(self, path: Path, times: np.ndarray, markers: np.ndarray, rate: float) -> None:
        ezc3d = require_ezc3d()
        f, k = markers.shape[:2]
        c = ezc3d.c3d()
        c["parameters"]["POINT"]["RATE"]["value"] = [float(rate)]
        c["parameters"]["POINT"]["LABELS"]["value"] = list(self.marker_names())
        c["parameters"]["POINT"]["UNITS"]["value"] = ["m"]
        pts = np.ones((4, k, f))
        pts[:3] = markers.transpose(2, 1, 0)
        gap = ~np.isfinite(markers).all(axis=2).T            # (k, f)
        residuals = np.zeros((1, k, f))
        residuals[0, gap] = -1.0
        c["data"]["points"] = pts
        c["data"]["meta_points"] = {"residuals": residuals, "camera_masks": np.zeros((7, k, f), bool)}
        try:
            c.write(str(path))
        except (RuntimeError, OSError) as exc:
            raise OutputWriteError(path, str(exc)) from exc


def standing_pixel_height(pixels: np.ndarray) -> float:
    """A person's stature in pixels from their 2-D landmarks ``pixels`` (F, K, 2; x right, y down;
    NaN in gaps): per frame, the lowest foot landmark (heels, toes) minus the eyes' mean height,
    divided by ``EYE_HEIGHT_RATIO``; the 90th percentile over frames (the frames where the person
    stands tallest). NaN without eyes and feet in any frame."""
    if pixels.shape[1] <= max(_FEET):
        return float("nan")
    h = np.fmax.reduce(pixels[:, _FEET, 1], axis=1) - pixels[:, _EYES, 1].mean(axis=1)
    h = h[np.isfinite(h) & (h > 0)]
    return float(np.percentile(h, 90)) / EYE_HEIGHT_RATIO if h.size else float("nan")


def metres_from_pixels(pixels: np.ndarray, height_m: float) -> np.ndarray:
    """2-D landmarks in metres, calibrated by the person's height, for pipelines without world
    landmarks (the way Sports2D calibrates one camera).

    Args:
        pixels: (F, K, 2) one person's image landmarks over frames (x right, y down, pixels;
            NaN in gaps), e.g. ``result.landmarks[n, :, :2]`` stacked over frames.
        height_m: the person's stature in metres.

    Returns:
        (F, K, 3) markers on OpenSim's axes, metres: X = x * s (from the image's left edge),
        Y = (floor - y) * s (up, 0 at the lowest foot in the frames where the person stands
        tallest), Z = 0; s = ``height_m`` / ``standing_pixel_height``. Valid for motion in the
        plane facing the camera (a person farther away looks smaller: one scale for the clip).

    Raises:
        InputError: no frame shows the person's eyes and feet (the scale is unknown).
    """
    px = np.asarray(pixels, np.float64)
    tall = standing_pixel_height(px)
    if not np.isfinite(tall):
        raise InputError("metres from pixels: no frame shows the person's eyes and feet, so their "
                         "height in pixels (the scale) is unknown")
    s = float(height_m) / tall
    feet = np.fmax.reduce(px[:, _FEET, 1], axis=1)
    floor = float(np.percentile(feet[np.isfinite(feet)], 90))
    out = np.zeros((*px.shape[:2], 3))
    out[..., 0] = px[..., 0] * s
    out[..., 1] = (floor - px[..., 1]) * s
    out[~np.isfinite(px).all(axis=2)] = np.nan
    return out


class Trc2dWriter(TrcWriter):
    """The image landmarks as an OpenSim TRC per person, in metres calibrated by ``height_m`` (the
    person's stature; ``metres_from_pixels``): X right, Y up, Z = 0, the same names and gaps as
    ``TrcWriter``. For users who need metres from one camera without the world landmarks."""

    def __init__(self, path: str | os.PathLike, *, height_m: float, person: int | None = None):
        if not 0.5 <= float(height_m) <= 2.8:
            raise InputError(f"{path}: give the person's height in metres (0.5 to 2.8), got {height_m!r}")
        super().__init__(path, person=person)
        self.height_m = float(height_m)

    def _values(self, result: PoseResult) -> dict[int, np.ndarray]:
        return {int(i): np.asarray(result.landmarks[n, :, :2], np.float64) for n, i in enumerate(result.ids)}

    def _write_person(self, path: Path, person_id: int, times: np.ndarray, series: np.ndarray, rate: float) -> None:
        self._write_markers(path, times, metres_from_pixels(series, self.height_m), rate)


def write_markers(results, path: str | os.PathLike, *, person: int | None = None) -> list[Path]:
    """Write the results' world landmarks (a sequence of frames) to ``path`` as TRC (``.trc``) or
    C3D (``.c3d``); returns the files written (one per person, see ``MarkerTrack``)."""
    suffix = Path(path).suffix.lower()
    cls = {".trc": TrcWriter, ".c3d": C3dWriter}.get(suffix)
    if cls is None:
        raise InputError(f"{path}: marker files are .trc or .c3d, not {suffix or 'a name without extension'}")
    items = [results] if isinstance(results, PoseResult) else list(results)
    with cls(path, person=person) as w:
        for r in items:
            w.write(r)
    return w.paths
