"""OpenSim's text tables: reading TRC marker files and ``.mot`` / ``.sto`` storage files, and
writing storage files.

A storage file (OpenSim's "Storage" format, version 1) is a header ending in a line
``endheader``, then a tab-separated table whose first column is ``time`` in seconds::

    NAME
    version=1
    nRows=65
    nColumns=3
    inDegrees=yes
    endheader
    time	left_knee	right_knee
    0.000000	172.31	171.90

OpenSim's IK writes its ``.mot`` this way, and its plotting tools (and Pose2Sim's, Sports2D's,
pandas with ``skiprows``) read ours the same way. Missing values are ``NaN``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError, OutputWriteError
from .sink import write_all


def storage_text(name: str, columns: Sequence[str], times: np.ndarray, values: np.ndarray, *,
                 in_degrees: bool = True, comments: Sequence[str] = ()) -> str:
    """A storage table: ``columns`` (without ``time``) of ``values`` (F, C) at ``times`` (F,)."""
    values = np.asarray(values, np.float64).reshape(len(times), len(columns))
    head = [name, "version=1", f"nRows={len(times)}", f"nColumns={len(columns) + 1}",
            f"inDegrees={'yes' if in_degrees else 'no'}", *comments, "endheader",
            "\t".join(["time", *columns])]
    rows = ["\t".join([f"{t:.6f}"] + ["NaN" if not np.isfinite(v) else f"{v:.6f}" for v in row])
            for t, row in zip(times, values)]
    return "\n".join(head + rows) + "\n"


def write_storage(path: str | os.PathLike, name: str, columns: Sequence[str], times: np.ndarray,
                  values: np.ndarray, **kw) -> Path:
    """Write ``storage_text(...)`` to ``path`` (checked: ``OutputWriteError`` names the file)."""
    path = Path(path)
    data = storage_text(name, columns, times, values, **kw).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "wb")
    except OSError as exc:
        raise OutputWriteError(path, exc.strerror or str(exc), errno=exc.errno) from exc
    with f:
        write_all(f, data, path)
    return path


def read_storage(path: str | os.PathLike) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """(column names with ``time`` first, values (F, C) float64, header ``key=value`` pairs) of a
    ``.mot`` / ``.sto`` file. Raises ``InputError`` naming the file when it has no ``endheader``."""
    lines = Path(path).read_text("utf-8", errors="replace").splitlines()
    try:
        end = next(i for i, ln in enumerate(lines) if ln.strip().lower() == "endheader")
    except StopIteration:
        raise InputError(f"{path}: not an OpenSim storage file (no 'endheader' line)") from None
    meta = dict(ln.split("=", 1) for ln in lines[:end] if "=" in ln)
    columns = lines[end + 1].split("\t")
    rows = [[float(v) for v in ln.split("\t")] for ln in lines[end + 2:] if ln.strip()]
    return [c.strip() for c in columns], np.array(rows, np.float64).reshape(-1, len(columns)), meta


def read_trc(path: str | os.PathLike) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    """(marker names, times (F,) s, markers (F, K, 3), rate Hz) of a TRC file; empty cells and
    ``NaN`` are NaN. Raises ``InputError`` naming the file when its header is not a TRC's."""
    lines = Path(path).read_text("utf-8", errors="replace").splitlines()
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise InputError(f"{path}: not a TRC marker file (no PathFileType header)")
    keys, vals = lines[1].split("\t"), lines[2].split("\t")
    meta = dict(zip(keys, vals))
    names = [n for n in lines[3].split("\t")[2:] if n.strip()]
    k = len(names)
    rows = []
    for ln in lines[5:]:
        if not ln.strip():
            continue
        cells = ln.split("\t")
        cells += [""] * (2 + 3 * k - len(cells))
        rows.append([float(c) if c.strip() else np.nan for c in cells[1:2 + 3 * k]])
    data = np.array(rows, np.float64).reshape(-1, 1 + 3 * k)
    return names, data[:, 0], data[:, 1:].reshape(-1, k, 3), float(meta.get("DataRate", "nan"))
