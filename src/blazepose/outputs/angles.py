"""Joint angles and range of motion, from a ``PoseResult`` or a sequence of them.

A joint angle is the angle at the middle landmark of three, between the two segments that meet
there, in **degrees, 0 to 180** (unsigned): 180 is a straight limb, 90 a right angle, 0 folded
flat. It does not say in which direction the joint bends.

- ``angle_2d`` uses the image landmarks' x, y in **pixels** (so the image's aspect ratio is
  respected; z is ignored): the angle as it appears in the picture, foreshortened when the limb
  points towards the camera.
- ``angle_3d`` uses the world landmarks (metres, x, y, z): the model's estimate of the real angle,
  independent of the viewpoint but only as good as the model's depth guess.
- ``visibility`` is the smallest visibility of the three landmarks: a threshold on it (for
  summaries, rep counting, plots) is applied by the consumer, never here.

Missing values are NaN (in arrays) and empty / null (in files): when a landmark is absent (an
upper-body result has no knees or ankles), or a segment has zero length.

Angles are rounded to ``ANGLE_DECIMALS`` decimals (0.01 degree) in the CSV and JSON files;
visibilities like every probability, to 1e-5 (``ROUNDING["prob"]`` of ``api/result.py``).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..api.result import ROUNDING, PoseResult
from ..errors import InputError
from ..landmark import Landmark as L
from .sink import GrowingFile, Sink, csv_bytes, write_all

#: The joints, each as (first segment end, vertex, second segment end).
JOINTS: dict[str, tuple[int, int, int]] = {
    "left_elbow": (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
    "right_elbow": (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    "left_shoulder": (L.LEFT_HIP, L.LEFT_SHOULDER, L.LEFT_ELBOW),
    "right_shoulder": (L.RIGHT_HIP, L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    "left_hip": (L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE),
    "right_hip": (L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE),
    "left_knee": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE),
    "right_knee": (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE),
    "left_ankle": (L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    "right_ankle": (L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
}
JOINT_NAMES: tuple[str, ...] = tuple(JOINTS)
_TRIPLETS = np.array([[int(i) for i in t] for t in JOINTS.values()], np.int64)
#: Joint pairs (left and right together), in the order of ``JOINT_NAMES``.
JOINT_PAIRS: tuple[str, ...] = ("elbow", "shoulder", "hip", "knee", "ankle")
ANGLE_DECIMALS = 2
ANGLES_CSV_HEADER = ("frame", "timestamp_ms", "person", "joint", "angle_2d", "angle_3d", "visibility")
SUMMARY_CSV_HEADER = ("person", "joint", "frames", "min_2d", "max_2d", "range_2d", "min_3d", "max_3d",
                      "range_3d")
KINDS = ("2d", "3d")


def angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The angle ABC at vertex ``b``, in degrees in [0, 180], for points in the last axis (2 or 3).

    Broadcasts over leading axes. NaN when a point is NaN or a segment has zero length.
    Computed as atan2(|u × v|, u · v), accurate near 0 and 180 degrees too.
    """
    a, b, c = (np.asarray(p, dtype=np.float64) for p in (a, b, c))
    u, v = a - b, c - b
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    elif u.shape[-1] == 3:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    else:
        raise ValueError(f"angle_at: points must have 2 or 3 coordinates, got {u.shape[-1]}")
    dot = np.sum(u * v, axis=-1)
    degenerate = (np.linalg.norm(u, axis=-1) == 0) | (np.linalg.norm(v, axis=-1) == 0)
    return np.where(degenerate, np.nan, np.degrees(np.arctan2(cross, dot)))


