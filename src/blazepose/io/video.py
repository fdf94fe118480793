"""Reading videos (files, camera indices, stream URLs) as RGB frames with real timestamps.

``VideoReader`` yields ``VideoFrame(index, timestamp_ms, image)`` where ``image`` is RGB uint8
(H, W, 3) with the container's rotation metadata applied, ``index`` counts the frames of the
source from 0 (a frame that cannot be decoded keeps its index, so the next good frame's index
shows the gap), and ``timestamp_ms`` is the frame's presentation time from the container
(OpenCV's ``CAP_PROP_POS_MSEC``), which handles variable frame rates. Where the container gives
no usable time (some streams, cameras, a time that does not increase), the time is the previous
frame's plus ``1000 / fps`` with the float fps (or, for a live camera without timestamps, the
monotonic capture time since the first frame). Timestamps always increase strictly.

Decoding runs in a background thread with a small bounded queue, so reading overlaps with
whatever the consumer does (inference); memory stays flat however long the video is.

A frame the decoder rejects is logged, recorded in ``reader.errors`` (``FrameError``) and skipped;
reading goes on with the next frame. After a long corrupt stretch (``MAX_CONSECUTIVE_FAILURES``
frames in a row) the reader seeks past it once when the container can; and at the end of a file
whose container counts its frames exactly (``EXACT_COUNT_SUFFIXES``), every listed frame that was
neither read nor reported (FFmpeg resynchronises past corrupt data silently) is recorded as a
``FrameError`` after the last frame, its place unknown. Timestamps are rounded to the microsecond. A source that cannot be opened raises ``VideoReadError``
naming it.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

import numpy as np

from ..errors import VideoReadError

log = logging.getLogger(__name__)

VideoSource = Union[str, os.PathLike, int]

#: Suffixes treated as video files by the CLI and helpers (OpenCV/FFmpeg reads many more).
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv",
                            ".flv", ".ts", ".mts", ".3gp", ".ogv", ".gif"})
#: Consecutive undecodable frames after which a file is taken to have ended (a truncated file).
MAX_CONSECUTIVE_FAILURES = 25
#: Frames per second assumed when the container gives none.
DEFAULT_FPS = 30.0
#: Containers whose frame count is exact (an index of every frame), so that frames the decoder
#: dropped without a word can be counted at the end; other containers estimate it from the length.
EXACT_COUNT_SUFFIXES = frozenset({".avi", ".mp4", ".m4v", ".mov", ".3gp"})


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its index in the source, its time in ms, the RGB uint8 (H, W, 3) image."""

    index: int
    timestamp_ms: float
    image: np.ndarray


@dataclass(frozen=True)
class FrameError:
    """A frame that could not be decoded and was skipped."""

    index: int
    timestamp_ms: float | None
    problem: str


def _is_stream(source) -> bool:
    return isinstance(source, int) or (isinstance(source, str) and "://" in source)


def source_name(source: VideoSource) -> str:
    if isinstance(source, int):
        return f"camera {source}"
    return str(source)


@contextlib.contextmanager
def quiet_opencv():
    """OpenCV's own lines on stderr silenced while the block runs: its log (``[ WARN:0@...]``)
    and what its FFmpeg wrapper prints straight to the stream (``OpenCV: FFMPEG: tag ... is not
    supported``, printed for every WebM though the file is fine). Failures are raised as this
    package's errors instead, so nothing is lost; the log level is restored afterwards."""
    import sys

    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    saved = None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # no file descriptor 2 (embedded): log level only
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
        cv2.utils.logging.setLogLevel(level)


