"""Finding the inputs of ``blazepose batch`` and ``blazepose image``: files, folders (recursive)
and glob patterns, each with its path relative to the inputs' common folder."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...io.images import IMAGE_SUFFIXES
from ...io.video import VIDEO_SUFFIXES


@dataclass(frozen=True)
class BatchItem:
    """One input file: its path as found, and its path relative to the mirrored root."""

    source: str
    rel: str
    kind: str  # "image" | "video"


def kind_of(path: str | os.PathLike) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def collect_inputs(inputs: Iterable[str], exclude: str | os.PathLike | None = None, *, ordered: bool = False
                   ) -> tuple[list[BatchItem], list[dict]]:
    """Expand files, folders (recursive) and globs into items; also the inputs that matched nothing.

    A file named explicitly is always attempted (a non-image fails with its reason); in folders and
    glob matches, only image and video files are taken. Files under ``exclude`` (the output
    folder) are never inputs; a folder or file named as an input that lies there is reported
    among the inputs that matched nothing. Relative paths are taken from the common folder of the inputs.
    Items are sorted by path, or with ``ordered`` in the order the inputs name them.
    """
    excl = Path(os.path.abspath(exclude)) if exclude is not None else None
    found: dict[str, str] = {}        # absolute path -> kind
    bases: list[str] = []
    missing: list[dict] = []

    def add(p: Path, explicit: bool) -> None:
        ap = Path(os.path.abspath(p))
        if excl is not None and _is_within(ap, excl):
            return
        k = kind_of(ap)
        if k is None and not explicit:
            return
        found.setdefault(str(ap), k or "image")

    def inside_out(raw: str, p: Path) -> bool:
        """A folder or file named as an input that lies in the output folder: reported, not
        silently dropped (``--out`` equal to the photo folder would otherwise process nothing)."""
        if excl is None or not _is_within(Path(os.path.abspath(p)), excl):
            return False
        missing.append({"input": raw, "error": f"{raw}: inside the output folder {excl}, whose files are "
                        "never inputs; choose an --out outside the inputs"})
        return True

    for raw in inputs:
        if not str(raw).strip():      # Path("") is the current folder: never take it for one
            missing.append({"input": raw, "error": f"{raw!r}: empty input name"})
            continue
        p = Path(raw)
        if (p.is_dir() or p.exists() or p.is_symlink()) and inside_out(raw, p):
            continue
        if p.is_dir():
            bases.append(os.path.abspath(p))
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    add(f, explicit=False)
        elif p.exists() or p.is_symlink():
            bases.append(os.path.dirname(os.path.abspath(p)))
            add(p, explicit=True)
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_file()]
            for d in (Path(m) for m in matches if Path(m).is_dir()):
                files += [f for f in sorted(d.rglob("*")) if f.is_file()]
            if not files:
                missing.append({"input": raw, "error": f"{raw}: no file matches this pattern"})
                continue
            stem = []
            for part in Path(raw).parts:
                if glob.has_magic(part):
                    break
                stem.append(part)
            bases.append(os.path.abspath(Path(*stem)) if stem else os.getcwd())
            for f in files:
                add(f, explicit=False)
        else:
            missing.append({"input": raw, "error": f"{raw}: no such file or folder"})
    if not found:
        return [], missing
    root = os.path.commonpath(bases + [os.path.dirname(f) for f in found])
    pairs = found.items() if ordered else sorted(found.items())
    items = [BatchItem(src, Path(os.path.relpath(src, root)).as_posix(), k) for src, k in pairs]
    return items, missing
