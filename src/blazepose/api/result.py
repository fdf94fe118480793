"""The result type: one frozen, typed record of the people found in one image or frame.

Coordinates: ``landmarks`` are image pixels, x right and y down, equal to MediaPipe's normalized
output times the image width and height (so they are continuous, not pixel indices); z is relative
depth in the scale of x (pixels), smaller is nearer the camera, about 0 at the hips. ``world`` are
metres, origin at the centre between the hips, axes as the image's (x right, y down, z away from
the camera), rotated by the ROI's rotation like MediaPipe's world landmarks.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping, Sequence, overload

import numpy as np

from ..landmark import COCO17_FROM_BLAZEPOSE, LANDMARK_NAMES, NUM_LANDMARKS, NUM_UPPER_BODY_LANDMARKS, Landmark
from ..stages.landmarks import PersonPose

#: The visibility a landmark needs to count in ``PoseResult.boxes``.
BOX_MIN_VISIBILITY = 0.5
#: Decimal places used by ``to_dict`` (and so by every exporter).
ROUNDING = {"px": 3, "norm": 6, "z": 3, "prob": 5, "world": 5}


class FrozenMeta(dict):
    """A read-only dict (a result's ``meta``): reading works as for a dict, changing raises."""

    def _readonly(self, *args, **kwargs):
        raise TypeError("PoseResult.meta is read-only (make a new result with dataclasses.replace)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]
    __ior__ = _readonly  # type: ignore[assignment]

    def __reduce__(self):
        return (FrozenMeta, (dict(self),))


def _frozen(a, dtype, shape_tail, name, n=None):
    arr = np.array(a, dtype=dtype, copy=True)
    if arr.ndim != 1 + len(shape_tail) or tuple(arr.shape[1:]) != tuple(shape_tail) or (n is not None and arr.shape[0] != n):
        want = ("N" if n is None else str(n),) + tuple(str(s) for s in shape_tail)
        raise ValueError(f"PoseResult.{name}: expected shape ({', '.join(want)}), got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class PoseResult:
    """The poses found in one image or video frame. ``len(result)`` people; 0 is a normal answer.

    Arrays (N people, K landmarks: 33, or 25 with ``upper_body_only``), all read-only:

    - ``landmarks`` (N, K, 3) float64: x, y in image pixels, z in the scale of x;
    - ``visibility`` (N, K), ``presence`` (N, K): probabilities in [0, 1];
    - ``world`` (N, K, 3): metres, origin between the hips;
    - ``scores`` (N,): the landmark model's pose-presence probability;
    - ``rois`` (N, 5): the region the model looked at, cx, cy, width, height in pixels and
      rotation in radians (clockwise);
    - ``ids`` (N,) int64: track ids in video, 0..N-1 in image mode;
    - ``mask``: (H, W) float32 person probability, or None when segmentation is off;
    - ``meta``: a read-only mapping (``model``; in video, ``detector``: whether it ran).

    ``result[i]`` is person ``i`` (a ``Person``: ``person["left_knee"]`` or
    ``person[Landmark.LEFT_KNEE]`` gives that landmark's x, y, z, visibility, presence and world
    point); iterating over a result gives its people, best first (in video: by id). A slice, a
    boolean mask of length N or a list of positions selects people and gives a ``PoseResult``
    (``result[result.scores > 0.8]``, ``result[1:]``, ``result[[0, 2]]``); the mask, frame, time
    and ``meta`` are kept. ``boxes`` (N, 4) are each person's box in pixels.
    """

    landmarks: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    scores: np.ndarray
    rois: np.ndarray
    ids: np.ndarray
    image_size: tuple[int, int]
    mask: np.ndarray | None = None
    frame_index: int | None = None
    timestamp_ms: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        lm = np.asarray(self.landmarks)
        if lm.ndim != 3 or lm.shape[1] not in (NUM_LANDMARKS, NUM_UPPER_BODY_LANDMARKS) or lm.shape[2] != 3:
            raise ValueError(f"PoseResult.landmarks: expected shape (N, 33 or 25, 3), got {lm.shape}")
        n, k = lm.shape[:2]
        set_ = object.__setattr__
        set_(self, "landmarks", _frozen(lm, np.float64, (k, 3), "landmarks"))
        set_(self, "visibility", _frozen(self.visibility, np.float64, (k,), "visibility", n))
        set_(self, "presence", _frozen(self.presence, np.float64, (k,), "presence", n))
        set_(self, "world", _frozen(self.world, np.float64, (k, 3), "world", n))
        set_(self, "scores", _frozen(np.reshape(self.scores, (-1,)), np.float64, (), "scores", n))
        set_(self, "rois", _frozen(np.reshape(self.rois, (-1, 5)), np.float64, (5,), "rois", n))
        set_(self, "ids", _frozen(np.reshape(self.ids, (-1,)), np.int64, (), "ids", n))
        w, h = (int(v) for v in self.image_size)
        if (w < 1 or h < 1) and not (n == 0 and (w, h) == (0, 0) and "error" in (self.meta or {})):
            raise ValueError(f"PoseResult.image_size: expected (width, height) >= 1, got {self.image_size}")
        set_(self, "image_size", (w, h))
        if self.mask is not None:
            m = np.array(self.mask, dtype=np.float32, copy=True)
            if m.shape != (h, w):
                raise ValueError(f"PoseResult.mask: expected shape ({h}, {w}), got {m.shape}")
            m.setflags(write=False)
            set_(self, "mask", m)
        set_(self, "meta", FrozenMeta(self.meta or {}))

    def __getattr__(self, name: str):
        """Only for names not found: MediaPipe's spellings (``pose_landmarks``, ...) name ours."""
        from ..mediapipe_names import RESULT, attribute_error

        raise attribute_error(self, name, RESULT)

    # ---- derived views -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.landmarks.shape[0])

    @overload
    def __getitem__(self, i: int) -> "Person": ...

    @overload
    def __getitem__(self, i: "slice | Sequence[int] | Sequence[bool] | np.ndarray") -> "PoseResult": ...

    def __getitem__(self, i):
        """``result[i]``: person ``i`` (a ``Person``); a slice, boolean mask or list of positions:
        those people as a new ``PoseResult``.

        Raises:
            IndexError: a position out of range, or a mask of the wrong length.
            TypeError: a key that is none of these.
        """
        n = len(self)
        if isinstance(i, slice) or (not isinstance(i, (int, np.integer, str)) and hasattr(i, "__len__")):
            return self._select(i)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError("PoseResult indices are person positions (int), slices, boolean masks or lists of "
                            f"positions, got {type(i).__name__}")
        if not -n <= i < n:
            raise IndexError(f"person {i} out of range: this result has {n} {'person' if n == 1 else 'people'}")
        return Person(self, int(i) % n)

    def _select(self, key) -> "PoseResult":
        n = len(self)
        if isinstance(key, slice):
            idx = np.arange(n)[key]
        else:
            arr = np.asarray(key)
            if arr.dtype == bool:
                if arr.shape != (n,):
                    raise IndexError(f"a boolean mask over people must have shape ({n},), got {arr.shape}")
                idx = np.flatnonzero(arr)
            elif arr.size == 0:
                idx = np.zeros(0, np.int64)
            elif arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer):
                if arr.min() < -n or arr.max() >= n:
                    raise IndexError(f"person positions {arr.tolist()} out of range: this result has {n}")
                idx = arr % max(n, 1)
            else:
                raise TypeError(f"cannot select people with an array of {arr.dtype} and shape {arr.shape}")
        return replace(self, landmarks=self.landmarks[idx], visibility=self.visibility[idx],
                       presence=self.presence[idx], world=self.world[idx], scores=self.scores[idx],
                       rois=self.rois[idx], ids=self.ids[idx], meta=dict(self.meta))

    def __iter__(self) -> Iterator["Person"]:
        return (Person(self, i) for i in range(len(self)))

    @property
    def num_landmarks(self) -> int:
        return int(self.landmarks.shape[1])

    @property
    def width(self) -> int:
        return self.image_size[0]

    @property
    def height(self) -> int:
        return self.image_size[1]

    @property
    def xyn(self) -> np.ndarray:
        """(N, K, 2) normalized x / width, y / height."""
        return self.landmarks[..., :2] / np.array([self.width, self.height], np.float64)

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) each person's box, xmin, ymin, xmax, ymax in image pixels: the tight box around
        the landmarks (x, y) whose visibility is at least 0.5, or around all of them when fewer
        than two are that visible. Not cut to the image (landmarks may lie outside it)."""
        out = np.zeros((len(self), 4))
        for i in range(len(self)):
            xy = self.landmarks[i, :, :2]
            seen = xy[self.visibility[i] >= BOX_MIN_VISIBILITY]
            pts = seen if len(seen) >= 2 else xy
            out[i, :2], out[i, 2:] = pts.min(axis=0), pts.max(axis=0)
        return out

    @property
    def coco17(self) -> np.ndarray:
        """(N, 17, 3) COCO keypoints: x, y pixels and visibility (for 25-point results, legs NaN)."""
        out = np.full((len(self), 17, 3), np.nan)
        for j, src in enumerate(COCO17_FROM_BLAZEPOSE):
            if src < self.num_landmarks:
                out[:, j, :2] = self.landmarks[:, src, :2]
                out[:, j, 2] = self.visibility[:, src]
        return out

    @classmethod
    def from_people(cls, people: Sequence[PersonPose], image_size, num_landmarks: int = NUM_LANDMARKS,
                    **kw) -> "PoseResult":
        """A result from per-person records (each cut to the first ``num_landmarks`` landmarks).

        Args:
            people: one ``stages.landmarks.PersonPose`` per person, in the result's order.
            image_size: (width, height) in pixels.
            num_landmarks: 33, or 25 for upper-body results.
            **kw: the other fields (``mask``, ``frame_index``, ``timestamp_ms``, ``meta``).

        Returns:
            The ``PoseResult``.
        """
        k = num_landmarks
        if not people:
            return cls.empty(image_size, k, **kw)
        return cls(landmarks=np.stack([p.landmarks[:k] for p in people]),
                   visibility=np.stack([p.visibility[:k] for p in people]),
                   presence=np.stack([p.presence[:k] for p in people]),
                   world=np.stack([p.world[:k] for p in people]),
                   scores=np.array([p.score for p in people]), rois=np.stack([p.roi for p in people]),
                   ids=np.array([p.id for p in people], np.int64), image_size=image_size, **kw)

    @classmethod
    def empty(cls, image_size, num_landmarks: int = NUM_LANDMARKS, **kw) -> "PoseResult":
        k = num_landmarks
        return cls(np.zeros((0, k, 3)), np.zeros((0, k)), np.zeros((0, k)), np.zeros((0, k, 3)),
                   np.zeros((0,)), np.zeros((0, 5)), np.zeros((0,), np.int64), image_size, **kw)

    @classmethod
    def failed(cls, error: str, *, file: str | None = None, num_landmarks: int = NUM_LANDMARKS,
               **kw) -> "PoseResult":
        """The result of an input that could not be read: no people, ``image_size`` (0, 0),
        ``error`` the message, ``meta["file"]`` the input's path (None for an array)."""
        meta = {**kw.pop("meta", {}), "error": str(error), "file": file}
        return cls.empty((0, 0), num_landmarks, meta=meta, **kw)

    @property
    def error(self) -> str | None:
        """Why this input gave no result (``process_batch``: a file that cannot be read), else None."""
        return self.meta.get("error")

    # ---- serialisation (one code path with the exporters) ----------------------------------
    def to_dict(self, *, include_world: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; values rounded as ``ROUNDING`` says, missing values None."""

        def r(v, key):
            v = float(v)
            return None if not math.isfinite(v) else round(v, ROUNDING[key])

        people = []
        w, h = self.image_size
        for i in range(len(self)):
            pts = []
            for j in range(self.num_landmarks):
                x, y, z = self.landmarks[i, j]
                d = {"id": j, "name": LANDMARK_NAMES[j], "x": r(x, "px"), "y": r(y, "px"), "z": r(z, "z"),
                     "x_norm": r(x / w, "norm"), "y_norm": r(y / h, "norm"),
                     "visibility": r(self.visibility[i, j], "prob"), "presence": r(self.presence[i, j], "prob")}
                if include_world:
                    wx, wy, wz = self.world[i, j]
                    d.update(world_x=r(wx, "world"), world_y=r(wy, "world"), world_z=r(wz, "world"))
                pts.append(d)
            cx, cy, rw, rh, rot = self.rois[i]
            people.append({"id": int(self.ids[i]), "score": r(self.scores[i], "prob"),
                           "roi": {"x_center": r(cx, "px"), "y_center": r(cy, "px"), "width": r(rw, "px"),
                                   "height": r(rh, "px"), "rotation": r(rot, "norm")},
                           "landmarks": pts})
        d = {"frame_index": self.frame_index,
             "timestamp_ms": None if self.timestamp_ms is None else round(float(self.timestamp_ms), 3),
             "image_width": w, "image_height": h, "people": people}
        if self.error is not None:   # an input that could not be read (``failed``)
            d.update(error=self.error, file=self.meta.get("file"))
        return d

    def to_json(self, *, include_world: bool = True, indent: int | None = None) -> str:
        """``to_dict`` as JSON text (the values every exporter writes)."""
        return json.dumps(self.to_dict(include_world=include_world), indent=indent)


@dataclass(frozen=True)
class LandmarkPoint:
    """One landmark of one person: pixels (x, y; z in the scale of x), probabilities, metres."""

    index: int
    name: str
    x: float
    y: float
    z: float
    visibility: float
    presence: float
    world: tuple[float, float, float]

    @property
    def xy(self) -> tuple[float, float]:
        return (self.x, self.y)


def landmark_index(key: "int | str | Landmark", count: int) -> int:
    """The index of a landmark named by ``Landmark``, index or snake_case / UPPER name."""
    if isinstance(key, str):
        try:
            idx = int(Landmark[key.strip().upper()])
        except KeyError:
            raise KeyError(f"no landmark named {key!r}; names are {', '.join(LANDMARK_NAMES)}") from None
    elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        idx = int(key)
    else:
        raise TypeError(f"landmarks are named by Landmark, int or str, got {type(key).__name__}")
    if not 0 <= idx < count:
        raise KeyError(f"landmark {key!r} (index {idx}) is not in this result, which has landmarks 0..{count - 1}")
    return idx


class Person:
    """A read-only view of one person of a ``PoseResult`` (no copy is made).

    ``person["left_knee"]``, ``person[Landmark.LEFT_KNEE]`` or ``person[25]`` give a
    ``LandmarkPoint``; iterating gives the landmarks in order. The arrays (``landmarks`` (K, 3),
    ``visibility``, ``presence``, ``world``) are views of the result's.
    """

    __slots__ = ("result", "index")

    def __init__(self, result: PoseResult, index: int):
        self.result, self.index = result, index

    @property
    def id(self) -> int:
        return int(self.result.ids[self.index])

    @property
    def score(self) -> float:
        return float(self.result.scores[self.index])

    @property
    def box(self) -> np.ndarray:
        """(4,) xmin, ymin, xmax, ymax in pixels (see ``PoseResult.boxes``)."""
        return self.result[[self.index]].boxes[0]

    def __len__(self) -> int:
        return self.result.num_landmarks

    def __getitem__(self, key: "int | str | Landmark") -> LandmarkPoint:
        j = landmark_index(key, len(self))
        x, y, z = (float(v) for v in self.landmarks[j])
        return LandmarkPoint(j, LANDMARK_NAMES[j], x, y, z, float(self.visibility[j]), float(self.presence[j]),
                             tuple(float(v) for v in self.world[j]))

    def __iter__(self) -> Iterator[LandmarkPoint]:
        return (self[j] for j in range(len(self)))

    def __getattr__(self, name: str):
        """Only for names not found: MediaPipe's ``landmark`` list names ours."""
        from ..mediapipe_names import PERSON, attribute_error

        raise attribute_error(self, name, PERSON)

    def __repr__(self) -> str:
        return f"Person(id={self.id}, score={self.score:.3f}, landmarks={len(self)})"


def _person_array(name: str, source: str) -> property:
    return property(lambda self: getattr(self.result, source)[self.index],
                    doc=f"This person's ``{name}`` (a view of ``PoseResult.{source}``).")


for _name, _source in (("landmarks", "landmarks"), ("visibility", "visibility"), ("presence", "presence"),
                       ("world", "world"), ("roi", "rois")):
    setattr(Person, _name, _person_array(_name, _source))
