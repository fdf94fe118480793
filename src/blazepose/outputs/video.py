"""The one video writer: annotated videos, encoded in a background thread.

``AnnotatedVideoWriter(path, fps, (width, height))`` is a sink (see ``outputs.export``): it takes
each result with its RGB frame (``write(result, image)``), draws it with ``draw.draw_pose`` and
encodes it with OpenCV, in a thread fed by a small bounded queue (memory stays flat); a skipped
input frame (``skip``) repeats the previous picture, so the video keeps the input's timing. The
codec follows the suffix: ``.mp4``/``.mov``/``.m4v`` are H.264 in a *fragmented* MP4, written with
PyAV (FFmpeg's libx264; a fragment per half second of video, each with its own index), so browsers play
it and a file cut by a hard kill plays up to its last whole fragment; without PyAV's libx264 they
fall back to OpenCV (H.264 where it can, else MPEG-4 Part 2, unreadable after a kill). ``.avi`` is
Motion-JPEG, ``.webm`` VP8, ``.mkv`` and others ``mp4v``, all through OpenCV; ``fourcc`` forces
OpenCV with that codec. ``browser_video_format`` is the format batch and the web server write:
the fragmented H.264 MP4, or, without PyAV's libx264, what OpenCV can write that browsers play.

After a hard kill (SIGKILL, power cut) a ``.webm``, ``.mkv`` or ``.avi`` file plays up to the last
data OpenCV had written out (it writes in blocks of about 256 KB: the last seconds may be
missing), an ``.mp4`` up to its last whole fragment (the last half second may be missing). Ctrl-C and
SIGTERM finalise every format (``docs/kill_safety.md``).
``max_side`` scales the pictures down so that their longer side is at most that many pixels.
``close()`` (also on Ctrl-C through ``with``) drains the queue and finalises the file.
``style`` (``draw.DrawStyle``) says how to draw (the run's one style, from ``OutputPlan``).
"""
from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..api.result import PoseResult
from ..errors import UsageError, VideoWriteError
from ..io.video import quiet_opencv
from .draw import DrawStyle
from .sink import Sink

log = logging.getLogger(__name__)

FOURCC_BY_SUFFIX = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v",
                    ".webm": "VP80"}


@dataclass(frozen=True)
class OutputFormat:
    """What an annotated video's suffix gives: PyAV's container and codec (None: OpenCV only)."""

    container: str | None
    codec: str | None
    what: str


#: The suffixes an annotated video may have, and what each gives (the CLI's help shows this).
#: Without PyAV's encoder for a row, OpenCV writes ``FOURCC_BY_SUFFIX``'s codec instead.
VIDEO_OUTPUT_FORMATS = {
    ".mp4": OutputFormat("mp4", "libx264", "H.264 in a fragmented MP4: plays in browsers, keeps the sound"),
    ".m4v": OutputFormat("mp4", "libx264", "as .mp4"),
    ".mov": OutputFormat("mp4", "libx264", "as .mp4"),
    ".mkv": OutputFormat("matroska", "libx264", "H.264 in Matroska, keeps the sound"),
    ".webm": OutputFormat(None, None, "VP8 in WebM (OpenCV): plays in browsers, no sound"),
    ".avi": OutputFormat(None, None, "Motion-JPEG in AVI (OpenCV): large, no sound"),
}


def video_formats_help() -> str:
    """One line per output suffix: what it gives."""
    return "; ".join(f"{sfx} {f.what}" for sfx, f in VIDEO_OUTPUT_FORMATS.items())


