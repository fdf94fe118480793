"""Finding the inputs of ``blazepose batch`` and ``blazepose image``: files, folders (recursive)
and glob patterns, each with its path relative to the inputs' common folder."""
from __future__ import annotations

import fnmatch
import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...errors import UsageError
from ...io.images import IMAGE_SUFFIXES
from ...io.video import VIDEO_SUFFIXES


@dataclass(frozen=True)
class BatchItem:
    """One input file: its path as found, its path relative to the mirrored root, its kind, and
    ``name``: its outputs' name without suffix under the one rule (``outputs.plan.output_bases``
    over the run's inputs; empty: the rule for this input alone)."""

    source: str
    rel: str
    kind: str  # "image" | "video"
    name: str = ""


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


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _expand(folder: str, parts: list[str]) -> Iterable[str]:
    """The paths under ``folder`` that match the pattern's remaining ``parts``, as ``glob`` matches them
    (``*`` skips hidden names, ``**`` any number of folders) except that ``**`` never enters a
    symlinked folder, so each real folder is visited once per ``**`` and a link loop ends."""
    if not parts:
        yield folder
        return
    part, rest = parts[0], parts[1:]
    if part == "**":
        yield from _expand(folder, rest)
        try:
            with os.scandir(folder or os.curdir) as it:
                entries = sorted((e.name, e.is_dir(follow_symlinks=False), e.is_dir()) for e in it
                                 if not _hidden(e.name))
        except OSError:
            return
        for name, real_dir, any_dir in entries:
            if real_dir:
                yield from _expand(os.path.join(folder, name), parts)
            elif not rest and not any_dir:   # a trailing ``**`` also matches the files themselves
                yield os.path.join(folder, name)
    elif glob.has_magic(part):
        try:
            names = sorted(os.listdir(folder or os.curdir))
        except OSError:
            return
        for name in names:
            if fnmatch.fnmatch(name, part) and (_hidden(part) or not _hidden(name)):
                path = os.path.join(folder, name)
                if not rest or os.path.isdir(path):
                    yield from _expand(path, rest)
    else:
        path = os.path.join(folder, part)
        if os.path.lexists(path) if not rest else os.path.isdir(path):
            yield from _expand(path, rest)


def glob_inputs(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)`` without following symlinked folders under ``**``:
    a folder holding ``self -> .`` or ``up -> ..`` gives each photo once, not 41 times or forever."""
    drive, rest = os.path.splitdrive(pattern)
    parts = [x for x in rest.replace(os.sep, "/").split("/") if x]
    anchor = drive + (os.sep if rest[:1] in ("/", os.sep) else "")
    # a run of ``**`` means the same as one
    parts = [x for i, x in enumerate(parts) if not (x == "**" and i and parts[i - 1] == "**")]
    found = dict.fromkeys(_expand(anchor, parts))
    if rest.endswith(("/", os.sep)):   # a trailing separator matches folders only, as in glob
        found = {p: None for p in found if os.path.isdir(p)}
    return sorted(found)


def check_out_folder(inputs: Iterable[str], out: str | os.PathLike) -> None:
    """Refuse (``UsageError``, before anything is written) an output folder that is an input
    folder or holds an input: its report and result files would land among the inputs. An output
    folder *inside* an input folder is fine: its files are never taken as inputs."""
    o = Path(os.path.realpath(out))
    for raw in inputs:
        p = Path(raw)
        if str(raw).strip() and p.exists() and _is_within(Path(os.path.realpath(p)), o):
            what = "is" if Path(os.path.realpath(p)) == o else "holds"
            raise UsageError(f"--out {out}: {what} the input {raw}; results would be written among the inputs. "
                             "Choose an --out outside the inputs (a folder inside an input folder is fine)")


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
            matches = glob_inputs(raw)
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
    from ...outputs.plan import output_bases

    rels = [(src, Path(os.path.relpath(src, root)).as_posix(), k) for src, k in pairs]
    names = output_bases([rel for _, rel, _ in rels])
    return [BatchItem(src, rel, k, name) for (src, rel, k), name in zip(rels, names)], missing
