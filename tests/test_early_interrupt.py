"""Ctrl-C or SIGTERM in a batch's first second (issue 22, item 9): no traceback from any process
(the fork server, still importing the pipeline, printed one), and ``batch_report.json`` is written
however early the signal came once the program runs Python code of its own.

The signal is sent at events, not after sleeps: the moment the program holds signals (``SigCgt``
in /proc shows its SIGTERM handler), the log line that says how many inputs it found, the moment
its fork server exists, and the moment a worker exists. Ctrl-C is sent as a terminal sends it, to
the whole process group; SIGTERM to the driver alone."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from test_batch import make_photos
from test_kill import process_tree

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; POSIX signals")
PHOTOS = 6


def _catches_sigterm(pid: int) -> bool:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    except OSError:
        pass
    return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _forkserver(root: int) -> int | None:
    for p in process_tree(root):
        if "forkserver" in _cmdline(p) and p != root:
            return p
    return None


def _worker(root: int) -> int | None:
    server = _forkserver(root)
    return next((p for p in process_tree(server) if p != server), None) if server else None


def _wait_for(test, proc, timeout=120.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end and proc.poll() is None:
        if test():
            return True
        time.sleep(0.002)
    return False


@pytest.mark.parametrize("sig, event", [
    ("INT", "held"), ("TERM", "held"), ("INT", "inputs line"),
    ("INT", "fork server"), ("TERM", "fork server"), ("INT", "worker")])
@pytest.mark.slow
def test_an_early_signal_gives_no_traceback_and_a_report(tmp_path, sig, event):
    photos = tmp_path / "photos"
    make_photos(photos, PHOTOS)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "-v", "batch", str(photos), "--out",
                             str(out), "--workers", "2", "--batch-size", "1"], env=env, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    lines: list[str] = []
    saw_inputs = threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if " inputs: " in line:
                saw_inputs.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    test = {"held": lambda: _catches_sigterm(proc.pid), "inputs line": saw_inputs.is_set,
            "fork server": lambda: _forkserver(proc.pid) is not None,
            "worker": lambda: _worker(proc.pid) is not None}[event]
    try:
        reached = _wait_for(test, proc)
        if reached:
            if sig == "INT":
                os.killpg(proc.pid, signal.SIGINT)
            else:
                os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(timeout=120)
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = "".join(lines)
    assert reached, f"the batch ended before the event {event!r}: rc {rc}\n{err}"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    report = json.loads((out / "batch_report.json").read_text())
    counts = report["counts"]
    if rc == 0:   # it finished as the signal came (a fast machine): a complete report, nothing lost
        assert counts["done"] == PHOTOS and not report["interrupted"]
        return
    assert rc == 130, err
    assert report["interrupted"] and "interrupted" in err and "report:" in err
    assert counts["failed"] == 0 and counts["done"] + counts["pending"] in (PHOTOS, PHOTOS + 1) or (
        event == "held" and report["pending"] == [{"input": str(photos)}]), report
    if event == "held":   # stopped before it looked for inputs: the input as given is pending
        assert report["pending"] == [{"input": str(photos)}] and counts["done"] == 0
