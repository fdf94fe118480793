"""blazepose: the 33 BlazePose body landmarks from photos and videos, on the official models.

The names a user needs import from here::

    from blazepose import PoseLandmarker, PoseOptions, VideoSession, PoseResult, Landmark, draw_pose

Every exception the package raises on purpose is a ``BlazePoseError`` (``blazepose.errors``).
Everything but the exceptions and the landmark names is imported on first use (numpy, OpenCV and
the runtime take about half a second), so that ``blazepose.apps.cli`` can hold Ctrl-C and SIGTERM
from its first line (``apps.interrupts``) and a batch stopped in its first second still writes its
report.
"""
from __future__ import annotations

import importlib

from .errors import (BatchBusyError, BlazePoseError, BudgetTimeout, ChecksumError, ImageReadError, InputError,
                     KinematicsError, MissingDependencyError, ModelError, ModelNotFoundError, OptionsError, OutputWriteError,
                     TimestampError, UploadError, UsageError, VideoReadError, VideoWriteError)
from .landmark import CONNECTIONS, LANDMARK_NAMES, LEFT, NUM_LANDMARKS, RIGHT, Landmark

__version__ = "0.1.0"

#: Public names imported on first use: name → module (relative to this package).
_LAZY = {
    "PoseLandmarker": ".api.landmarker",
    "VideoSession": ".api.session",
    "PoseResult": ".api.result",
    "Person": ".api.result",
    "PoseOptions": ".options",
    "draw_pose": ".outputs.draw",
    "export": ".outputs.export",
    "read_image": ".io.images",
    "VideoReader": ".io.video",
}

TYPE_CHECKING = False   # not typing's (importing typing costs more than the rest of this module)
if TYPE_CHECKING:   # what type checkers and IDEs see for the lazy names
    from typing import Any

    from .api.landmarker import PoseLandmarker
    from .api.result import Person, PoseResult
    from .api.session import VideoSession
    from .io.images import read_image
    from .io.video import VideoReader
    from .options import PoseOptions
    from .outputs.draw import draw_pose
    from .outputs.export import export

__all__ = [
    # the pipeline
    "PoseLandmarker", "PoseOptions", "VideoSession", "PoseResult", "Person",
    # landmarks
    "Landmark", "LANDMARK_NAMES", "NUM_LANDMARKS", "CONNECTIONS", "LEFT", "RIGHT",
    # inputs and outputs
    "read_image", "VideoReader", "draw_pose", "export",
    # errors
    "BlazePoseError", "InputError", "UsageError", "OptionsError", "ImageReadError", "VideoReadError",
    "TimestampError", "ModelError", "ModelNotFoundError", "ChecksumError", "MissingDependencyError",
    "OutputWriteError", "VideoWriteError", "UploadError", "BatchBusyError", "BudgetTimeout", "KinematicsError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value     # imported once
        return value
    raise AttributeError(f"module 'blazepose' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
