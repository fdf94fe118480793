"""One batch per output folder: a lock that a dead process does not hold.

The driver holds an exclusive ``flock`` on ``OUT/.blazepose-batch.lock`` (its process id is
written in the file, for the message) for the whole batch; a second batch on the same folder is
refused at once with ``BatchBusyError``. The kernel drops the lock when its holder dies, however
it dies (SIGKILL included), so a stale lock never blocks a re-run.

Local worker processes hold a shared lock on ``OUT/.blazepose-batch.workers.lock`` for their
whole life. A new driver takes that lock exclusively once before it starts work, waiting up to
``WORKERS_WAIT_S`` for the workers of a batch that was killed (they notice their driver is gone
and exit within a fraction of a second); so no process of an earlier batch is still writing when
the new one begins. On Windows (no ``fcntl``) the driver's lock uses ``msvcrt.locking``; the
workers' lock is skipped there (a note in the log).
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from ...errors import BatchBusyError  # noqa: F401 - raised here, re-exported

log = logging.getLogger(__name__)

LOCK_NAME = ".blazepose-batch.lock"
WORKERS_LOCK_NAME = ".blazepose-batch.workers.lock"
#: How long a new batch waits for the workers of a killed batch on the same folder to exit.
WORKERS_WAIT_S = 10.0

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _try_lock(fd: int, exclusive: bool = True) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            return True
        except (BlockingIOError, PermissionError):
            return False
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:  # pragma: no cover
        return False


class BatchLock:
    """``with BatchLock(out):`` the batch owns ``out`` (raises ``BatchBusyError`` if another does)."""

    def __init__(self, out: str | os.PathLike, workers_wait_s: float = WORKERS_WAIT_S):
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self.workers_wait_s = workers_wait_s
        self._fd: int | None = None

    def acquire(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                try:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                finally:
                    os.close(fd)
                raise BatchBusyError(f"{self.out}: another blazepose batch (process {holder}) is writing to "
                                     "this folder; wait for it to finish or choose another --out")
            if _same_file(fd, self.path):
                break
            os.close(fd)   # the batch before removed the file as it ended: lock the new one
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        try:
            self._wait_for_old_workers()
        except BaseException:
            self.release()
            raise

    def _wait_for_old_workers(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            log.info("no fcntl here: not checking for workers of an earlier batch on %s", self.out)
            return
        fd = os.open(self.out / WORKERS_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + self.workers_wait_s
            while not _try_lock(fd):
                if time.monotonic() > deadline:
                    raise BatchBusyError(f"{self.out}: worker processes of an earlier batch on this folder are "
                                         f"still running after {self.workers_wait_s:.0f} s; stop them or "
                                         "choose another --out")
                time.sleep(0.05)
        finally:
            os.close(fd)   # closing drops the lock: this batch's own workers take it shared

    def release(self) -> None:
        """End the batch: remove both lock files (the workers' one only when no worker holds it),
        while still holding the lock; a batch that opened the old file sees it is gone and
        locks a new one (``acquire``)."""
        if self._fd is not None:
            _remove_unheld(self.out / WORKERS_LOCK_NAME)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "BatchLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not removed or replaced since it was opened)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _remove_unheld(path: Path) -> None:
    """Remove the workers' lock file if no process holds it (a worker of a killed batch may)."""
    if fcntl is None:  # pragma: no cover - Windows: no workers' lock
        return
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return
    try:
        if _try_lock(fd):
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)


def hold_workers_lock(out: str | os.PathLike) -> int | None:
    """In a worker process: take the workers' lock shared and keep it until the process ends
    (returns the descriptor to keep open; None where there is no ``fcntl``)."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    fd = os.open(Path(out) / WORKERS_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd
