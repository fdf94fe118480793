"""Public classes: the landmarker, its video session and the result type."""
from .landmarker import PoseLandmarker
from .result import Person, PoseResult
from .session import VideoSession

__all__ = ["PoseLandmarker", "VideoSession", "PoseResult", "Person"]
