"""Streaming exporters ("sinks"). Every writer shares ``PoseResult.to_dict()``'s values and rounding.

Every writer is a ``Sink`` (``outputs.sink``: ``write(result, frame=None)``, ``skip(frame_index,
timestamp_ms, error)``, ``close()``, ``paths``; every byte through the checked ``write_all``).
``apps.loop.run_video`` / ``run_images`` drive any list of them; ``outputs.plan.OutputPlan`` opens
them for the CLI, batch and the web server, and ``export`` uses the same classes. Files stay valid after every frame, so an interrupted run (Ctrl-C, a crash, a kill)
leaves readable files with every frame already written:
- JSON: one document ``{header..., "frames": [...]}`` (``document_header`` makes the header;
  schema in ``SCHEMA``); each frame (and each skipped frame, as ``{"frame_index", "timestamp_ms",
  "error"}``) is written together with the closing brackets in one write that overwrites the
  previous closing brackets, so the file is a whole document at every instant. A run that ends
  normally (a ``with`` block left without an exception) closes the document with
  ``"complete": true, "frames_written": N``; an interrupted one has no such keys. One limit: a
  SIGKILL inside a frame's write can leave that frame cut at a memory-page boundary (Linux);
  ``read_document`` then reads every frame before it (docs/kill_safety.md).
- CSV: long format, one row per person and landmark, fixed header, flushed per frame.
- COCO keypoint results (``outputs.coco``): a JSON list, one entry per person, valid after every
  frame too (written like the JSON document).
- NumPy ``.npz``: frames stacked into arrays (shapes in ``NpzWriter``), written on ``close``
  (a ``with`` block closes it on errors too, so frames already processed are kept).
Missing values are empty (CSV), null (JSON) or NaN (``.npz``), never 0.

Rounding (``ROUNDING`` in ``api/result.py``, shared with ``PoseResult.to_dict``): pixels
(x, y, z, ROI) to 0.001, normalized coordinates and ROI rotation to 1e-6, probabilities
(visibility, presence, score) to 1e-5, world metres to 1e-5. ``.npz`` files are not rounded:
they hold the float64 values as computed.

``export(results, path)`` picks the format from the file name: ``.json``, ``.csv``,
``.coco.json`` (COCO keypoint results), ``.npz``, ``.bvh`` (motion capture, ``outputs/bvh.py``),
``.trc`` / ``.c3d`` (markers, ``outputs/markers.py``) or ``.mot`` (angles, ``outputs/mot.py``).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..api.result import PoseResult
from ..errors import InputError
from ..landmark import LANDMARK_NAMES
from .coco import CocoWriter, coco_entries, coco_results  # noqa: F401 - part of this module's interface
from .sink import GrowingFile, Sink, csv_bytes, write_all
from .document import (COORDINATES, SCHEMA_VERSION, JsonWriter, complete_footer, document_header,  # noqa: F401
                       header, image_frame, read_document, skipped_frame)  # the document: outputs.document

CSV_HEADER = ("frame", "timestamp_ms", "person", "landmark", "landmark_name", "x", "y", "z",
              "visibility", "presence", "world_x", "world_y", "world_z")
def csv_rows(result: PoseResult):
    """The long-format CSV rows of one result (values from ``to_dict``)."""
    return frame_csv_rows(result.to_dict())


def frame_csv_rows(d: dict[str, Any]):
    """The long-format CSV rows (``CSV_HEADER``) of one document frame (``to_dict``'s form; a
    skipped frame has no people and gives no row)."""
    fr = d.get("frame_index")
    for person in d.get("people") or ():
        for lm in person["landmarks"]:
            yield [fr, d.get("timestamp_ms"), person["id"], lm["id"], lm["name"], lm["x"], lm["y"], lm["z"],
                   lm["visibility"], lm["presence"], lm.get("world_x"), lm.get("world_y"), lm.get("world_z")]


class CsvWriter(Sink):
    """Long-format CSV with the fixed ``CSV_HEADER``; each frame's rows in one checked write
    (``GrowingFile``: a write that fails is undone, so the file never ends in a cut row)."""

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.paths.append(self.path)
        self._file = GrowingFile(open(self.path, "wb", buffering=0), self.path, self._rows([CSV_HEADER]))

    _rows = staticmethod(csv_bytes)

    def write(self, result: PoseResult, frame=None) -> None:
        rows = self._rows(csv_rows(result))
        if rows:     # every row of the frame in one verified write: a failed one leaves no cut row
            self._file.put(rows)

    def _finish(self, complete: bool) -> None:
        self._file.close()


# ---- NumPy --------------------------------------------------------------------------------------
class NpzWriter(Sink):
    """Frames stacked into NumPy arrays, saved (compressed) to ``path`` on ``close``.

    F frames, P = the most people in any frame, K landmarks (33, or 25 upper-body). Frames with
    fewer people are padded with NaN (ids with -1). Values are float64 as computed, not rounded.

    ====================  ==============  ===================================================
    key                   shape, dtype    meaning
    ====================  ==============  ===================================================
    ``frame_index``       (F,) int64      the result's frame index, else its position
    ``timestamp_ms``      (F,) float64    NaN when the result has none (still images)
    ``image_size``        (F, 2) int64    width, height
    ``num_people``        (F,) int64      people found in the frame
    ``ids``               (F, P) int64    track ids, -1 padding
    ``landmarks``         (F, P, K, 3)    x, y pixels, z in the scale of x
    ``visibility``        (F, P, K)       probability
    ``presence``          (F, P, K)       probability
    ``world``             (F, P, K, 3)    metres, origin between the hips
    ``scores``            (F, P)          pose-presence probability
    ``rois``              (F, P, 5)       cx, cy, width, height (pixels), rotation (radians)
    ``landmark_names``    (K,) str        snake_case names
    ``meta``              () str          the JSON header (schema, version, model, conventions)
    ====================  ==============  ===================================================
    """

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any] | None = None):
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.meta = meta if meta is not None else header(None)
        self._frames: list[tuple[int, PoseResult]] = []

    def write(self, result: PoseResult, frame=None) -> None:
        if self._frames and result.num_landmarks != self._frames[0][1].num_landmarks:
            raise InputError(f"{self.path}: every frame must have the same number of landmarks "
                             f"({self._frames[0][1].num_landmarks}), got {result.num_landmarks}")
        index = result.frame_index if result.frame_index is not None else len(self._frames)
        self._frames.append((int(index), result))

    def arrays(self) -> dict[str, np.ndarray]:
        f = len(self._frames)
        k = self._frames[0][1].num_landmarks if f else len(LANDMARK_NAMES)
        p = max((len(r) for _, r in self._frames), default=0)
        out = {"frame_index": np.array([i for i, _ in self._frames], np.int64),
               "timestamp_ms": np.array([np.nan if r.timestamp_ms is None else r.timestamp_ms
                                         for _, r in self._frames], np.float64),
               "image_size": np.array([r.image_size for _, r in self._frames], np.int64).reshape(f, 2),
               "num_people": np.array([len(r) for _, r in self._frames], np.int64),
               "ids": np.full((f, p), -1, np.int64),
               "landmarks": np.full((f, p, k, 3), np.nan), "visibility": np.full((f, p, k), np.nan),
               "presence": np.full((f, p, k), np.nan), "world": np.full((f, p, k, 3), np.nan),
               "scores": np.full((f, p), np.nan), "rois": np.full((f, p, 5), np.nan)}
        for t, (_, r) in enumerate(self._frames):
            n = len(r)
            for key in ("ids", "landmarks", "visibility", "presence", "world", "scores", "rois"):
                out[key][t, :n] = getattr(r, key)
        out["landmark_names"] = np.array(LANDMARK_NAMES[:k])
        out["meta"] = np.array(json.dumps(self.meta))
        return out

    def _finish(self, complete: bool) -> None:
        """Save the frames so far (also after an interruption: they are kept)."""
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays())
        with open(self.path, "wb", buffering=0) as f:
            write_all(f, buf.getvalue(), self.path)
        self.paths.append(self.path)


# ---- one call -----------------------------------------------------------------------------------
FORMATS = ("json", "csv", "coco", "npz", "bvh", "trc", "c3d", "mot")


def format_from_path(path: str | os.PathLike) -> str:
    """``.coco.json`` → coco, ``.json`` → json, ``.csv`` → csv, ``.npz`` → npz, ``.bvh`` → bvh."""
    name = Path(path).name.lower()
    for suffix, fmt in ((".coco.json", "coco"), (".json", "json"), (".csv", "csv"), (".npz", "npz"),
                        (".bvh", "bvh"), (".trc", "trc"), (".c3d", "c3d"), (".mot", "mot")):
        if name.endswith(suffix):
            return fmt
    raise InputError(f"{path}: cannot tell the export format from the name; use .json, .csv, "
                     f".coco.json, .npz, .bvh, .trc, .c3d or .mot, or pass format=")


def open_writer(path: str | os.PathLike, format: str | None = None, *, meta: dict[str, Any] | None = None,
                image_ids: Iterable[int | str] | None = None) -> Sink:
    """The sink for ``path`` in ``format`` (default: from the file name, see ``format_from_path``);
    ``meta`` is the document header of the JSON and ``.npz`` formats, ``image_ids`` the COCO
    image ids in order."""
    fmt = format or format_from_path(path)
    if fmt == "json":
        return JsonWriter(path, meta if meta is not None else header(None))
    if fmt == "csv":
        return CsvWriter(path)
    if fmt == "coco":
        return CocoWriter(path, image_ids)
    if fmt == "npz":
        return NpzWriter(path, meta)
    if fmt == "bvh":   # motion capture, one file per person (outputs/bvh.py)
        from .bvh import BvhWriter

        return BvhWriter(path)
    if fmt in ("trc", "c3d"):   # markers for OpenSim / motion-capture tools, one file per person
        from .markers import C3dWriter, TrcWriter

        return (TrcWriter if fmt == "trc" else C3dWriter)(path)
    if fmt == "mot":            # our joint and segment angles, OpenSim's storage format
        from .mot import AnglesMotWriter

        return AnglesMotWriter(path)
    raise InputError(f"{path}: unknown export format {fmt!r}; formats are {', '.join(FORMATS)}")


def export(results: PoseResult | Iterable[PoseResult], path: str | os.PathLike, format: str | None = None,
           *, options=None, source: str | None = None, video: dict[str, Any] | None = None,
           model: str | None = None, image_ids: Iterable[int | str] | None = None) -> list[Path]:
    """Write results (one, or a sequence of frames) to ``path`` through the CLI's sinks.

    Args:
        results: one ``PoseResult`` or a sequence of frames; frames without a frame index are
            numbered by position.
        path: the file; its name gives the format (``format_from_path``) unless ``format`` is given.
        options: the ``PoseOptions`` the results were made with: the header is then the CLI's
            (``document_header``); without them it says what it knows (``options`` null, the model
            of the results).
        source: the header's ``source`` (as ``blazepose video`` writes it).
        video: the header's ``video`` (fps, size, frame count, smoothing).
        model: the header's model when ``options`` is not given (default: the results').
        image_ids: the images' ids in COCO results (default: frame indices).

    Returns:
        Every file written, in order: ``[path]``, or for BVH with several people one
        ``NAME.id<N>.bvh`` per person.

    Raises:
        InputError: unknown format, or as many image ids as results are not given.
    """
    from dataclasses import replace

    items = [results] if isinstance(results, PoseResult) else list(results)
    items = [r if r.frame_index is not None else replace(r, frame_index=pos) for pos, r in enumerate(items)]
    ids = list(image_ids) if image_ids is not None else None
    if ids is not None and len(ids) != len(items):
        raise InputError(f"{path}: {len(items)} results but {len(ids)} image ids")
    if model is None:
        model = next((r.meta.get("model") for r in items if r.meta.get("model")), None)
    meta = (document_header(options, source, video) if options is not None
            else header(model, source=source, options=None, video=video))
    with open_writer(path, format, meta=meta, image_ids=ids) as w:
        for r in items:
            w.write(r)
    return list(w.paths)
