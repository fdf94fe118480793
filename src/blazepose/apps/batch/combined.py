"""``blazepose batch ... --csv FILE``: one long CSV over every input of a batch.

Columns: ``input`` (the input's path relative to the inputs' common folder, as in the result
tree: ``a/b.jpg`` for ``OUT/a/b.jpg.json``), then ``outputs.export.CSV_HEADER`` (``frame``,
``timestamp_ms``, ``person``, ``landmark``, ``landmark_name``, ``x``, ``y`` pixels (x right, y
down), ``z``, ``visibility``, ``presence``, ``world_x/y/z`` metres from the hips' centre). One row
per landmark per person per frame; a photo is frame 0 with an empty ``timestamp_ms``; frames
without anybody and frames that could not be read give no row. ``pandas.read_csv(FILE)`` reads it.

It is built after the run from the result documents on disk (those done now and those up to
date from an earlier run, sorted by ``input``), so a resumed batch's CSV covers every input
that has a result; inputs that failed have none. The file is written under a ``.partial`` name
and renamed when complete.
"""
from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path

from ...errors import InputError, OutputWriteError
from ...outputs.export import CSV_HEADER, frame_csv_rows
from .inputs import BatchItem, kind_of
from .options import BatchOptions
from .resume import output_paths, partial_path, read_batch_record

log = logging.getLogger(__name__)

COLUMNS = ("input", *CSV_HEADER)


def result_files(report, options: BatchOptions) -> list[tuple[str, Path]]:
    """``(rel, result file)`` of every input the report lists as done or up to date, by ``rel``."""
    from ...outputs.plan import output_bases

    every = sorted({e["rel"] for e in (*report.done, *report.skipped, *report.failed, *report.pending) if "rel" in e})
    names = dict(zip(every, output_bases(every)))       # the names the run gave (over all its inputs)
    rels = sorted({e["rel"] for e in (*report.done, *report.skipped)})
    files = []
    for rel in rels:
        item = BatchItem(rel, rel, kind_of(rel) or "image", names[rel])
        files.append((rel, output_paths(report.out, item, options)["result"]))
    return files


def write_combined_csv(report, path: str | os.PathLike, options: BatchOptions = BatchOptions()) -> int:
    """Write the combined CSV of a finished batch (``run_batch``'s report) to ``path``; return the
    number of data rows. A result file that is missing or incomplete is left out with a warning."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--csv {path}: is a folder; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    rows = 0
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for rel, result in result_files(report, options):
                if read_batch_record(result) is None:
                    log.warning("%s: no complete result file; %s left out of %s", result, rel, path)
                    continue
                with open(result, encoding="utf-8") as doc:
                    frames = json.load(doc).get("frames") or []
                for frame in frames:
                    for row in frame_csv_rows(frame):
                        w.writerow([rel, *("" if v is None else v for v in row)])
                        rows += 1
        os.replace(tmp, path)
    except OSError as exc:   # a full disk: one line naming the file, no .partial left
        tmp.unlink(missing_ok=True)
        raise OutputWriteError(path, exc.strerror or str(exc), errno=exc.errno) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows
