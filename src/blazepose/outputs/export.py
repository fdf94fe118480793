"""Streaming exporters. Every writer shares ``PoseResult.to_dict()``'s values and rounding.

Writers take one result per frame (``write``) and keep the file valid after every frame, so an
interrupted run (Ctrl-C, a crash) leaves readable files with every frame already written:
- JSON: one document ``{header..., "frames": [...]}``; after each frame the closing brackets are
  written and the file flushed; the next frame overwrites those brackets.
- CSV: long format, one row per person and landmark, fixed header, flushed per frame.
Missing values are empty (CSV) or null (JSON), never 0.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from ..api.result import PoseResult

SCHEMA_VERSION = 1
CSV_HEADER = ("frame", "timestamp_ms", "person", "landmark", "landmark_name", "x", "y", "z",
              "visibility", "presence", "world_x", "world_y", "world_z")
COORDINATES = {"x": "pixels from the left edge", "y": "pixels from the top edge",
               "z": "relative depth, pixels (scale of x), smaller is nearer",
               "x_norm": "x / image_width", "y_norm": "y / image_height",
               "world": "metres, origin between the hips", "rounding": "pixels 0.001, normalized 1e-6, "
               "probabilities 1e-5, metres 1e-5"}


def header(model: str | None, **extra: Any) -> dict[str, Any]:
    """The metadata every export starts with."""
    from .. import __version__

    return {"schema_version": SCHEMA_VERSION, "blazepose_version": __version__, "model": model,
            "coordinates": COORDINATES, **extra}


class JsonWriter:
    """A JSON document of frames that stays valid after every ``write``."""

    _TAIL = b"\n]}\n"

    def __init__(self, path: str | os.PathLike, meta: dict[str, Any]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "wb")
        head = json.dumps(meta)[:-1] + (', "frames": [' if meta else '"frames": [')
        self._f.write(head.encode())
        self._n = 0
        self._f.write(self._TAIL)
        self._f.flush()

    def write(self, result: PoseResult | dict) -> None:
        d = result.to_dict() if isinstance(result, PoseResult) else result
        self._f.seek(-len(self._TAIL), os.SEEK_END)
        self._f.truncate()
        self._f.write((",\n" if self._n else "\n").encode() + json.dumps(d).encode() + self._TAIL)
        self._f.flush()
        self._n += 1

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def csv_rows(result: PoseResult, frame: int | None = None):
    """The long-format CSV rows of one result (values from ``to_dict``)."""
    d = result.to_dict()
    fr = d["frame_index"] if frame is None else frame
    for person in d["people"]:
        for lm in person["landmarks"]:
            yield [fr, d["timestamp_ms"], person["id"], lm["id"], lm["name"], lm["x"], lm["y"], lm["z"],
                   lm["visibility"], lm["presence"], lm.get("world_x"), lm.get("world_y"), lm.get("world_z")]


class CsvWriter:
    """Long-format CSV with the fixed ``CSV_HEADER``, flushed after every frame."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "w", newline="")
        self._w = csv.writer(self._f)
        self._w.writerow(CSV_HEADER)
        self._f.flush()

    def write(self, result: PoseResult, frame: int | None = None) -> None:
        for row in csv_rows(result, frame):
            self._w.writerow(["" if v is None else v for v in row])
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
