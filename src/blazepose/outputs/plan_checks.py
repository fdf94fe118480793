"""The checks ``OutputPlan.build`` runs before any model loads or frame is read.

Each output can be created where it is named, its name gives a format this output has, no two
outputs name the same file (a per-person ``NAME.id<N>.bvh`` and the angles summary
``NAME.summary.csv`` included), no output names one of the run's inputs (which it would
overwrite), BVH has the legs it needs, and the plotting libraries asked for are installed.
Each failure is a ``UsageError`` naming the flag and the target.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import InputError, UsageError

#: Picture suffixes a photo's ``annotated`` / ``mask`` / ``plot`` file may have.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: The ``document`` target that means standard output.
STDOUT = "-"
_DOC_SUFFIX = {"json": ".json", "npz": ".npz", "coco": ".coco.json", "csv": ".csv"}


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
    from .export import format_from_path

    if not target:
        return None
    if Path(target).is_dir():
        raise UsageError(f"{flag} {target}: is a folder; give a file name")
    try:
        fmt = format_from_path(target)
    except InputError:
        fmt = None
    if fmt not in formats:
        raise UsageError(f"{flag} {target}: the name must end in " + " or ".join(_DOC_SUFFIX[f] for f in formats))
    return fmt


def check_angles_name(flag: str, target: str | None) -> None:
    """Refuse an angles name that is a folder or does not end in .csv or .json."""
    if not target:
        return
    if Path(target).is_dir():
        raise UsageError(f"{flag} {target}: is a folder; give a .csv or .json file name")
    if Path(target).suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"{flag} {target}: joint angles are written as .csv or .json")


def angles_summary(target: str | os.PathLike | None) -> str | None:
    """The second file an angles ``NAME.csv`` writes (its summary), or None."""
    if not target or Path(target).suffix.lower() != ".csv":
        return None
    from .angles import summary_path

    return str(summary_path(target))


def _check_file_name(plan, kind: str, target: str, input_kind: str | None) -> None:
    """A target that names one file: its suffix must give this kind's format."""
    flag = plan.flag(kind)
    if kind == "document":
        if target != STDOUT:
            check_export_name(flag, target, ("json", "npz", "coco"))
    elif kind == "csv":
        check_export_name(flag, target, ("csv",))
    elif kind == "angles":
        check_angles_name(flag, target)
    elif input_kind == "image" or kind in ("plot3d", "bvh"):
        suffixes = {"plot3d": (".html",), "bvh": (".bvh",)}.get(kind, PICTURE_SUFFIXES)
        t = Path(target)
        if t.is_dir() or target.endswith(("/", "\\")) or t.suffix.lower() not in suffixes:
            what = ("a picture file name ending in .png (or .jpg)" if suffixes is PICTURE_SUFFIXES
                    else f"a file name ending in {suffixes[0]}")
            raise UsageError(f"{flag} {target}: give {what}" + (" for one photo" if input_kind == "image" else ""))
    if target != STDOUT:
        check_writable(flag, target)


def _outputs(plan, options, items) -> list[tuple[str, str]]:
    """Every file the run may write, as ``(flag, path)``: per-person BVH names and the angles
    summary included."""
    from .bvh import person_path

    out: list[tuple[str, str]] = []

    def add(kind: str, path) -> None:
        flag = plan.flag(kind)
        out.append((flag, str(path)))
        if kind == "bvh" and options.max_num_poses > 1:
            out.extend((f"{flag} (person {i})", str(person_path(path, i))) for i in range(options.max_num_poses))
        if kind == "angles":
            out.append((f"{flag} summary", angles_summary(path)))

    for kind, path in plan.files().items():
        if path != STDOUT:
            add(kind, path)
    for own in plan.names(items).values():
        for kind, path in own.items():
            add(kind, path)
    return out


def check_plan(plan, options, items: list) -> None:
    """Every check of ``plan`` over ``items`` (``plan.as_input`` objects); see the module."""
    single = items[0].kind if len(items) == 1 else None
    for kind, target in plan.targets.items():
        if kind in plan.per_input:
            if Path(target).exists() and not Path(target).is_dir():
                raise UsageError(f"{plan.flag(kind)} {target}: with several inputs this names a folder, "
                                 "and a file is there")
            check_writable(plan.flag(kind), target, folder=True)
        else:
            _check_file_name(plan, kind, target, single if kind in ("annotated", "mask", "plot", "plot3d", "bvh")
                             else None)
    check_distinct(_outputs(plan, options, items), [it.source for it in items])
    if "bvh" in plan.targets and options.upper_body_only:
        raise UsageError(f"{plan.flag('bvh')} {plan.targets['bvh']}: a BVH skeleton needs the legs; "
                         "upper_body_only gives landmarks 0..24")
    if "plot" in plan.targets:
        from .plot import require_matplotlib

        require_matplotlib()
    if "plot3d" in plan.targets:
        from .plot3d import require_plotly

        require_plotly()

