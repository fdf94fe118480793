"""COCO keypoint results: ``coco_entries`` / ``coco_results`` and the streaming ``CocoWriter``."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from ..api.result import PoseResult
from ..errors import InputError
from ..landmark import COCO17_FROM_BLAZEPOSE
from .sink import GrowingFile, Sink


def coco_entries(result: PoseResult, image_id: int | str) -> list[dict[str, Any]]:
    """COCO keypoint results of one image: one ``{image_id, category_id: 1, keypoints, score}``
    per person; ``keypoints`` are 17 × [x, y, v] with x, y in pixels (rounded like ``to_dict``)
    and v the landmark's visibility probability; ``score`` is the pose-presence score.
    A keypoint the result lacks (legs of an upper-body result) is 0, 0, 0 as COCO writes a
    keypoint that is not labelled (pycocotools needs numbers; our own JSON keeps null), and so
    is one whose coordinates are not finite."""
    d = result.to_dict(include_world=False)
    out = []
    for person in d["people"]:
        lms = person["landmarks"]
        kps: list = []
        for src in COCO17_FROM_BLAZEPOSE:
            xyv = [lms[src]["x"], lms[src]["y"], lms[src]["visibility"]] if src < len(lms) else [None] * 3
            kps += [0, 0, 0] if None in xyv else xyv
        out.append({"image_id": image_id, "category_id": 1, "keypoints": kps, "score": person["score"]})
    return out


def coco_results(results: Iterable[PoseResult], image_ids: Iterable[int | str] | None = None) -> list[dict]:
    """COCO keypoint results of several images; ids default to each result's frame index, else
    its position."""
    results = list(results)
    ids = list(image_ids) if image_ids is not None else [
        r.frame_index if r.frame_index is not None else i for i, r in enumerate(results)]
    if len(ids) != len(results):
        raise InputError(f"coco_results: {len(results)} results but {len(ids)} image ids")
    return [e for r, i in zip(results, ids) for e in coco_entries(r, i)]


class CocoWriter(Sink):
    """COCO keypoint results (a JSON list), valid after every write.

    Like ``JsonWriter``: each frame's entries and the closing bracket go in one unbuffered, checked
    write at the place of the previous closing bracket (the file only grows, nothing is truncated),
    so a process killed between writes leaves a whole list; a write that fails is undone
    (``GrowingFile``), leaving the list as it was."""

    _TAIL = b"\n]\n"

    def __init__(self, path: str | os.PathLike, image_ids: Iterable[int | str] | None = None):
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.paths.append(self.path)
        self._file = GrowingFile(open(self.path, "wb", buffering=0), self.path, b"[", self._TAIL)
        self._ids = list(image_ids) if image_ids is not None else None
        self._n = 0
        self._entries = 0

    def write(self, result: PoseResult, frame=None) -> None:
        """Add one image's people; its ``image_id`` is the next of ``image_ids``, else the result's
        frame index, else its position."""
        if self._ids is not None and self._n < len(self._ids):
            image_id = self._ids[self._n]
        else:
            image_id = result.frame_index if result.frame_index is not None else self._n
        entries = coco_entries(result, image_id)
        self._n += 1
        if not entries:
            return
        body = ",\n".join(json.dumps(e) for e in entries).encode()
        self._file.put((b",\n" if self._entries else b"\n") + body)
        self._entries += len(entries)

    def skip(self, frame_index: int, timestamp_ms: float | None, error: str, file: str | None = None) -> None:
        """An image that could not be read: no entry, but it keeps its place in ``image_ids``."""
        self._n += 1

    def _finish(self, complete: bool) -> None:
        self._file.close()
