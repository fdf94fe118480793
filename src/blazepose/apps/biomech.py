"""``video`` flags for biomechanics: ``--trc``, ``--trc2d``, ``--c3d``, ``--mot``, ``--opensim DIR``, ``--height``,
``--person``, ``--filter-hz``, ``--fill-gaps``.

A command adds them with ``add_biomech_options(parser)``, calls ``check_biomech(args)`` before any
model loads (names, the extras: a missing one is a ``UsageError`` naming ``pip install
'blazepose[EXTRA]'``, exit 2), opens the sinks with ``open_biomech_sinks(stack, args, name)``, and
after the run ``finish_biomech(args, sinks)`` runs OpenSim (scaling + IK, in a subprocess) with a
progress bar and prints the RMS marker error and the files. ``--person ID`` keeps only that track
id in every output (``only_person`` wraps each sink).
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import InputError, UsageError
from .cli_checks import check_writable, int_at_least


def add_biomech_options(p) -> None:
    g = p.add_argument_group("biomechanics (docs/opensim.md)")
    g.add_argument("--trc", metavar="FILE.trc", help="world landmarks as OpenSim markers (Y up, metres, "
                   "Pose2Sim's BlazePose names; several people: FILE.id<N>.trc each)")
    g.add_argument("--trc2d", metavar="FILE.trc", help="the image landmarks as markers in metres, calibrated "
                   "by --height (needed): X right, Y up from the floor, Z = 0; for pipelines without world landmarks")
    g.add_argument("--c3d", metavar="FILE.c3d", help="the same markers as a C3D file (needs blazepose[c3d])")
    g.add_argument("--mot", metavar="FILE.mot", help="our joint and segment angles in OpenSim's .mot format")
    g.add_argument("--opensim", metavar="DIR", help="scale Pose2Sim's OpenSim model and run inverse kinematics: "
                   "markers, scaled model, IK .mot and marker errors in DIR (needs blazepose[opensim])")
    g.add_argument("--height", type=float, metavar="M", help="the person's height in metres: --trc2d's scale "
                   "(needed there); --opensim's (default: estimated from the world landmarks)")
    g.add_argument("--person", type=int_at_least(0), metavar="ID",
                   help="keep only this track id in every output and analysis")
    g.add_argument("--filter-hz", type=float, metavar="HZ",
                   help="--mot and --plot: zero-phase Butterworth low-pass at HZ (needs scipy: blazepose[analysis])")
    g.add_argument("--filter-order", type=int_at_least(1), default=4, metavar="N", help="its order (default 4)")
    g.add_argument("--fill-gaps", type=int_at_least(0), default=0, metavar="N",
                   help="--mot and --plot: interpolate gaps of up to N frames (default 0: none)")


def wants_biomech(args) -> bool:
    return any(getattr(args, k, None) for k in ("trc", "trc2d", "c3d", "mot", "opensim"))


def _require(module: str, extra: str, flag: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UsageError(f"{flag} needs the {module} package: pip install 'blazepose[{extra}]'")


def check_biomech(args) -> list[tuple[str, str]]:
    """Refuse names that cannot be written and missing extras before any model loads; returns
    the (flag, target) pairs for the command's distinct-outputs check."""
    targets = []
    for flag, key, suffix in (("--trc", "trc", ".trc"), ("--trc2d", "trc2d", ".trc"), ("--c3d", "c3d", ".c3d"),
                              ("--mot", "mot", ".mot")):
        target = getattr(args, key, None)
        if target:
            if Path(target).is_dir() or Path(target).suffix.lower() != suffix:
                raise UsageError(f"{flag} {target}: give a file name ending in {suffix}")
            check_writable(flag, target)
            targets.append((flag, target))
    if getattr(args, "c3d", None):
        _require("ezc3d", "c3d", "--c3d")
    if getattr(args, "opensim", None):
        _require("opensim", "opensim", "--opensim")
        if Path(args.opensim).exists() and not Path(args.opensim).is_dir():
            raise UsageError(f"--opensim {args.opensim}: give a folder (it is a file)")
    if getattr(args, "trc2d", None) and getattr(args, "height", None) is None:
        raise UsageError(f"--trc2d {args.trc2d}: give the person's height in metres with --height (the scale)")
    if getattr(args, "height", None) is not None and not (0.5 <= args.height <= 2.8):
        raise UsageError(f"--height {args.height}: give the person's height in metres (0.5 to 2.8)")
    if getattr(args, "filter_hz", None) is not None:
        if args.filter_hz <= 0:
            raise UsageError(f"--filter-hz {args.filter_hz}: give a cut-off above 0 Hz")
        _require("scipy", "analysis", "--filter-hz")
    return targets