def _of_kind(obj, kind: str) -> np.ndarray:
    """``obj.angles_2d`` or ``obj.angles_3d``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be '2d' or '3d', got {kind!r}")
    return obj.angles_2d if kind == "2d" else obj.angles_3d


@dataclass(frozen=True, eq=False)
class JointAngles:
    """The joint angles of the N people of one frame; J = ``len(JOINT_NAMES)`` joints.

    ``angles_2d``, ``angles_3d``, ``visibility``: (N, J) float64 (degrees; NaN missing);
    ``ids`` (N,) the people's ids; ``frame_index`` / ``timestamp_ms`` as in the ``PoseResult``.
    """

    angles_2d: np.ndarray
    angles_3d: np.ndarray
    visibility: np.ndarray
    ids: np.ndarray
    frame_index: int | None = None
    timestamp_ms: float | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def angles(self, kind: str = "2d") -> np.ndarray:
        return _of_kind(self, kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{frame_index, timestamp_ms, people: [{id, joints: {name: {...}}}]}``."""
        people = []
        for i in range(len(self)):
            joints = {name: {"angle_2d": _r(self.angles_2d[i, j], ANGLE_DECIMALS),
                             "angle_3d": _r(self.angles_3d[i, j], ANGLE_DECIMALS),
                             "visibility": _r(self.visibility[i, j], ROUNDING["prob"])}
                      for j, name in enumerate(JOINT_NAMES)}
            people.append({"id": int(self.ids[i]), "joints": joints})
        return {"frame_index": self.frame_index,
                "timestamp_ms": None if self.timestamp_ms is None else round(float(self.timestamp_ms), 3),
                "people": people}


def _r(v, decimals: int):
    v = float(v)
    return None if not math.isfinite(v) else round(v, decimals)


def joint_angles(result: PoseResult, frame_index: int | None = None) -> JointAngles:
    """The angles at elbows, shoulders, hips, knees and ankles of every person of ``result``.

    2-D from ``result.landmarks[..., :2]`` (pixels), 3-D from ``result.world`` (metres).
    ``frame_index`` overrides the result's own (e.g. the position of a still image in a list).
    """
    n, k = len(result), result.num_landmarks
    a2 = np.full((n, len(JOINTS)), np.nan)
    a3 = np.full((n, len(JOINTS)), np.nan)
    vis = np.full((n, len(JOINTS)), np.nan)
    cols = np.flatnonzero(_TRIPLETS.max(axis=1) < k)          # joints whose landmarks exist
    if n and cols.size:
        p, q, r = _TRIPLETS[cols].T
        lm, wd = result.landmarks, result.world
        a2[:, cols] = angle_at(lm[:, p, :2], lm[:, q, :2], lm[:, r, :2])
        a3[:, cols] = angle_at(wd[:, p], wd[:, q], wd[:, r])
        v = result.visibility
        vis[:, cols] = np.minimum(np.minimum(v[:, p], v[:, q]), v[:, r])
    return JointAngles(a2, a3, vis, np.asarray(result.ids, np.int64),
                       result.frame_index if frame_index is None else frame_index, result.timestamp_ms)


def _as_angles(item: PoseResult | JointAngles) -> JointAngles:
    return joint_angles(item) if isinstance(item, PoseResult) else item


