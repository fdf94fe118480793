"""``PoseLandmarker``: the public entry point: the stateless calls of ``LandmarkerCore`` plus video.

The landmarker keeps no per-video state: ``session()`` makes a ``VideoSession`` (tracker, filters,
last timestamp) and ``process_video`` makes a fresh one per call. Imports run one way:
this module → ``api.session`` → ``api.core``.
"""
from __future__ import annotations

from typing import Callable, Iterator

from .core import ImageInput, LandmarkerCore
from .session import VideoSession

__all__ = ["PoseLandmarker", "ImageInput"]


class PoseLandmarker(LandmarkerCore):
    """Finds the 33 BlazePose landmarks of people in images and videos; holds the engines.

    Options are a ``PoseOptions`` (MediaPipe's names, validated once), given as keywords
    (``PoseLandmarker("full", max_num_poses=4)``), as ``model_complexity``, or as an object
    (``PoseLandmarker(options)``, ``PoseLandmarker(options=o, max_num_poses=2)``);
    ``landmarker.options`` holds them and each field is also a read-only property
    (``landmarker.max_num_poses``). Images are RGB (``process_image`` also takes a file path). Use
    it as a context manager, or call ``close()``. The ``engine`` option runs the models on
    ``"litert"`` (default) or ``"openvino"`` (optional extra, float32). Without
    ``enable_segmentation`` the landmark model runs without its mask branch (``models.prune``: the
    same landmarks bit for bit, in about half the time).

    Image mode (``process_image``, ``process_batch``, ``detect_people``) is stateless. Video mode
    lives in a ``VideoSession``: ``landmarker.session()`` (or ``VideoSession(landmarker)``) gives
    one, with ``process_frame(rgb, timestamp_ms)`` and ``reset()``; ``process_video(source)`` runs a
    fresh session over a whole file, camera or stream. The landmarker itself holds no video state.

    Thread safety: one landmarker may be called from several threads, ``process_video`` included;
    each engine call is serialised by a lock (so threads share the engines rather than run them in
    parallel: for parallel work use one landmarker per thread, or ``blazepose batch``). A
    ``VideoSession`` is used by one thread at a time.

    Several people: ``max_num_poses`` (default 1) is the most people returned per image. People
    are ordered by their detection score, best first, and numbered 0, 1, ... in that order
    (``result.ids``). A pose on the same body as a better-scored one, or too partial to be a
    person (``stages.multi.select_people``), is dropped and the next detection is tried in its
    place. ``detection_tiles="auto"`` (default) looks for small and far people on tiles chosen
    from the image size when ``max_num_poses`` > 1 (``detection_plan``); an int N uses the
    overlapping tiles of the 2x2..NxN grids (``1 + sum(k² for k in 2..N)`` detector calls); 0: off.
    """

    def __enter__(self) -> "PoseLandmarker":
        return self

    def __getattr__(self, name: str):
        """Only for names not found: MediaPipe's spellings (``process``, ...) name ours."""
        from ..mediapipe_names import LANDMARKER, attribute_error

        raise attribute_error(self, name, LANDMARKER)

    def session(self) -> VideoSession:
        """A new video session on this landmarker's engines (one per video or camera).

        Returns:
            A ``VideoSession``: ``process_frame(rgb, timestamp_ms)``, ``process_video``, ``reset``.

        Raises:
            RuntimeError: the landmarker is closed.
        """
        self._check_open()
        return VideoSession(self)

    def process_video(self, source, *, offline_smoothing: bool = False, return_frames: bool = False,
                      progress: Callable[[int], None] | None = None,
                      stop: Callable[[], bool] | None = None) -> Iterator:
        """Landmarks of every frame of a video, on a fresh ``VideoSession`` (see
        ``VideoSession.process_video`` for the details).

        Args:
            source: a file path, a camera index, a stream URL or an open ``VideoReader``.
            offline_smoothing: zero-lag forward-backward smoothing (files only).
            return_frames: yield ``(rgb_frame, result)`` pairs instead of results.
            progress: called with 1 after each frame is analysed.
            stop: asked after each frame; True stops reading.

        Returns:
            An iterator of ``PoseResult`` (one per decoded frame, in order), or of pairs.

        Raises:
            RuntimeError: the landmarker is closed.
            VideoReadError: the video cannot be opened (when iteration starts).
            InputError: offline smoothing of a stream, or with ``enable_segmentation``.
        """
        return self.session().process_video(source, offline_smoothing=offline_smoothing,
                                             return_frames=return_frames, progress=progress, stop=stop)
