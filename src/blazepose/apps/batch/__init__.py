"""``blazepose batch``: many photos and videos at once, on every core, resumable, or on Ray.

Inputs are files, folders (searched recursively for image and video files) and glob patterns.
Each input gets one JSON result file in a folder tree under ``--out`` that mirrors the inputs'
tree below their common folder: ``photos/a/b.jpg`` → ``OUT/a/b.jpg.json`` (plus
``b.jpg.annotated.png`` with ``--annotate``, ``.annotated.mp4`` for a video (H.264 in a fragmented MP4;
``.webm`` VP8 where PyAV's libx264 is missing: ``outputs.video.browser_video_format``), and
``b.jpg.angles.json`` with ``--angles``: ``outputs.angles.AnglesWriter``'s joint angles and
range-of-motion summary). The JSON is the streaming format of ``outputs.export.JsonWriter`` (one
frame for a photo; one per frame for a video, in video mode: tracking and smoothing) with a
leading ``"batch"`` record: the input's relative path, size and mtime, and the options that shape
the outputs.

Safety and resuming (``docs/kill_safety.md``): one batch at a time per ``--out`` (``lock``);
workers die with their driver, however it dies; every output is written under a ``.partial`` name
and renamed only once complete. A re-run skips an input only when its result file parses as a
whole document marked complete (``"complete": true`` with its frame count) and records the same
input size, mtime and options (and its extra outputs exist when asked); anything else is redone.
A bad input is reported and skipped; it never stops the batch. The summary (done, skipped, failed
with reasons, and when interrupted pending: what is complete on disk counts as done) is printed
and written to ``OUT/batch_report.json``.

Layout: ``inputs`` (finding files), ``options`` (``BatchOptions``), ``resume`` (output names,
records, up-to-date checks), ``lock`` (one batch per folder), ``worker`` (one landmarker; videos
through ``apps.loop.run_video``), ``runners`` (process pool, Ray), ``run`` (``run_batch`` and the
report), ``cli``.

Runners (``--runner``): ``local`` (default) is a process pool, one ``PoseLandmarker`` per worker process, each
engine using ``cores / workers`` threads; ``ray`` runs the same worker code as Ray actors, on a
local Ray or on a cluster (``--address``; inputs and ``--out`` must then be on a filesystem every
node sees). Coordinates in the outputs are those of ``PoseResult.to_dict``: image pixels, x right,
y down.
"""
from __future__ import annotations

from .inputs import BatchItem, collect_inputs, kind_of
from .options import BatchOptions
from .run import REPORT_NAME, BatchInterrupted, BatchReport, run_batch


def register(subparsers) -> None:
    from .cli import register as _register

    _register(subparsers)


__all__ = ["BatchInterrupted", "BatchItem", "BatchOptions", "BatchReport", "REPORT_NAME", "collect_inputs", "kind_of",
           "register", "run_batch"]