def check_video_name(path: str | os.PathLike) -> None:
    """Refuse (``UsageError``) an annotated video name whose suffix no writer handles."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_OUTPUT_FORMATS:
        names = ", ".join(VIDEO_OUTPUT_FORMATS)
        raise UsageError(f"{path}: an annotated video's name ends in {names} (.mp4: H.264, plays in "
                         f"browsers), not {suffix or 'nothing'}")


@dataclass(frozen=True)
class VideoFormat:
    fourcc: str | None
    ext: str
    mime: str


_FORMAT: VideoFormat | None = None
_FORMAT_LOCK = threading.Lock()


def browser_video_format() -> VideoFormat:
    """The browser-playable format this installation writes best: H.264 in a fragmented MP4 with
    PyAV (``fourcc`` None: ``AnnotatedVideoWriter`` picks PyAV by the ``.mp4`` suffix), else what
    OpenCV can write, H.264 mp4 if it can, else WebM VP8.

    (The opencv-python wheels ship no H.264 encoder; VP8 WebM plays in every current browser and
    encodes about 3x faster than VP9.) Probed once per process, silently.
    """
    global _FORMAT
    with _FORMAT_LOCK:
        if _FORMAT is None and pyav_h264_available():
            _FORMAT = VideoFormat(None, ".mp4", "video/mp4")
        if _FORMAT is None:
            import cv2

            probe_dir = Path(tempfile.mkdtemp(prefix="blazepose-probe-"))
            try:
                for fmt in (VideoFormat("avc1", ".mp4", "video/mp4"), VideoFormat("VP80", ".webm", "video/webm")):
                    level = cv2.utils.logging.getLogLevel()
                    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
                    try:
                        w = cv2.VideoWriter(str(probe_dir / f"probe{fmt.ext}"), cv2.VideoWriter_fourcc(*fmt.fourcc),
                                            10, (64, 64))
                        ok = w.isOpened()
                        if ok:
                            w.write(np.zeros((64, 64, 3), np.uint8))
                        w.release()
                    finally:
                        cv2.utils.logging.setLogLevel(level)
                    if ok:
                        _FORMAT = fmt
                        break
                else:
                    _FORMAT = VideoFormat("mp4v", ".mp4", "video/mp4")
                    log.warning("OpenCV can write neither H.264 nor VP8 here; annotated videos use MPEG-4 "
                                "part 2, which browsers do not play (the downloads still work)")
            finally:
                shutil.rmtree(probe_dir, ignore_errors=True)
    return _FORMAT


def _fourcc_for(suffix: str) -> str:
    if suffix in (".mp4", ".m4v", ".mov") and browser_video_format().fourcc == "avc1":
        return "avc1"
    return FOURCC_BY_SUFFIX.get(suffix, "mp4v")


def pyav_h264_available() -> bool:
    """Whether PyAV with FFmpeg's libx264 encoder is installed."""
    return pyav_has("libx264")


def pyav_has(codec: str) -> bool:
    """Whether PyAV is installed with FFmpeg's encoder ``codec``."""
    try:
        import av
    except ImportError:
        return False
    return codec in av.codecs_available


class _OpenCVEncoder:
    """BGR frames into a file through ``cv2.VideoWriter``."""

    def __init__(self, path: Path, fourcc: str, fps: float, size: tuple[int, int]):
        import cv2

        with quiet_opencv():
            self._vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), size)
        if not self._vw.isOpened():
            raise VideoWriteError(f"{path}: cannot create a video with codec {fourcc} "
                                  "(unsupported suffix or no write permission)")
        self.codec = fourcc
        self.bgr = True

    def write(self, frame: np.ndarray) -> None:
        self._vw.write(frame)

    def release(self) -> None:
        self._vw.release()