@dataclass(frozen=True, eq=False)
class AngleSeries:
    """One person's joint angles over F frames (a video): arrays (F, J), NaN where absent.

    ``present`` (F,) says whether the person was found in the frame; ``frame_index`` (F,) and
    ``time_s`` (F,) are the frames' indices and timestamps in seconds (from ``timestamp_ms``,
    or NaN when the results carry none).
    """

    angles_2d: np.ndarray
    angles_3d: np.ndarray
    visibility: np.ndarray
    present: np.ndarray
    frame_index: np.ndarray
    time_s: np.ndarray
    person: int | None = None

    def __len__(self) -> int:
        return int(self.present.shape[0])

    def angles(self, kind: str = "2d") -> np.ndarray:
        return _of_kind(self, kind)

    def joint(self, name: str, kind: str = "2d", min_visibility: float = 0.0) -> np.ndarray:
        """(F,) angles of one joint, NaN where absent or less visible than ``min_visibility``."""
        if name not in JOINTS:
            raise ValueError(f"unknown joint {name!r}; joints are {', '.join(JOINT_NAMES)}")
        j = JOINT_NAMES.index(name)
        a = self.angles(kind)[:, j].copy()
        a[~(self.visibility[:, j] >= min_visibility)] = np.nan
        return a

    @classmethod
    def from_frames(cls, frames: Iterable[PoseResult | JointAngles], person: int | None = None) -> "AngleSeries":
        """Collect one person per frame: the one with id ``person``, or (None) each frame's first."""
        rows2, rows3, rowsv, present, idx, ts = [], [], [], [], [], []
        nan = np.full(len(JOINTS), np.nan)
        for pos, item in enumerate(frames):
            ja = _as_angles(item)
            sel = 0 if (person is None and len(ja)) else None
            if person is not None:
                hits = np.flatnonzero(ja.ids == person)
                sel = int(hits[0]) if hits.size else None
            ok = sel is not None
            rows2.append(ja.angles_2d[sel] if ok else nan)
            rows3.append(ja.angles_3d[sel] if ok else nan)
            rowsv.append(ja.visibility[sel] if ok else nan)
            present.append(ok)
            idx.append(pos if ja.frame_index is None else ja.frame_index)
            ts.append(np.nan if ja.timestamp_ms is None else ja.timestamp_ms / 1000.0)
        shape = (0, len(JOINTS))
        return cls(np.array(rows2).reshape(-1, len(JOINTS)) if rows2 else np.zeros(shape),
                   np.array(rows3).reshape(-1, len(JOINTS)) if rows3 else np.zeros(shape),
                   np.array(rowsv).reshape(-1, len(JOINTS)) if rowsv else np.zeros(shape),
                   np.array(present, bool), np.array(idx, np.int64), np.array(ts, np.float64), person)


def summarize(frames: Iterable[PoseResult | JointAngles], *, min_visibility: float = 0.5) -> dict[str, Any]:
    """Range of motion per person and joint over a video (or any sequence of results).

    Only angles whose ``visibility >= min_visibility`` count. Returns
    ``{"min_visibility": v, "people": {id: {joint: {frames, min_2d, max_2d, range_2d, min_3d,
    max_3d, range_3d}}}}`` with ``range = max - min`` in degrees and None where no frame counted.
    People are keyed by id as a string (JSON object keys).
    """
    acc: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for item in frames:
        ja = _as_angles(item)
        for i in range(len(ja)):
            acc.setdefault(int(ja.ids[i]), []).append((ja.angles_2d[i], ja.angles_3d[i], ja.visibility[i]))
    people = {}
    for pid, rows in sorted(acc.items()):
        a2 = np.array([r[0] for r in rows])
        a3 = np.array([r[1] for r in rows])
        vis = np.array([r[2] for r in rows])
        ok = vis >= min_visibility
        joints = {}
        for j, name in enumerate(JOINT_NAMES):
            d: dict[str, Any] = {"frames": int(ok[:, j].sum())}
            for kind, a in (("2d", a2), ("3d", a3)):
                v = a[ok[:, j], j]
                v = v[np.isfinite(v)]
                lo, hi = (float(v.min()), float(v.max())) if v.size else (math.nan, math.nan)
                d.update({f"min_{kind}": _r(lo, ANGLE_DECIMALS), f"max_{kind}": _r(hi, ANGLE_DECIMALS),
                          f"range_{kind}": _r(hi - lo, ANGLE_DECIMALS)})
            joints[name] = d
        people[str(pid)] = joints
    return {"min_visibility": min_visibility, "people": people}


def angle_rows(item: PoseResult | JointAngles, frame: int | None = None):
    """The long-format CSV rows (``ANGLES_CSV_HEADER``) of one frame; None for missing."""
    d = _as_angles(item).to_dict()
    fr = d["frame_index"] if frame is None else frame
    for person in d["people"]:
        for name, v in person["joints"].items():
            yield [fr, d["timestamp_ms"], person["id"], name, v["angle_2d"], v["angle_3d"], v["visibility"]]


