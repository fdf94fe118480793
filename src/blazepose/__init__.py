"""blazepose: the 33 BlazePose body landmarks from photos and videos, on the official models.

``PoseLandmarker`` and ``PoseResult`` are imported on first use (numpy, OpenCV and the runtime take
about half a second), so that ``blazepose.apps.cli`` can hold Ctrl-C and SIGTERM from its first line
(``apps.interrupts``) and a batch stopped in its first second still writes its report.
"""
from .errors import (BlazePoseError, ChecksumError, ImageReadError, InputError, ModelError,
                     ModelNotFoundError, TimestampError, VideoReadError)
from .landmark import CONNECTIONS, LANDMARK_NAMES, Landmark

__version__ = "0.1.0"
__all__ = ["PoseLandmarker", "PoseResult", "Landmark", "LANDMARK_NAMES", "CONNECTIONS", "BlazePoseError",
           "InputError", "ImageReadError", "VideoReadError", "TimestampError", "ModelError",
           "ModelNotFoundError", "ChecksumError", "__version__"]
_FROM_API = ("PoseLandmarker", "PoseResult")


def __getattr__(name: str):
    if name in _FROM_API:
        from . import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'blazepose' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
