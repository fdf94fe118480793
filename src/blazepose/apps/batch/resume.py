"""Resuming a batch: where each input's outputs go, the record a result file starts with, and
whether a result on disk is complete and up to date.

Every output is written under a ``.partial`` name and renamed only once complete, so a file with
its final name is always whole. A re-run trusts nothing it does not check: it skips an input only
when its result file parses as a whole document that ends with ``"complete": true`` and a
``"frames_written"`` count that matches its frames (``JsonWriter.complete_footer``, written when
the run ended normally), records
the same input size, mtime and options, and its extra outputs exist when asked. Anything else is
redone.
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


def batch_plan(out: str | os.PathLike, options: BatchOptions):
    """The ``OutputPlan`` of a batch: every output per input under ``out`` (not checked here:
    ``blazepose batch`` checks ``--out`` itself)."""
    from ...outputs.plan import OutputPlan

    targets = {"document": out, "annotated": out if options.annotate else None,
               "angles": out if options.angles else None}
    return OutputPlan.build(targets, options.pose, per_input=("document", "annotated", "angles"),
                            min_visibility=options.min_visibility, flags=dict.fromkeys(targets, "--out"),
                            check=False)


def output_paths(out: str | os.PathLike, item: BatchItem, options: BatchOptions) -> dict[str, Path]:
    """The files one input produces under ``out``, named by the one rule (``outputs.plan``):
    ``result`` (``NAME.json``); with --annotate ``annotated`` (``NAME.annotated.png``, or for a
    video ``NAME.annotated.mp4``: H.264, or ``.webm`` VP8 where PyAV's libx264 is missing, see
    ``outputs.video.browser_video_format``); with --angles ``angles`` (``NAME.angles.json``)."""
    own = batch_plan(out, options).names([item])[item.source]
    return {("result" if k == "document" else k): p for k, p in own.items()}


def source_record(item: BatchItem, options: BatchOptions) -> dict:
    st = os.stat(item.source)
    return {"input": item.rel, "kind": item.kind, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "options": options.fingerprint(), "extras": options.extras()}


def read_batch_record(path: str | os.PathLike) -> dict | None:
    """The ``"batch"`` record of a complete result file, or None (missing, partial, torn, foreign).

    Complete means: the whole file parses as one JSON document, starts with our record, and ends
    with ``JsonWriter.complete_footer``, whose frame count matches the frames in the document.
    """
    try:
        with open(path, "rb") as f:
            if not f.read(len(_BATCH_PREFIX)) == _BATCH_PREFIX.encode():
                return None
            f.seek(0)
            doc = json.load(f)
    except (OSError, ValueError):   # missing, or not one whole document (a cut or interleaved file)
        return None
    if not isinstance(doc, dict) or doc.get("complete") is not True or not isinstance(doc.get("frames"), list):
        return None
    if doc.get("frames_written") != len(doc["frames"]):
        return None
    record = doc.get("batch")
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
    """``data`` into ``path`` through its ``.partial`` name (checked: ``OutputWriteError`` names
    ``path``; the ``.partial`` file is removed when the write fails)."""
    from ...errors import OutputWriteError
    from ...outputs.sink import write_all

    tmp = partial_path(path)
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb", buffering=0) as f:
                write_all(f, data, path)
            os.replace(tmp, path)
        except OutputWriteError:
            raise
        except OSError as exc:
            raise OutputWriteError(path, exc.strerror or str(exc), errno=exc.errno) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_partials(out: str | os.PathLike) -> int:
    """Remove the ``.partial`` files under ``out`` (left by a run that was killed, or that could
    not finish writing them); return how many. Only a batch holding ``out``'s lock calls it."""
    removed = 0
    for p in Path(out).rglob(f"*{PARTIAL}.*"):
        if p.stem.endswith(PARTIAL) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)
            removed += 1
    return removed