def summary_rows(summary: dict[str, Any]):
    """The rows (``SUMMARY_CSV_HEADER``) of a ``summarize`` result."""
    for pid, joints in summary["people"].items():
        for name, d in joints.items():
            yield [pid, name] + [d[c] for c in SUMMARY_CSV_HEADER[2:]]


def summary_path(path: str | os.PathLike) -> Path:
    """Where ``AnglesWriter`` puts the summary of a CSV file: ``NAME.summary.csv`` beside it."""
    p = Path(path)
    return p.with_name(p.stem + ".summary.csv")


class AnglesWriter(Sink):
    """Joint angles of each frame to CSV or JSON (chosen by the extension), then a summary.

    Streams like the landmark writers (valid file after every frame, checked writes). ``close()``
    adds the range of motion summary: to the JSON document as ``"summary"``, for CSV to
    ``NAME.summary.csv`` beside the file (``SUMMARY_CSV_HEADER``). Both are written even when a
    run stops early, as long as the writer is closed (a ``with`` block closes it on errors too).
    """

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any] | None = None, *,
                 min_visibility: float = 0.5, fmt: str | None = None):
        from .document import JsonWriter, header

        super().__init__()
        self.path = Path(path)
        self.format = fmt or _format_from_suffix(self.path)
        self.min_visibility = min_visibility
        self._frames: list[JointAngles] = []
        self._extra: dict[str, Any] | None = None
        if self.format == "json":
            m = dict(meta) if meta is not None else header(None)
            m.update(angles={"unit": "degrees, 0 to 180, 180 = straight",
                             "angle_2d": "from image landmarks x, y (pixels)",
                             "angle_3d": "from world landmarks (metres)",
                             "visibility": "min visibility of the three landmarks",
                             "rounding": f"angles {10 ** -ANGLE_DECIMALS:g} degree, visibility 1e-5",
                             "joints": {n: [L(i).name.lower() for i in t] for n, t in JOINTS.items()}})
            self._writer = JsonWriter(self.path, m)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # each frame's rows in one verified write; a failed one is undone (no cut row)
            self._file = GrowingFile(open(self.path, "wb", buffering=0), self.path, csv_bytes([ANGLES_CSV_HEADER]))
        self.paths.append(self.path)

    def write(self, result: PoseResult | JointAngles, frame=None) -> None:
        """Add a frame's joint angles (from a result, or already computed)."""
        ja = _as_angles(result)
        self._frames.append(ja)
        if self.format == "json":
            self._writer.write(ja.to_dict())
        else:
            data = csv_bytes(angle_rows(ja))
            if data:
                self._file.put(data)

    def summary(self) -> dict[str, Any]:
        return summarize(self._frames, min_visibility=self.min_visibility)

    def close(self, complete: bool = True, extra: dict[str, Any] | None = None) -> None:
        """Write the summary and close; ``extra`` keys (e.g. a rep count) go to the JSON footer."""
        self._extra = extra
        super().close(complete)

    def _finish(self, complete: bool) -> None:
        s = self.summary()
        if self.format == "json":
            self._writer.close(complete, footer={"summary": s, **(self._extra or {})})
            return
        self._file.close()
        out = summary_path(self.path)
        with open(out, "wb", buffering=0) as f:
            write_all(f, csv_bytes([SUMMARY_CSV_HEADER, *summary_rows(s)]), out)
        self.paths.append(out)


def _format_from_suffix(path: Path) -> str:
    suf = path.suffix.lower()
    if suf == ".json":
        return "json"
    if suf == ".csv":
        return "csv"
    raise InputError(f"{path}: joint angles are written as .csv or .json, not {suf or 'a file without extension'}")