class only_person:
    """A sink wrapper that passes on only track id ``person`` of every result."""

    def __init__(self, sink, person: int):
        self.sink, self.person = sink, person
        self.needs_frames = getattr(sink, "needs_frames", False)
        self.needs_images = getattr(sink, "needs_images", False)

    @property
    def paths(self):
        return getattr(self.sink, "paths", [getattr(self.sink, "path", None)])

    def write(self, result, frame=None):
        keep = np.flatnonzero(result.ids == self.person)
        sub = replace(result, landmarks=result.landmarks[keep], visibility=result.visibility[keep],
                      presence=result.presence[keep], world=result.world[keep], scores=result.scores[keep],
                      rois=result.rois[keep], ids=result.ids[keep])
        return self.sink.write(sub, frame)

    def skip(self, *a, **kw):
        return self.sink.skip(*a, **kw)

    def close(self, *a, **kw):
        return self.sink.close(*a, **kw)


def open_biomech_sinks(stack: contextlib.ExitStack, args, name: str) -> dict:
    """The ``--trc`` / ``--c3d`` / ``--mot`` / ``--opensim`` sinks, entered on ``stack``, by flag."""
    from ..outputs.markers import C3dWriter, Trc2dWriter, TrcWriter
    from ..outputs.mot import AnglesMotWriter

    person = getattr(args, "person", None)
    sinks = {}
    if getattr(args, "trc", None):
        sinks["trc"] = stack.enter_context(TrcWriter(args.trc, person=person))
    if getattr(args, "trc2d", None):
        sinks["trc2d"] = stack.enter_context(Trc2dWriter(args.trc2d, height_m=args.height, person=person))
    if getattr(args, "c3d", None):
        sinks["c3d"] = stack.enter_context(C3dWriter(args.c3d, person=person))
    if getattr(args, "mot", None):
        sinks["mot"] = stack.enter_context(AnglesMotWriter(
            args.mot, person=person, fill_gaps=args.fill_gaps, filter_hz=args.filter_hz,
            filter_order=args.filter_order))
    if getattr(args, "opensim", None):
        sinks["opensim"] = stack.enter_context(TrcWriter(Path(args.opensim) / f"{name}.trc", person=person))
    return sinks


def finish_biomech(args, sinks: dict, *, no_progress: bool = False, stream=None) -> list:
    """Run OpenSim on the ``--opensim`` markers (one person at a time) and print, per person,
    the RMS marker error and the files; returns the ``Kinematics`` results."""
    from ..outputs.kinematics import kinematics_of_trc
    from .progress import progress_bar

    stream = stream or sys.stderr
    trc_sink = sinks.get("opensim")
    if trc_sink is None:
        return []
    if not trc_sink.paths:
        raise InputError(f"--opensim {args.opensim}: nobody in any frame; nothing for OpenSim")
    done = []
    for trc in trc_sink.paths:
        with progress_bar(None, "IK frame", enabled=not no_progress) as bar:
            k = kinematics_of_trc(trc, args.opensim, height=args.height,
                                  on_frame=lambda d, t: (setattr(bar, "total", t), bar.update(1)))
        done.append(k)
        stream.write(f"OpenSim {trc.stem}: RMS marker error {k.rms_m * 100:.1f} cm (worst frame "
                     f"{k.worst_rms_m * 100:.1f} cm), scaled on {k.standing_frames} standing frame(s) "
                     f"{k.scaling_s[0]:.2f}-{k.scaling_s[1]:.2f} s, height {k.height_m:.2f} m"
                     f"{' (given)' if k.height_given else ' (estimated)'}\n"
                     f"  model {k.scaled_model}\n  IK    {k.motion}\n  errors {k.marker_errors}\n")
    stream.flush()
    return done
