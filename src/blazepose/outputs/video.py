"""Writing annotated videos in a background thread (drawing and encoding overlap inference).

``AnnotatedVideoWriter(path, fps, (width, height))`` takes RGB frames with their results,
draws them with ``draw.draw_pose`` and encodes them with OpenCV, in a thread fed by a small
bounded queue (memory stays flat). The codec follows the suffix: ``.mp4``/``.mov``/``.m4v``
MPEG-4 Part 2 (``mp4v``), ``.avi`` Motion-JPEG, ``.mkv`` and others ``mp4v``. ``close()`` (also
on Ctrl-C through ``with``) drains the queue and finalises the file so it stays playable.
``color_by_id`` goes to ``draw_pose`` (True: each person in their id's colour on every frame, as
the video CLI does with ``--max-poses`` > 1).
"""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import numpy as np

from ..api.result import PoseResult
from ..errors import BlazePoseError
from .draw import draw_pose

log = logging.getLogger(__name__)

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}


class VideoWriteError(BlazePoseError):
    """An output video cannot be created or written."""


class AnnotatedVideoWriter:
    """Draw results on frames and encode them, in order, in a background thread."""

    def __init__(self, path, fps: float, size: tuple[int, int], *, min_visibility: float = 0.5,
                 draw_rois: bool = False, color_by_id: bool | None = None, queue_size: int = 8):
        import cv2

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = FOURCC_BY_SUFFIX.get(self.path.suffix.lower(), "mp4v")
        self.size = (int(size[0]), int(size[1]))
        self._vw = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*fourcc), float(fps), self.size)
        if not self._vw.isOpened():
            raise VideoWriteError(f"{self.path}: cannot create a video with codec {fourcc} "
                                  "(unsupported suffix or no write permission)")
        self.min_visibility, self.draw_rois = min_visibility, draw_rois
        self.color_by_id = color_by_id
        self.frames_written = 0
        self._last: np.ndarray | None = None
        self._q: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blazepose-video-writer", daemon=True)
        self._thread.start()
        self._closed = False

    def _run(self) -> None:
        import cv2

        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is not None:
                continue
            try:
                rgb, result = item
                if rgb is None:  # repeat the last frame (a skipped input frame keeps the timing)
                    bgr = self._last
                    if bgr is None:
                        continue
                else:
                    img = rgb if result is None else draw_pose(rgb, result, min_visibility=self.min_visibility,
                                                             draw_rois=self.draw_rois,
                                                             color_by_id=self.color_by_id)
                    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
                    self._last = bgr
                self._vw.write(bgr)
                self.frames_written += 1
            except BaseException as exc:  # reported to the producer on its next call
                self._error = exc

    def _put(self, item) -> None:
        if self._closed:
            raise VideoWriteError(f"{self.path}: writer is closed")
        if self._error is not None:
            raise VideoWriteError(f"{self.path}: writing failed: {self._error}") from self._error
        self._q.put(item)

    def write(self, rgb: np.ndarray, result: PoseResult | None) -> None:
        """Queue one RGB frame (the writer keeps a reference: do not modify it afterwards)."""
        if rgb.shape[1] != self.size[0] or rgb.shape[0] != self.size[1]:
            raise VideoWriteError(f"{self.path}: frame is {rgb.shape[1]}x{rgb.shape[0]}, "
                                  f"the video is {self.size[0]}x{self.size[1]}")
        self._put((rgb, result))

    def repeat_last(self) -> None:
        """Write the previous frame again (keeps the duration when an input frame was skipped)."""
        self._put((None, None))

    def close(self) -> None:
        """Finish the queued frames and finalise the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._q.put(None)
        self._thread.join()
        self._vw.release()
        if self._error is not None:
            raise VideoWriteError(f"{self.path}: writing failed: {self._error}") from self._error

    def __enter__(self) -> "AnnotatedVideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
