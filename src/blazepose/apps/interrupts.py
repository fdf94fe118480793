"""Ctrl-C and SIGTERM that come before the command can act on them (while Python imports numpy,
OpenCV and the runtime, about half a second): held, then acted on once the command runs.

``hold`` is the first thing ``python -m blazepose.apps.cli`` and the ``blazepose`` script do; the
signals that arrive are only recorded. ``release`` puts back the usual handlers (Ctrl-C raises
``KeyboardInterrupt``, SIGTERM ends the process) and ``raise_pending`` raises the held signal as
``KeyboardInterrupt`` where the command can handle it: ``blazepose batch`` does that once its report
exists, so a batch stopped in its first second still writes ``batch_report.json``.
Only the standard library is imported here.
"""
from __future__ import annotations

import contextlib
import signal
import threading

_pending: list[int] = []
_held = False


def _record(signum, frame) -> None:
    _pending.append(signum)


def is_program(argv0: str) -> bool:
    """Whether ``argv0`` is the ``blazepose`` script (``blazepose``, ``blazepose.exe``)."""
    name = argv0.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return name in ("blazepose", "blazepose.exe", "blazepose-script.py")


def hold() -> None:
    """Record Ctrl-C and SIGTERM instead of acting on them (main thread only)."""
    global _held
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _record)
        signal.signal(signal.SIGTERM, _record)
        _held = True


def release() -> None:
    """The usual handlers again; a held signal stays pending for ``raise_pending``."""
    global _held
    if _held:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _held = False


def raise_pending() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C or SIGTERM came while held (once)."""
    if _pending:
        signum = _pending[0]
        _pending.clear()
        raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def deferred():
    """Ctrl-C and SIGTERM wait until the block is done, then act through the handlers set before it.

    For steps that must not be cut halfway: a worker process half started when the batch stopped
    went on starting after its driver was gone and printed a traceback. Main thread only (a no-op
    elsewhere).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if got:
            signal.raise_signal(got[0])   # the handler it would have met (KeyboardInterrupt, as a rule)
