"""Test support, never installed: a hold on every video at one frame, for the kill tests.

``tests/_kill_support.hold_env`` puts this folder first on a child process's ``PYTHONPATH`` and
sets ``BLAZEPOSE_TEST_HOLD_FRAME=N`` (optionally ``BLAZEPOSE_TEST_RELEASE=PATH`` and
``BLAZEPOSE_TEST_HOLD_ONLY=END``). Python imports ``sitecustomize`` at start-up in that process and
in every Python process it starts (the batch's fork server and workers included). Once
``blazepose.io.video`` is imported there, a ``VideoReader`` (of every video, or only of those whose
name ends with ``END``) hands out frames 0..N-1 as usual and then waits before frame N until
``PATH`` exists (without a path: until the process ends). So a test that waits for N frames in an output
knows that the run is still going, whatever the load on the machine: it acts on what it sees
instead of on a guess of how long things take. Nothing changes when the variable is unset.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import time

_MODULE = "blazepose.io.video"


def _held(frames, at: int, release: str):
    """``frames`` unchanged, except that the first frame whose index is ``at`` or more waits for
    ``release`` to exist."""
    try:
        for frame in frames:
            while frame.index >= at and not (release and os.path.exists(release)):
                time.sleep(0.01)
            yield frame
    finally:
        frames.close()


def _patch(module, at: int, release: str, only: str) -> None:
    iterate = module.VideoReader.__iter__

    def __iter__(self):
        frames = iterate(self)
        return _held(frames, at, release) if str(self.name).endswith(only) else frames

    module.VideoReader.__iter__ = __iter__


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches ``blazepose.io.video`` right after it is first executed (not before: importing
    blazepose at start-up would slow down every Python process of the run)."""

    def __init__(self, at: int, release: str, only: str):
        self.at, self.release, self.only = at, release, only

    def find_spec(self, name, path=None, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module, self.at, self.release, self.only)

        spec.loader.exec_module = exec_module
        return spec


if os.environ.get("BLAZEPOSE_TEST_HOLD_FRAME"):
    sys.meta_path.insert(0, _PatchOnImport(int(os.environ["BLAZEPOSE_TEST_HOLD_FRAME"]),
                                           os.environ.get("BLAZEPOSE_TEST_RELEASE", ""),
                                           os.environ.get("BLAZEPOSE_TEST_HOLD_ONLY", "")))
