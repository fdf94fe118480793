"""Typed exceptions. Every message names the file (or input) and the problem."""
from __future__ import annotations


class BlazePoseError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(BlazePoseError, ValueError):
    """An input (image, video, frame, argument) cannot be used."""


class UsageError(InputError):
    """A command-line flag or option value that cannot be used as given (the CLI exits 2)."""


class ImageReadError(InputError):
    """An image file is missing, empty, truncated, not an image, or a directory."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class VideoReadError(InputError):
    """A video file or stream cannot be opened or read."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class TimestampError(InputError):
    """Video-mode timestamps must increase strictly from frame to frame."""


class ModelError(BlazePoseError):
    """A model file cannot be found, fetched, verified or loaded."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """No verified copy of a model file could be found or fetched."""


class ChecksumError(ModelError):
    """A model file's sha256 or size does not match the registry."""


class MissingDependencyError(BlazePoseError, ImportError):
    """An optional feature needs a package that is not installed; the message says which extra."""


class OutputWriteError(BlazePoseError, OSError):
    """An output file cannot be created or written completely (disk full, a short write, no
    permission); the message names the file and the problem. Outputs already closed are kept."""

    def __init__(self, path, problem: str, errno: int | None = None):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
        if errno is not None:
            self.errno = errno
