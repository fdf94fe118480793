"""The one output protocol: every writer of results is a ``Sink``.

A sink receives a run's frames in order and writes one output (or one per person):

- ``write(result, frame=None)``: one frame's ``PoseResult``; ``frame`` is its RGB picture, passed
  only to sinks whose ``needs_frames`` is true (annotated pictures and videos);
- ``skip(frame_index, timestamp_ms, error, file=None)``: a frame (or photo, ``file`` its name)
  that could not be read, in its place in the frame order; formats that cannot record it ignore it;
- ``close()``: finish the output; idempotent. Leaving a ``with`` block closes the sink; a block
  left normally marks documents complete, one left by an exception (Ctrl-C, an error) does not.

``paths`` lists every file the sink wrote or is writing (a sink that writes one file per person
adds them as people appear). The loops (``apps.loop.run_video`` / ``run_images``) drive any list
of sinks.

Writes are checked: ``write_all`` writes every byte or raises ``OutputWriteError`` naming the
file. A short write (a disk that filled, a quota) is retried from where it stopped; a write that
makes no progress or fails is an error, never a silently shorter file. On a seekable file it also
checks that the file position moved by exactly the bytes written (a write that reports more bytes
than reached the file is an error too). ``GrowingFile`` is the file of the streaming documents
(JSON, COCO, CSV): each write verified against the file's size, and on a failure the file put back
as it was before that write.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from ..errors import OutputWriteError


def csv_bytes(rows) -> bytes:
    """CSV rows (sequences of values; None is an empty cell) as UTF-8 bytes, ready for one write."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode()


def write_all(f: BinaryIO, data: bytes, path: str | os.PathLike | None = None) -> None:
    """Write every byte of ``data`` to the unbuffered (or flushed) binary file ``f``.

    ``f.write`` may write fewer bytes than given (a full disk, a signal); the rest is written by
    further calls. A call that writes nothing, or an ``OSError``, raises ``OutputWriteError``
    naming ``path`` (default: ``f.name``) and the problem.
    """
    name = str(path if path is not None else getattr(f, "name", "output"))
    view = memoryview(data)
    done = 0
    start = _position(f)
    while done < len(view):
        try:
            n = f.write(view[done:])
        except OSError as exc:
            raise OutputWriteError(name, exc.strerror or str(exc), errno=exc.errno) from exc
        if n is None:           # a buffered file takes everything (its flush is checked below)
            n = len(view) - done
        if n <= 0:
            raise OutputWriteError(name, f"short write: {done} of {len(view)} bytes written (disk full?)")
        done += n
    if hasattr(f, "flush"):
        try:
            f.flush()
        except OSError as exc:
            raise OutputWriteError(name, exc.strerror or str(exc), errno=exc.errno) from exc
    end = _position(f) if start is not None else None
    if end is not None and end != start + len(view):
        raise OutputWriteError(name, f"short write: {len(view)} bytes reported written at offset {start}, "
                                     f"but the file position moved by {end - start}")


def _position(f) -> int | None:
    """The position of a seekable file (the kernel's, for an unbuffered one), else None."""
    try:
        return f.tell() if f.seekable() else None
    except (OSError, ValueError, AttributeError):
        return None


class GrowingFile:
    """A streaming document's file: ``first`` (a header) and each ``put`` body followed by ``tail``
    (the closing brackets; empty for CSV), written in one checked write over the previous tail, so
    the file only grows and holds a whole document after every write.

    ``f`` is the file opened unbuffered for writing (``open(path, "wb", buffering=0)``). After each
    write the file's size must be exactly what was written (``os.fstat``): a short write, a failing
    device or a write that reported bytes it did not write raises ``OutputWriteError`` naming the
    file. The file is then put back as it was before that write (the previous tail rewritten in
    place, which needs no new disk space, and the rest cut off), and every later ``put`` raises:
    a document whose writes failed never gets another byte, so never a completion footer.
    """

    def __init__(self, f: BinaryIO, path: str | os.PathLike, first: bytes, tail: bytes = b""):
        self._f, self.path, self.tail = f, Path(path), tail
        self.error: OutputWriteError | None = None
        self._end = len(tail)    # as if the file held the tail alone: ``first`` goes before it
        self.put(first)

    def put(self, body: bytes, last: bytes | None = None) -> None:
        """Write ``body`` and the tail (``last``: a new, final tail) over the previous tail."""
        if self.error is not None:
            raise OutputWriteError(self.path, f"not written after an earlier failure ({self.error.problem})")
        at = self._end - len(self.tail)
        data = body + (self.tail if last is None else last)
        try:
            try:
                self._f.seek(at)
                write_all(self._f, data, self.path)
                size = os.fstat(self._f.fileno()).st_size
            except OutputWriteError:
                raise
            except OSError as exc:
                raise OutputWriteError(self.path, exc.strerror or str(exc), errno=exc.errno) from exc
            if size != max(self._end, at + len(data)):
                raise OutputWriteError(self.path, f"the file holds {size} bytes after a write that should "
                                                  f"have left {at + len(data)} (bytes were lost)")
        except OutputWriteError as exc:
            self.error = exc
            self._restore(at)
            raise
        self._end = at + len(data)
        if last is not None:
            self.tail = last

    def _restore(self, at: int) -> None:
        """Best effort: the file as it was before the failed write (the tail at ``at``, nothing after)."""
        try:
            self._f.seek(at)
            write_all(self._f, self.tail, self.path)
            self._f.truncate(at + len(self.tail))
        except OSError:      # the disk refuses even this: the error already raised names the file
            pass

    def close(self) -> None:
        self._f.close()


class Sink:
    """Base of every output: the protocol's defaults and the context-manager plumbing.

    Subclasses implement ``write`` and, when they hold files or buffers, ``_finish`` (called once
    by ``close``; ``complete`` tells whether the run ended normally). Class attribute
    ``needs_frames``: whether ``write`` needs the frame's pixels.
    """

    needs_frames: ClassVar[bool] = False

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self._closed = False

    def write(self, result: Any, frame: Any = None) -> None:
        """Add one frame's result (``frame``: its RGB picture, for sinks that draw)."""
        raise NotImplementedError

    def skip(self, frame_index: int, timestamp_ms: float | None, error: str, file: str | None = None) -> None:
        """A frame (a photo: ``file``) that could not be read: this format records nothing for it."""

    def close(self, complete: bool = True) -> None:
        """Finish the output (once); ``complete=False``: the run was interrupted."""
        if self._closed:
            return
        self._closed = True
        self._finish(complete)

    def _finish(self, complete: bool) -> None:
        """Write what is left and close files (subclasses); called once."""

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)
