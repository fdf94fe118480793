"""The command line's own checks, made before any model loads or frame is read.

Output names: each output can be created where it is named, no two outputs name the same file,
and no output names one of the run's inputs (which it would overwrite); each failure is a
``UsageError`` (one line on stderr, exit status 2). Whole-number arguments: ``int_at_least``
(argparse reports a bad value with exit status 2)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import UsageError


def check_writable(flag: str, target: str, *, folder: bool = False) -> None:
    """Refuse ``target`` when the folder it goes in (``target`` itself with ``folder``) cannot be
    created or written: a file stands where a folder is needed, or the nearest existing folder is
    not writable."""
    path = Path(os.path.abspath(target))
    anc = path if folder else path.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise UsageError(f"{flag} {target}: {anc} is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {target}: the folder {anc} is not writable")


def check_distinct(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[str] = ()) -> None:
    """Refuse two outputs (``(flag, name)`` pairs; empty names are skipped) that name the same
    file, and an output that names an input."""
    ins = {os.path.realpath(p) for p in inputs}
    seen: dict[str, str] = {}
    for flag, target in outputs:
        if not target:
            continue
        key = os.path.realpath(target)
        if key in ins:
            raise UsageError(f"{flag} {target}: is an input of this run and would be overwritten")
        if key in seen:
            raise UsageError(f"{flag} {target}: {seen[key]} writes to the same file; give each output its own name")
        seen[key] = flag


def check_export_name(flag: str, target: str | None, formats: tuple[str, ...]) -> str | None:
    """The export format of ``target`` (``outputs.export.format_from_path``), refused with a
    ``UsageError`` when it is a folder or its name gives none of ``formats``; None without a target."""
    from ..errors import InputError
    from ..outputs.export import format_from_path

    if not target:
        return None
    if Path(target).is_dir():
        raise UsageError(f"{flag} {target}: is a folder; give a file name")
    names = {"json": ".json", "npz": ".npz", "coco": ".coco.json", "csv": ".csv"}
    try:
        fmt = format_from_path(target)
    except InputError:
        fmt = None
    if fmt not in formats:
        raise UsageError(f"{flag} {target}: the name must end in " + " or ".join(names[f] for f in formats))
    return fmt


def check_angles_name(target: str | None) -> None:
    """Refuse an ``--angles`` name that is a folder or does not end in .csv or .json."""
    if not target:
        return
    if Path(target).is_dir():
        raise UsageError(f"--angles {target}: is a folder; give a .csv or .json file name")
    if Path(target).suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"--angles {target}: joint angles are written as .csv or .json")


def angles_summary(target: str | None) -> str | None:
    """The second file ``--angles NAME.csv`` writes (its summary), or None."""
    if not target or Path(target).suffix.lower() != ".csv":
        return None
    from ..outputs.angles import summary_path

    return str(summary_path(target))


def int_at_least(minimum: int):
    """An argparse ``type`` for whole numbers >= ``minimum``."""
    import argparse

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
        return v
    return parse


def int_in(minimum: int, maximum: int):
    """An argparse ``type`` for whole numbers in ``minimum..maximum``."""
    import argparse

    at_least = int_at_least(minimum)

    def parse(text: str) -> int:
        v = at_least(text)
        if v > maximum:
            raise argparse.ArgumentTypeError(f"must be in {minimum}..{maximum}, got {v}")
        return v
    return parse


def check_min_visibility(value) -> float:
    """``min_visibility`` (drawing, angles) in [0, 1], else ``OptionsError`` (exit status 2); the one
    check for ``image``, ``video`` and ``BatchOptions``."""
    from ..options import OptionsError

    if not 0.0 <= float(value) <= 1.0:
        raise OptionsError(f"min_visibility must be in [0, 1], got {value!r}")
    return float(value)
