"""Resuming a batch: where each input's outputs go, the record a result file starts with, and
whether a result on disk is complete and up to date.

Every output is written under a ``.partial`` name and renamed only once complete, so a file with
its final name is always whole. A re-run skips an input whose result file exists, is a complete
document, and records the same input size, mtime and options (and whose extra outputs exist
when asked).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .inputs import BatchItem
from .options import BatchOptions

RESULT_SUFFIX = ".json"
PARTIAL = ".partial"
_BATCH_PREFIX = '{"batch": '


def output_paths(out: str | os.PathLike, item: BatchItem, options: BatchOptions) -> dict[str, Path]:
    """The files one input produces under ``out``: ``result``; with --annotate ``annotated``
    (``NAME.annotated.png`` or ``.mp4``); with --angles ``angles`` (``NAME.angles.json``)."""
    base = Path(out) / item.rel
    paths = {"result": base.with_name(base.name + RESULT_SUFFIX)}
    if options.annotate:
        paths["annotated"] = base.with_name(base.name + (".annotated.png" if item.kind == "image"
                                                         else ".annotated.mp4"))
    if options.angles:
        paths["angles"] = base.with_name(base.name + ".angles.json")
    return paths


def source_record(item: BatchItem, options: BatchOptions) -> dict:
    st = os.stat(item.source)
    return {"input": item.rel, "kind": item.kind, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "options": options.fingerprint(), "extras": options.extras()}


def read_batch_record(path: str | os.PathLike) -> dict | None:
    """The ``"batch"`` record of a complete result file, or None (missing, partial, foreign)."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536).decode("utf-8", errors="replace")
            f.seek(0, os.SEEK_END)
            if f.tell() < 8:
                return None
            f.seek(-8, os.SEEK_END)
            tail = f.read()
    except OSError:
        return None
    # a whole document (this tool only ever renames complete files; this guards against a copy
    # cut short): it starts with our record and ends by closing the frame list and the document
    # on a line of their own (frames are one line each, so a cut inside a frame never does)
    if not head.startswith(_BATCH_PREFIX) or not tail.rstrip().endswith(b"\n]}"):
        return None
    try:
        record, _ = json.JSONDecoder().raw_decode(head, len(_BATCH_PREFIX))
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def is_up_to_date(item: BatchItem, out: str | os.PathLike, options: BatchOptions) -> bool:
    """True when this input's outputs are complete and were made from this file with these options."""
    paths = output_paths(out, item, options)
    rec = read_batch_record(paths["result"])
    if rec is None:
        return False
    try:
        now = source_record(item, options)
    except OSError:
        return False
    if any(rec.get(k) != now[k] for k in ("input", "size", "mtime_ns", "options")):
        return False
    # an extra output asked for must have been made with the same options; one not asked for
    # (an earlier run's annotated video, say) does not matter
    done = rec.get("extras") or {}
    return all(done.get(k) == v and paths[k].is_file() for k, v in now["extras"].items() if v is not None)


def partial_path(path: Path) -> Path:
    """The temporary name of an output (keeps the suffix: encoders choose the format by it)."""
    return path.with_name(path.stem + PARTIAL + path.suffix)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
