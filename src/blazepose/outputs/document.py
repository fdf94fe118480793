"""The result document: its header, its frames, and ``JsonWriter``, which streams it.

One JSON document ``{header..., "frames": [...]}`` from every entry point (``document_header``
makes the header); each frame (and each skipped frame, as ``{"frame_index", "timestamp_ms",
"error"}``) is written together with the closing brackets in one checked write over the previous
closing brackets, so the file is a whole document at every instant (``outputs.export`` says more).
``read_document`` reads one back, also one whose last frame a kill cut.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..api.result import PoseResult
from ..errors import InputError
from .sink import GrowingFile, Sink

#: 2: ``blazepose image`` writes ``frames`` like every other path (it wrote ``images`` in 1); the
#: options are one ``"options"`` object and video properties one ``"video"`` object.
SCHEMA_VERSION = 2
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


def document_header(options, source: str | None, video: dict[str, Any] | None = None,
                    **extra: Any) -> dict[str, Any]:
    """The header of a result document, the same from every entry point: ``source`` (a path, an
    upload's name, or None for several photos), ``options`` (the ``PoseOptions`` that shape the
    results; not ``num_threads``) and ``video`` (``fps``, ``width``, ``height``, ``frame_count``,
    ``smoothing``: causal, offline or off; None for photos)."""
    opts = options.to_dict()
    opts.pop("num_threads", None)
    return header(options.model, source=source, options=opts, video=video, **extra)


def image_frame(result: PoseResult, file: str | None) -> dict[str, Any]:
    """The document frame of a photo: ``{"file": ..., **result.to_dict()}``."""
    return {"file": file, **result.to_dict()}


def complete_footer(frames: int) -> dict[str, Any]:
    """The keys that end a document whose run ended normally: ``{"complete": true,
    "frames_written": N}`` (N: entries in ``"frames"``, skipped frames included). A document
    without them was interrupted (or is being written)."""
    return {"complete": True, "frames_written": int(frames)}


def skipped_frame(frame_index: int, timestamp_ms: float | None, error: str, file: str | None = None) -> dict:
    """The document frame of a frame (or photo) that could not be read."""
    d: dict[str, Any] = {"frame_index": frame_index,
                         "timestamp_ms": None if timestamp_ms is None else round(float(timestamp_ms), 3),
                         "error": error}
    return d if file is None else {"file": file, **d}


class JsonWriter(Sink):
    """A JSON document of frames, a whole document at every instant.

    Each ``write`` puts the frame and the closing brackets in one unbuffered, checked write
    (``write_all``) at the place of the previous closing brackets (the file only grows, it is
    never truncated), so a process killed between writes leaves either the document before the
    frame or the one after it. ``path`` may also be a text stream (stdout): the document is then
    complete on ``close``. A result whose ``meta`` has a ``"file"`` (a photo, ``run_images``) is
    written as ``image_frame``: ``{"file": ..., **to_dict()}``.
    """

    _TAIL = b"\n]}\n"

    def __init__(self, path: str | os.PathLike | Any, meta: dict[str, Any]):
        super().__init__()
        head = (json.dumps(meta)[:-1] + (', "frames": [' if meta else '"frames": [')).encode()
        self._n = 0
        self._footer: dict[str, Any] | None = None
        if hasattr(path, "write"):
            self.path, self._stream, self._f = None, path, None
            self._stream.write(head.decode())
            return
        self._stream = None
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.paths.append(self.path)
        self._file = GrowingFile(open(self.path, "wb", buffering=0), self.path, head, self._TAIL)

    def _put(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.write(body.decode())
            return
        self._file.put(body)     # one write() on an unbuffered file, verified

    def write(self, result: PoseResult | dict, frame=None) -> None:
        """Add a frame: a result, or a ready document frame (a dict)."""
        if isinstance(result, PoseResult):
            d = result.to_dict()
            if result.meta.get("file") is not None:
                d = {"file": result.meta["file"], **d}
        else:
            d = result
        self._put((",\n" if self._n else "\n").encode() + json.dumps(d).encode())
        self._n += 1

    def skip(self, frame_index: int, timestamp_ms: float | None, error: str, file: str | None = None) -> None:
        """Record a frame that could not be read: ``{"frame_index", "timestamp_ms", "error"}``
        (a photo's: ``"file"`` first)."""
        self.write(skipped_frame(frame_index, timestamp_ms, error, file=file))

    def complete_footer(self) -> dict[str, Any]:
        return complete_footer(self._n)

    def close(self, complete: bool = True, footer: dict[str, Any] | None = None) -> None:
        """Close the document: ``footer`` keys (e.g. a summary) after ``"frames"``; without them a
        run that ended normally (``complete``) adds ``complete_footer``, an interrupted one nothing."""
        self._footer = footer
        super().close(complete)

    def _finish(self, complete: bool) -> None:
        footer = self._footer if self._footer is not None else (self.complete_footer() if complete else None)
        if self._stream is not None:
            text = "\n]" + (", " + json.dumps(footer)[1:] if footer else "}") + "\n"
            self._stream.write(text)
            self._stream.flush()
            self._stream = None
            return
        try:    # a document whose writes failed gets no footer (GrowingFile refuses every write)
            if footer and self._file.error is None:
                self._file.put(b"", last=b"\n], " + json.dumps(footer)[1:].encode() + b"\n")
        finally:
            self._file.close()


def read_document(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON document written by ``JsonWriter``, also one whose last frame was cut.

    On Linux a SIGKILL that lands inside the one ``write()`` of a frame (several memory pages) can
    stop it at a page boundary, leaving that frame half-written. The header and each frame are
    one line each, so such a file is read up to its last whole frame (without ``"complete"``).
    Raises ``InputError`` naming the file when not even the header is whole, or when the file is
    other JSON (e.g. a COCO results list: not an object with a ``"frames"`` list).
    """
    data = Path(path).read_bytes()
    try:
        doc = json.loads(data)
    except ValueError:
        pass
    else:
        if not isinstance(doc, dict) or not isinstance(doc.get("frames"), list):
            raise InputError(f"{path}: not a result document (JSON, but not an object with the "
                             "\"frames\" list JsonWriter writes)")
        return doc
    head, *lines = data.split(b"\n")
    frames, dec = [], json.JSONDecoder()
    for line in lines:
        try:   # a whole frame, maybe followed by what is left of the old closing brackets
            frames.append(dec.raw_decode(line.decode("utf-8"))[0])
        except ValueError:
            break
    try:
        doc = json.loads(head + b"]}")
    except ValueError:
        raise InputError(f"{path}: not a result document (its header is cut or foreign)") from None
    doc["frames"] = [f for f in frames if isinstance(f, dict)]
    return doc