class _PyAVEncoder:
    """RGB frames into H.264 with PyAV (a keyframe per half second): a fragmented MP4 (a fragment
    per keyframe) or Matroska; with ``audio_from``, that file's sound is carried over
    (``outputs.audio``)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], container: str = "mp4",
                 audio_from: str | os.PathLike | None = None):
        from fractions import Fraction

        import av

        rate = Fraction(round(float(fps) * 1000), 1000).limit_denominator(1001)
        options = {"flush_packets": "1"}
        if container == "mp4":
            options["movflags"] = "frag_keyframe+empty_moov+default_base_moof"
        try:
            self._out = av.open(str(path), mode="w", format=container, options=options)
        except (OSError, av.FFmpegError) as exc:
            raise VideoWriteError(f"{path}: cannot create the video ({exc})") from exc
        self._stream = self._out.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = size[0] - size[0] % 2, size[1] - size[1] % 2
        self._stream.pix_fmt = "yuv420p"
        # no look-ahead or B-frames (each frame leaves the encoder at once), a keyframe and so a
        # fragment every half second: a killed file loses at most the last half second or so
        self._stream.options = {"preset": "veryfast", "tune": "zerolatency", "crf": "23",
                                "g": str(max(1, round(float(fps) / 2)))}
        self.codec = "h264"
        self.bgr = False
        self._fps, self._frames = float(fps), 0
        self._audio = None
        if audio_from is not None:
            from .audio import AudioPass

            self._audio = AudioPass.open(audio_from, self._out)

    def write(self, frame: np.ndarray) -> None:
        import av

        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf = vf.reformat(width=self._stream.width, height=self._stream.height, format="yuv420p")
        for packet in self._stream.encode(vf):
            self._out.mux(packet)
        self._frames += 1
        if self._audio is not None:   # the sound up to this frame's end, interleaved with the pictures
            self._audio.mux_until(self._frames / self._fps)

    def release(self) -> None:
        for packet in self._stream.encode():
            self._out.mux(packet)
        if self._audio is not None:
            self._audio.finish(self._frames / self._fps)
        self._out.close()


def scaled_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """``size`` (width, height) scaled down so its longer side is at most ``max_side`` (even sizes)."""
    w, h = int(size[0]), int(size[1])
    if not max_side or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


class AnnotatedVideoWriter(Sink):
    """Draw results on frames and encode them, in order, in a background thread (a sink)."""

    needs_frames = True

    def __init__(self, path, fps: float, size: tuple[int, int], *, style: DrawStyle = DrawStyle(),
                 max_side: int | None = None, fourcc: str | None = None, queue_size: int = 8,
                 audio_from: str | os.PathLike | None = None):
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.frame_size = (int(size[0]), int(size[1]))
        self.size = scaled_size(self.frame_size, max_side)
        suffix = self.path.suffix.lower()
        fmt = VIDEO_OUTPUT_FORMATS.get(suffix)
        if fourcc is None and fmt is not None and fmt.codec is not None and pyav_has(fmt.codec):
            self._enc = _PyAVEncoder(self.path, fps, self.size, fmt.container, audio_from=audio_from)
        else:
            self._enc = _OpenCVEncoder(self.path, fourcc or _fourcc_for(suffix), fps, self.size)
        #: Whether the input's sound is in the output (False: no sound there, or no PyAV writer)
        self.has_audio = getattr(self._enc, "_audio", None) is not None
        self.paths.append(self.path)
        self.style = style
        self.frames_written = 0
        self._last: np.ndarray | None = None
        self._q: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blazepose-video-writer", daemon=True)
        self._thread.start()

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
                    img = rgb if result is None else self.style.draw(rgb, result)
                    if (img.shape[1], img.shape[0]) != self.size:
                        img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
                    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if self._enc.bgr else img
                    self._last = bgr
                self._enc.write(bgr)
                self.frames_written += 1
            except BaseException as exc:  # reported to the producer on its next call
                self._error = exc

    def _put(self, item) -> None:
        if self._closed:
            raise VideoWriteError(f"{self.path}: writer is closed")
        if self._error is not None:
            raise VideoWriteError(f"{self.path}: writing failed: {self._error}") from self._error
        self._q.put(item)

    def write(self, result: PoseResult | None, frame: np.ndarray | None = None) -> None:
        """Queue one RGB frame with its result (the writer keeps a reference to the frame: do not
        modify it afterwards)."""
        image = frame
        if image is None:
            raise VideoWriteError(f"{self.path}: an annotated video needs the frame's pixels")
        if image.shape[1] != self.frame_size[0] or image.shape[0] != self.frame_size[1]:
            raise VideoWriteError(f"{self.path}: frame is {image.shape[1]}x{image.shape[0]}, "
                                  f"the video is {self.frame_size[0]}x{self.frame_size[1]}")
        self._put((image, result))

    def skip(self, frame_index: int, timestamp_ms: float | None, error: str, file: str | None = None) -> None:
        """A frame that could not be read: the previous picture again, so the timing is kept
        (nothing when no frame came yet)."""
        self._put((None, None))

    def _finish(self, complete: bool) -> None:
        """Finish the queued frames and finalise the file."""
        self._q.put(None)
        self._thread.join()
        try:
            self._enc.release()
        except Exception as exc:  # noqa: BLE001 - reported as the writer's error below
            self._error = self._error or exc
        if self._error is not None:
            raise VideoWriteError(f"{self.path}: writing failed: {self._error}") from self._error
