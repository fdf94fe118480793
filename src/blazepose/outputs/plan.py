"""``OutputPlan``: what a run writes, how it draws, and the one rule that names its files.

Every entry point (``blazepose image`` / ``video`` / ``batch``, the web server, ``export``) builds
a plan from its flags or fields and the run's ``PoseOptions``:

- **targets**, keyed by an output kind (``KINDS``): ``document`` (.json, .coco.json or .npz, by
  the name; ``-`` is stdout), ``csv``, ``angles`` (.csv or .json), ``annotated`` (a picture, or a
  video for a video), ``mask``, ``plot``, ``plot3d`` (.html), ``bvh``;
- a **DrawStyle** chosen once from the options (several people possible: each in their id's
  colour on every frame), and so ``min_visibility``;
- ``OutputPlan.build`` runs every check that can fail before a model loads (a known suffix,
  a writable place, no output on an input, no two outputs on one file, the per-person
  ``NAME.id<N>.bvh`` and the angles summary included, BVH needs legs, plotly / matplotlib
  present) and raises ``UsageError`` naming the flag and the target (the CLI: one line, exit 2).

**The one naming rule.** A run with one input writes each output to its target itself. A run
with several inputs (``image`` with several photos, ``batch`` always) names a folder for each
per-input kind, and each input's file in it is the input's path below the inputs' common folder,
its extension replaced by the kind's suffix (``KIND_SUFFIX``): ``sub/pose.jpg`` gives
``sub/pose.annotated.png``, ``sub/pose.json``. Only inputs whose names would collide (``x.jpg`` and
``x.png`` in one folder) keep their extension: ``x.jpg.annotated.png``, ``x.png.annotated.png``
(``output_bases``). Videos never change the names of photos in ``image`` (it does not take them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Mapping, Sequence, TextIO

from ..errors import UsageError
from .draw import DrawStyle
from .plan_checks import PICTURE_SUFFIXES, STDOUT, check_plan  # noqa: F401 - part of this module's interface

#: The output kinds, in the order their sinks are opened.
KINDS = ("annotated", "document", "csv", "bvh", "plot3d", "angles", "plot", "mask")
#: The flag each kind has on the command line (``video`` names ``annotated`` ``-o``, batch all ``--out``).
FLAGS = {"document": "--json", "csv": "--csv", "angles": "--angles", "annotated": "--annotate",
         "mask": "--mask", "plot": "--plot", "plot3d": "--plot3d", "bvh": "--bvh"}
#: What replaces an input's extension in its per-input file (``annotated`` of a video: the
#: browser-playable video format's suffix, see ``outputs.video.browser_video_format``).
KIND_SUFFIX = {"document": ".json", "csv": ".csv", "angles": ".angles.json", "annotated": ".annotated.png",
               "mask": ".mask.png", "plot": ".angles.png", "plot3d": ".3d.html", "bvh": ".bvh"}
#: The kinds written per photo (a folder of them with several photos); the others are one file per run.
PHOTO_KINDS = frozenset({"annotated", "mask", "plot", "plot3d", "bvh"})


def output_bases(rels: Sequence[str]) -> list[str]:
    """The one naming rule: each input's output name without the kind's suffix, from its path
    ``rels`` (relative, ``/``-separated) below the inputs' common folder: the path without its
    extension, or the whole path where two inputs would get the same name (compared without
    case: ``x.jpg`` and ``x.PNG`` in one folder keep their extensions)."""
    rels = [str(r) for r in rels]
    full = [False] * len(rels)
    while True:
        bases = [r if f else os.path.splitext(r)[0] for r, f in zip(rels, full)]
        seen: dict[str, list[int]] = {}
        for i, b in enumerate(bases):
            seen.setdefault(b.casefold(), []).append(i)
        clash = [i for group in seen.values() if len(group) > 1 for i in group if not full[i]]
        if not clash:
            return bases
        for i in clash:
            full[i] = True


def as_input(item: Any) -> Any:
    """An input as the plan reads it: ``source`` (its path), ``rel`` (below the common folder),
    ``kind`` (image or video); a plain path becomes one (a photo unless its suffix is a video's)."""
    if hasattr(item, "source"):
        return item
    from ..io.video import VIDEO_SUFFIXES

    p = str(item)
    return SimpleNamespace(source=p, rel=Path(p).name,
                           kind="video" if Path(p).suffix.lower() in VIDEO_SUFFIXES else "image")


@dataclass(frozen=True)
class OutputPlan:
    """What a run writes (``targets``: kind → file, or folder for the ``per_input`` kinds), how it
    draws (``style``), the flag names for messages, and the
    annotated video's size cap (``max_side``, the web server's)."""

    targets: Mapping[str, str] = field(default_factory=dict)
    style: DrawStyle = DrawStyle()
    per_input: frozenset = frozenset()
    flags: Mapping[str, str] = field(default_factory=dict)
    max_side: int | None = None

    @property
    def min_visibility(self) -> float:
        return self.style.min_visibility

    @classmethod
    def build(cls, targets: Mapping[str, Any], options, *, inputs: Iterable = (), min_visibility: float = 0.5,
              draw_rois: bool = False, per_input: Iterable[str] = (),
              flags: Mapping[str, str] | None = None, max_side: int | None = None,
              check: bool = True) -> "OutputPlan":
        """The plan of a run with ``options`` over ``inputs`` (paths or items with ``source``,
        ``rel``, ``kind``); empty targets are dropped. Runs ``check`` (before any model loads).

        Raises:
            UsageError: a target that cannot be written as asked (the message names the flag).
            OptionsError: ``min_visibility`` outside [0, 1].
        """
        from ..options import OptionsError

        if not 0.0 <= float(min_visibility) <= 1.0:
            raise OptionsError(f"min_visibility must be in [0, 1], got {min_visibility!r}")
        named = {k: str(v) for k, v in targets.items() if v is not None and str(v) != ""}
        unknown = set(named) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown output kind(s) {sorted(unknown)}; kinds are {', '.join(KINDS)}")
        plan = cls(named, DrawStyle.for_options(options, min_visibility=min_visibility, draw_rois=draw_rois),
                   frozenset(per_input) & set(named), dict(flags or {}), max_side)
        if check:
            check_plan(plan, options, [as_input(i) for i in inputs])
        return plan

    def flag(self, kind: str) -> str:
        return self.flags.get(kind, FLAGS[kind])

    # ---- names ----------------------------------------------------------------------------
    def files(self) -> dict[str, Path | str]:
        """The run-wide outputs (kinds not named per input): kind → file (``-``: stdout)."""
        return {k: (t if t == STDOUT else Path(t)) for k, t in self.targets.items() if k not in self.per_input}

    def names(self, inputs: Iterable) -> dict[str, dict[str, Path]]:
        """Each input's per-input files by the one rule: ``source`` → kind → path. Inputs that carry
        a ``name`` (the rule applied to the whole run's inputs, e.g. a batch item) keep it."""
        items = [as_input(i) for i in inputs]
        bases = output_bases([it.rel for it in items])
        bases = [getattr(it, "name", None) or b for it, b in zip(items, bases)]
        return {it.source: {k: Path(self.targets[k]) / (b + suffix_for(k, it.kind)) for k in self.per_input}
                for it, b in zip(items, bases)}

    def paths_for(self, item, names: Mapping[str, Mapping[str, Path]] | None = None) -> dict[str, Path | str]:
        """Every file one input's run writes: the run-wide files and the input's own."""
        item = as_input(item)
        own = (names or self.names([item]))[item.source]
        return {**self.files(), **own}

    # ---- sinks ----------------------------------------------------------------------------
    def open_sinks(self, stack, paths: Mapping[str, Any], meta: dict, *, video: Any = None,
                   title: str | None = None, stream: TextIO | None = None, kinds: Iterable[str] | None = None,
                   image_ids: Sequence[int | str] | None = None) -> list:
        """Open the sinks for ``paths`` (kind → file, e.g. ``paths_for(item)``; ``kinds`` limits
        them) on ``stack`` (an ``ExitStack``: leaving it closes them, complete or interrupted).

        ``meta``: the document header; ``video``: the open ``VideoReader`` (fps and size of the
        annotated video; None for a photo); ``title``: the 3-D view's; ``stream``: where the
        document goes when its target is ``-``; ``image_ids``: the COCO image id of each photo, in
        order (a ``.coco.json`` document). A video's ``plot`` is not opened here (the angle
        plot over time and the rep count are ``apps.analysis.VideoAnalysis``)."""
        wanted = set(paths) if kinds is None else set(kinds) & set(paths)
        if video is not None:
            wanted.discard("plot")      # a video's angle plot and rep count: apps.analysis.VideoAnalysis
        return [stack.enter_context(self._open(k, paths[k], meta, video, title, stream, image_ids))
                for k in KINDS if k in wanted]

    def _open(self, kind: str, path, meta: dict, video, title, stream, image_ids=None):
        from . import export, pictures

        if kind == "document":
            if path == STDOUT:
                return export.JsonWriter(stream, meta)
            return export.open_writer(path, meta=meta, image_ids=image_ids)
        if kind == "csv":
            return export.CsvWriter(path)
        if kind == "annotated":
            if video is None:
                return pictures.AnnotatedPictureWriter(path, self.style)
            from .video import AnnotatedVideoWriter

            sound = None if getattr(video, "is_stream", True) else video.source   # a file's sound is carried over
            return AnnotatedVideoWriter(path, video.fps, (video.width, video.height), style=self.style,
                                        max_side=self.max_side, audio_from=sound)
        if kind == "bvh":
            from .bvh import BvhWriter

            return BvhWriter(path)
        if kind == "plot3d":
            from .plot3d import Plot3dWriter

            return Plot3dWriter(path, title=title)
        if kind == "mask":
            return pictures.MaskPictureWriter(path)
        if kind == "angles":
            from .angles import AnglesWriter

            return AnglesWriter(path, _angles_meta(meta), min_visibility=self.min_visibility)
        return pictures.AnglesPictureWriter(path, self.style)      # plot, of a photo


def _angles_meta(meta: dict) -> dict:
    """The angles file's header: the document's without batch's resume record."""
    return {k: v for k, v in meta.items() if k != "batch"}


def suffix_for(kind: str, input_kind: str = "image") -> str:
    """The suffix of ``kind``'s per-input file for an input of ``input_kind``."""
    if kind == "annotated" and input_kind == "video":
        from .video import browser_video_format

        return ".annotated" + browser_video_format().ext
    return KIND_SUFFIX[kind]
