"""blazepose: the 33 BlazePose body landmarks from photos and videos, on the official models."""
from .api import PoseLandmarker, PoseResult
from .errors import (BlazePoseError, ChecksumError, ImageReadError, InputError, ModelError,
                     ModelNotFoundError, TimestampError, VideoReadError)
from .landmark import CONNECTIONS, LANDMARK_NAMES, Landmark

__version__ = "0.1.0"
__all__ = ["PoseLandmarker", "PoseResult", "Landmark", "LANDMARK_NAMES", "CONNECTIONS", "BlazePoseError",
           "InputError", "ImageReadError", "VideoReadError", "TimestampError", "ModelError",
           "ModelNotFoundError", "ChecksumError", "__version__"]
