"""What the kill tests share: child processes held at a known frame, process trees, and waiting
for an observable event (a file, a frame in a document) with a deadline only as a failure guard.

A kill test used to sleep, or to hope that it would see "N frames written" before the run ended;
on a loaded machine the run could finish first. Started with ``hold_env(at_frame=N)``, a run
decodes frames 0..N-1 of each video as usual and then waits (see ``tests/hold/sitecustomize.py``),
so it is surely still running when the test sees what it waits for.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Callable

HOLD_DIR = Path(__file__).resolve().parent / "hold"
#: Only a guard against a hang: every wait ends on an event long before this on any machine.
DEADLINE_S = 300.0


def hold_env(at_frame: int, release: Path | None = None, only: str = "") -> dict[str, str]:
    """The environment for a child whose videos (those whose name ends with ``only``) wait before
    frame ``at_frame`` until ``release`` exists (None: until the process ends)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HOLD_DIR), env.get("PYTHONPATH", "")) if p)
    env["BLAZEPOSE_TEST_HOLD_FRAME"] = str(int(at_frame))
    if release is not None:
        env["BLAZEPOSE_TEST_RELEASE"] = str(release)
    if only:
        env["BLAZEPOSE_TEST_HOLD_ONLY"] = only
    return env


def wait_for(cond: Callable[[], bool], proc: subprocess.Popen, what: str, timeout: float = DEADLINE_S) -> None:
    """Poll ``cond`` until true; fail at once if ``proc`` ended first."""
    deadline = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {what}: {err}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def frames_in(path: Path) -> int:
    """Frames in a streamed JSON document (0 while it is missing or does not parse)."""
    try:
        return len(json.loads(path.read_bytes())["frames"])
    except (OSError, ValueError, KeyError):
        return 0


def _ppid_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(d))
    return kids


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants now (fork server, its workers, the resource tracker)."""
    kids, out, todo = _ppid_map(), [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie writes nothing any more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def assert_all_gone(pids: list[int], within_s: float = DEADLINE_S) -> None:
    """Wait until none of ``pids`` runs; fail naming those left after ``within_s``."""
    deadline = time.monotonic() + within_s
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    left = {}
    for p in pids:
        if running(p):
            try:
                left[p] = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
            except OSError:
                pass
    assert not left, f"processes still running: {left}"
