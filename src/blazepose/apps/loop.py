"""``run_video`` and ``run_images``: the only loops from inputs to their outputs (sinks).

``blazepose video``, ``blazepose batch`` and the web server's video jobs all call it with a
``VideoSession``, an open ``VideoReader`` and their sinks (``outputs.export`` states the sink
protocol), so they write the same frames, skip the same frames and keep the same timing.

Frames the decoder rejects are reported to every sink with ``skip(frame_index, timestamp_ms,
error)`` in their place in the frame order (the JSON records them, the annotated video repeats
its previous picture); the others go through the session and to every sink with
``write(result, frame)``.

``blazepose image`` and the web server's photos call ``run_images`` with a landmarker, the photos
and their sinks (``outputs.plan.OutputPlan.open_sinks``); a photo that cannot be read is a
``skip`` with its error, and the next photo is processed.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence


def video_header(options, source: str, reader, smoothing: str) -> dict:
    """The document header of a video's results (the same for the CLI, batch and the web)."""
    from ..outputs.export import document_header

    return document_header(options, source, {"fps": reader.fps, "width": reader.width, "height": reader.height,
                                             "frame_count": reader.frame_count, "smoothing": smoothing})


def smoothing_name(options, offline: bool = False) -> str:
    return "off" if not options.smooth_landmarks else ("offline" if offline else "causal")


@dataclass
class VideoRun:
    """What a run did: frames written, frames with at least one person, frames skipped, and
    frames on which the detector ran."""

    frames: int = 0
    frames_with_pose: int = 0
    skipped: int = 0
    detector_frames: int = 0


def run_video(session, reader, sinks: Sequence, progress=None, *, offline_smoothing: bool = False,
              stop: Callable[[], bool] | None = None, on_frame: Callable[[VideoRun], None] | None = None) -> VideoRun:
    """Feed every frame of ``reader`` through ``session`` into ``sinks``; return the counts.

    ``progress`` (e.g. ``apps.progress.progress_bar``) gets ``update(1)`` per analysed frame.
    ``stop()`` is asked after each analysed frame (True: read no more frames, e.g. a cancelled
    web job or ``stop_on_signals``; with offline smoothing the frames analysed are still written);
    ``on_frame(run)`` is called after each frame is written. The sinks are not closed here:
    their owner closes them (so that an interrupted run still finalises every file).
    """
    run = VideoRun()
    needs_frames = any(getattr(s, "needs_frames", False) for s in sinks)

    def report_skipped(upto: int | None) -> None:
        while run.skipped < len(reader.errors):
            err = reader.errors[run.skipped]
            if upto is not None and err.index >= upto:
                return
            run.skipped += 1
            for s in sinks:
                s.skip(err.index, err.timestamp_ms, err.problem)

    frames = session.process_video(reader, offline_smoothing=offline_smoothing, return_frames=needs_frames,
                                   progress=progress.update if progress is not None else None, stop=stop)
    try:
        for item in frames:
            frame, result = item if needs_frames else (None, item)
            report_skipped(result.frame_index)
            for s in sinks:
                s.write(result, frame)
            run.frames += 1
            run.frames_with_pose += bool(len(result))
            run.detector_frames += bool(result.meta.get("detector"))
            if on_frame is not None:
                on_frame(run)
        if stop is None or not stop():
            report_skipped(None)
    finally:
        frames.close()
    return run


@dataclass
class ImageRun:
    """What ``run_images`` did: photos written, and the error of each photo that failed."""

    done: int = 0
    failed: list = field(default_factory=list)


def run_images(landmarker, items: Sequence, sinks: Sequence = (), *,
               open_own: Callable[[contextlib.ExitStack, object], Sequence] | None = None,
               label: Callable[[object], str] = lambda item: item.source,
               on_error: Callable[[str], None] | None = None) -> ImageRun:
    """Each photo of ``items`` (with ``source``) through ``landmarker.process_image`` into ``sinks``
    (the run's: documents, CSV, angles) and the sinks ``open_own(stack, item)`` opens for that
    photo alone (its annotated picture, mask, ...; closed once it is written).

    The result's ``frame_index`` is the photo's position and its ``meta["file"]`` is
    ``label(item)`` (the document's ``"file"``). A photo that cannot be read, or whose own outputs
    cannot be written, is reported to ``on_error`` and, unread, to every sink as ``skip``; the loop
    goes on with the next photo.
    """
    from dataclasses import replace

    from ..errors import BlazePoseError

    run = ImageRun()

    def failed(exc: BaseException) -> None:
        run.failed.append(str(exc))
        if on_error is not None:
            on_error(str(exc))

    for index, item in enumerate(items):
        try:
            frame = landmarker.load(item.source)
            result = landmarker.process_image(frame)
        except BlazePoseError as exc:
            failed(exc)
            for s in sinks:
                s.skip(index, None, str(exc), file=label(item))
            continue
        result = replace(result, frame_index=index, meta={**result.meta, "file": label(item)})
        for s in sinks:
            s.write(result, frame)
        try:
            with contextlib.ExitStack() as stack:
                for s in (open_own(stack, item) if open_own is not None else ()):
                    s.write(result, frame)
        except BlazePoseError as exc:
            failed(exc)
            continue
        run.done += 1
    return run


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM as a request to stop: the first one sets the event yielded (give its
    ``is_set`` to ``run_video`` as ``stop``: the frame in hand is finished and written, no more are
    read), a second one raises ``KeyboardInterrupt`` at once. Outside the main thread, an event
    nothing sets.

    A ``KeyboardInterrupt`` raised between any two bytecodes could land inside the writer threads'
    queue operations and leave ``close()`` waiting forever (seen once in a few dozen Ctrl-C of
    ``blazepose video`` on a busy machine); a request is only read between frames.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt(f"signal {signum}")
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)