class VideoReader:
    """Frames of a video file, camera (an int index, or a digit string) or stream URL.

    Use as an iterator (once) and a context manager. ``fps``, ``frame_count`` (0 when unknown),
    ``width`` and ``height`` (of the frames as yielded, rotation applied) are known after
    construction. ``errors`` lists the frames skipped so far. ``prefetch`` bounds the queue of
    decoded frames waiting for the consumer; ``max_frames`` > 0 stops after that many frames;
    ``log_errors=False`` records skipped frames without logging them.

    Args:
        source: a video file, a camera index (``0`` or ``"0"``) or a stream URL.
        prefetch: decoded frames that may wait for the consumer.
        max_frames: stop after this many frames (0: all).
        log_errors: log each skipped frame (they are listed in ``errors`` either way).

    Raises:
        VideoReadError: the source is missing, a folder, empty or cannot be opened (the message
            names it).

    Yields:
        ``VideoFrame`` records: ``index``, ``timestamp_ms`` (from the container, else index·1000/fps)
        and ``image`` (RGB uint8, rotation applied).
    """

    def __init__(self, source: VideoSource, *, prefetch: int = 4, max_frames: int = 0,
                 log_errors: bool = True):
        import cv2

        if isinstance(source, str) and source.isdigit():
            source = int(source)
        self.source = source
        self.max_frames = max(0, int(max_frames))
        self.log_errors = bool(log_errors)
        self.name = source_name(source)
        self.is_stream = _is_stream(source)
        if not self.is_stream:
            p = Path(source)
            if not p.exists():
                raise VideoReadError(p, "no such file")
            if p.is_dir():
                raise VideoReadError(p, "is a directory, not a video")
            if p.stat().st_size == 0:
                raise VideoReadError(p, "empty file")
            source = str(p)
        with quiet_opencv():   # a missing camera: two [ WARN] lines from OpenCV, then our error
            cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            cap.release()
            raise VideoReadError(self.name, "cannot open as a video (unknown format, unsupported codec, "
                                            "or no such camera/stream)")
        try:  # apply rotation metadata (OpenCV >= 4.5 does by default; make it explicit)
            cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        except Exception:  # pragma: no cover - very old OpenCV builds
            pass
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0.0 < fps < 1000.0 else DEFAULT_FPS
        self.fps_from_container = self.fps == fps
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(n) if math.isfinite(n) and n > 0 and not self.is_stream else 0
        self.errors: list[FrameError] = []
        self._stop = threading.Event()
        # Read the first frame now: it tells the real (rotated) size, and a file OpenCV opens but
        # cannot decode at all fails here, with its name.
        self._first = self._next_frame()
        if self._first is None:
            cap.release()
            raise VideoReadError(self.name, "no frame could be decoded")
        self.height, self.width = self._first.image.shape[:2]
        self._prefetch = max(1, int(prefetch))
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._closed = False

    # ---- decoding (runs in the background thread once iteration starts) -------------------------
    _index = 0
    _last_ts: float | None = None
    _t0: float | None = None
    _yielded = 0
    _last_index = -1
    _ended = False

    def _timestamp(self, pos_ms: float) -> float:
        prev = self._last_ts
        step = 1000.0 / self.fps
        if math.isfinite(pos_ms) and pos_ms >= 0 and (prev is None or pos_ms > prev) and not (
                self.is_stream and pos_ms == 0 and prev is not None):
            ts = float(pos_ms)
        elif prev is None:
            ts = 0.0
        elif isinstance(self.source, int):  # live camera without timestamps: capture time
            ts = max(prev + 1e-3, (time.monotonic() - self._t0) * 1000.0)
        else:
            ts = prev + step
        # to the microsecond: 12600.000000000002 is 12600.0 (still strictly after the previous one)
        return round(max(round(ts, 3), prev + 1e-3), 3) if prev is not None else round(ts, 3)

    def _next_frame(self) -> VideoFrame | None:
        """Decode the next good frame; record undecodable ones; None at the end."""
        import cv2

        failures: list[int] = []
        seeked = False   # one jump per corrupt stretch
        while True:
            if self._stop.is_set():
                return None
            ok = self._cap.grab()
            img = None
            if ok:
                ok, img = self._cap.retrieve()
            if not ok or img is None or img.size == 0:
                failures.append(self._index)
                self._index += 1
                if self.is_stream and isinstance(self.source, int):
                    return None  # a camera that stops delivering has ended
                if self.frame_count and self._index >= self.frame_count:
                    return None  # the end of the file: not frame errors
                if len(failures) >= MAX_CONSECUTIVE_FAILURES:
                    # a long corrupt stretch: jump past it when the container can seek there, else
                    # take it as the end (a truncated tail); frames lost either way are counted at
                    # the end against the container's frame count (``_count_lost``)
                    if not self.frame_count or seeked or not self._cap.set(cv2.CAP_PROP_POS_FRAMES, self._index):
                        return None
                    seeked = True
                continue
            if self._t0 is None:
                self._t0 = time.monotonic()
            ts = self._timestamp(self._cap.get(cv2.CAP_PROP_POS_MSEC))
            for k, idx in enumerate(failures):  # failures followed by a good frame: skipped frames
                step = (ts - (self._last_ts if self._last_ts is not None else ts)) / (len(failures) + 1)
                t_bad = None if self._last_ts is None else self._last_ts + step * (k + 1)
                err = FrameError(idx, t_bad, "cannot decode this frame (corrupt or truncated data); skipped")
                self.errors.append(err)
                if self.log_errors:
                    log.warning("%s: frame %d: %s", self.name, idx, err.problem)
            self._last_ts = ts
            index = self._index
            self._index += 1
            self._yielded += 1
            self._last_index = index
            if img.ndim == 2:
                rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
            elif img.shape[2] == 4:
                rgb = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
            else:
                rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            return VideoFrame(index, ts, rgb)

    def _worker(self) -> None:
        q = self._queue
        n = 1  # the first frame was decoded in the constructor
        try:
            while not self._stop.is_set() and not (self.max_frames and n >= self.max_frames):
                n += 1
                fr = self._next_frame()
                if fr is None:
                    self._ended = not self._stop.is_set()
                    break
                while not self._stop.is_set():
                    try:
                        q.put(fr, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)
            return
        if self._ended:
            self._count_lost()
        q.put(None)

    def _count_lost(self) -> None:
        """At the end of a file whose container counts its frames exactly: every listed frame
        that was neither yielded nor recorded as an error was dropped by the decoder without a
        word (FFmpeg resynchronises past corrupt data and numbers the frames after it as if
        nothing were missing, so where they were is unknown): each is recorded as a
        ``FrameError`` after the last frame, without a timestamp."""
        if not self.frame_count or self.is_stream or Path(str(self.source)).suffix.lower() not in EXACT_COUNT_SUFFIXES:
            return
        lost = self.frame_count - self._yielded - len(self.errors)
        for k in range(lost):
            err = FrameError(self._last_index + 1 + k, None, f"the container lists {self.frame_count} frames; this one was "
                             "lost in a corrupt stretch (its place in the video is unknown); skipped")
            self.errors.append(err)
        if lost > 0 and self.log_errors:
            log.warning("%s: %d of %d frames lost in corrupt data", self.name, lost, self.frame_count)

    # ---- iteration -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[VideoFrame]:
        if self._closed:
            raise VideoReadError(self.name, "this reader is closed")
        if self._thread is not None:
            raise VideoReadError(self.name, "a VideoReader can be iterated only once; open a new one")
        self._queue = queue.Queue(maxsize=self._prefetch)
        self._thread = threading.Thread(target=self._worker, name="blazepose-video-reader", daemon=True)
        first, self._first = self._first, None
        self._thread.start()
        return self._iterate(first)

    def _iterate(self, first: VideoFrame) -> Iterator[VideoFrame]:
        try:
            yield first
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise VideoReadError(self.name, f"reading failed: {item}") from item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the background thread and release the source (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():  # unblock a worker waiting on a full queue
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass
                self._thread.join(timeout=0.05)
        self._cap.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass
