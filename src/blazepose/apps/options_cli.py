"""The command line's option flags, built from ``PoseOptions``' field metadata.

Each field of ``PoseOptions`` says in its metadata how it appears on the command line (``help``,
``metavar``, ``flag``, ``cli``: which commands have it). ``add_option_arguments`` adds those flags
to a parser; ``options_from_args`` turns the parsed strings into a validated ``PoseOptions`` (the
checks and messages are ``PoseOptions``' own, the same as in Python and the web form).

``--engine`` is the inference engine everywhere; ``--inference-engine``, its old spelling, is
still accepted with a one-line deprecation note on stderr.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from typing import Any

from ..options import FIELD_NAMES, PoseOptions

#: Old flag spellings still accepted: old flag → the field it sets.
DEPRECATED_FLAGS = {"--inference-engine": "engine"}


class DeprecatedFlag(argparse.Action):
    """Stores the value like the new flag and prints one line naming the new spelling."""

    def __init__(self, *args, new_flag: str = "", **kwargs):
        self.new_flag = new_flag
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: note: {option_string} is deprecated, use {self.new_flag}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _wanted(where: str | None, *, video: bool, segmentation: bool) -> bool:
    return where == "all" or (where == "video" and video) or (where == "segmentation" and segmentation)


def add_option_arguments(parser: argparse.ArgumentParser, *, video: bool = False, segmentation: bool = False,
                         help_overrides: dict[str, str] | None = None,
                         actions: dict[str, type[argparse.Action]] | None = None,
                         only: tuple[str, ...] | None = None) -> None:
    """Add the ``PoseOptions`` flags to a parser.

    Args:
        parser: the subcommand's parser.
        video: also the video-only flags (smoothing, detection interval, re-identification).
        segmentation: also ``--enable-segmentation``.
        help_overrides: field name → help text where a command says it differently.
        actions: field name → an ``argparse.Action`` class that stores that flag's value.
        only: just these fields (e.g. ``serve``: the engine and its threads).

    Values are kept as the user typed them and checked by ``options_from_args``, so a bad value
    gets the same message as from Python or the web form.
    """
    overrides = help_overrides or {}
    for f in fields(PoseOptions):
        meta = f.metadata
        if (f.name not in only) if only is not None else not _wanted(meta.get("cli"), video=video,
                                                                      segmentation=segmentation):
            continue
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        text = overrides.get(f.name, meta["help"])
        if f.type in ("bool", bool):            # a switch: on (or, for a default-on field, off)
            dest = flag[2:].replace("-", "_")
            parser.add_argument(flag, dest=dest, action="store_true", help=text)
            continue
        default = None if f.default is MISSING else f.default
        extra = {"action": (actions or {})[f.name]} if f.name in (actions or {}) else {}
        parser.add_argument(flag, dest=f.name, default=default, metavar=meta.get("metavar"), help=text, **extra)
    for old, name in DEPRECATED_FLAGS.items():
        if only is not None and name not in only:
            continue
        new = next(fl.metadata.get("flag") or "--" + fl.name.replace("_", "-")
                   for fl in fields(PoseOptions) if fl.name == name)
        parser.add_argument(old, dest=name, action=DeprecatedFlag, new_flag=new, help=argparse.SUPPRESS)


def options_from_args(args: argparse.Namespace, **overrides: Any) -> PoseOptions:
    """A validated ``PoseOptions`` from flags added by ``add_option_arguments``.

    Args:
        args: the parsed command line.
        **overrides: fields to set whatever the command line says.

    Returns:
        The options.

    Raises:
        OptionsError: a value the pipeline cannot use (the message names the flag's field).
    """
    v = vars(args)
    values: dict[str, Any] = {name: v[name] for name in FIELD_NAMES if name in v}
    if v.get("no_smooth_landmarks"):
        values["smooth_landmarks"] = values["smooth_segmentation"] = False
    values.update(overrides)
    return PoseOptions.from_mapping(values)
