"""Landmarkers shared by the web server's requests (one per distinct options, first come first served)."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from contextlib import contextmanager
from typing import Iterator

from ...options import PoseOptions

log = logging.getLogger(__name__)


class FifoLock:
    """A lock handed to waiters in arrival order, so that under load no request waits much
    longer than the others (``threading.Lock`` makes no such promise)."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            ev = threading.Event()
            self._waiters.append(ev)
        ev.wait()  # release() hands the lock over directly

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


class LandmarkerPool:
    """Landmarkers shared by requests, one per distinct ``PoseOptions``, each used by one request
    at a time (first come, first served). Nothing is changed on a landmarker after it is made;
    the least recently used are closed beyond ``size`` (loading one takes about 0.1 s)."""

    def __init__(self, num_threads: int | None = None, size: int = 6):
        self.num_threads = num_threads
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[PoseOptions, tuple[FifoLock, object]] = OrderedDict()

    def _entry(self, opts: PoseOptions):
        opts = opts.replace(num_threads=self.num_threads)
        with self._lock:
            if opts in self._entries:
                self._entries.move_to_end(opts)
                return self._entries[opts]
            from ...api.landmarker import PoseLandmarker

            log.info("loading landmarker %s", opts)
            entry = (FifoLock(), PoseLandmarker(opts))
            self._entries[opts] = entry
            while len(self._entries) > self.size:
                _, (lock, pl) = self._entries.popitem(last=False)
                threading.Thread(target=self._close_when_free, args=(lock, pl), daemon=True).start()
            return entry

    @staticmethod
    def _close_when_free(lock: FifoLock, pl) -> None:
        with lock:
            pl.close()

    def preload(self, model: str, engine: str = "litert") -> None:
        self._entry(PoseOptions(model=model, engine=engine))

    @contextmanager
    def acquire(self, opts: PoseOptions) -> Iterator:
        lock, pl = self._entry(opts)
        with lock:
            yield pl

    def close(self) -> None:
        with self._lock:
            for lock, pl in self._entries.values():
                with lock:
                    pl.close()
            self._entries.clear()
