"""Typed exceptions, every one a ``BlazePoseError``. Every message names the file (or input) and
the problem. All of them are importable from ``blazepose``.

::

    BlazePoseError
    ├── InputError (ValueError)        an input that cannot be used
    │   ├── UsageError                 a command-line flag or option value (the CLI exits 2)
    │   │   └── OptionsError           a PoseOptions value (web: 422)
    │   └── ImageReadError, VideoReadError, TimestampError
    ├── UploadError                    a web request's upload or options (with its HTTP status)
    ├── ModelError                     ModelNotFoundError (FileNotFoundError), ChecksumError
    ├── MissingDependencyError (ImportError)
    ├── OutputWriteError (OSError)     a file that cannot be written completely
    ├── VideoWriteError                an output video that cannot be created or written
    ├── KinematicsError                OpenSim's scaling or inverse kinematics failed
    ├── BatchBusyError                 another batch writes to the same folder
    └── BudgetTimeout (TimeoutError)   the web server's decode memory stayed full too long
"""
from __future__ import annotations


class BlazePoseError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(BlazePoseError, ValueError):
    """An input (image, video, frame, argument) cannot be used."""


class UsageError(InputError):
    """A command-line flag or option value that cannot be used as given (the CLI exits 2)."""


class OptionsError(UsageError):
    """An option has a value the pipeline cannot use; the message names the option and the value."""


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


class UploadError(BlazePoseError):
    """A web request's upload or options cannot be used; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.extra = extra


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


class VideoWriteError(BlazePoseError):
    """An output video cannot be created or written; the message names the file."""


class KinematicsError(BlazePoseError):
    """OpenSim's scaling or inverse kinematics failed; the message names the file and the log."""


class BatchBusyError(BlazePoseError):
    """Another batch is writing to the same output folder."""


class BudgetTimeout(BlazePoseError, TimeoutError):
    """A decode waited longer than its timeout for room in the web server's decode budget."""
