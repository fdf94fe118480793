"""Public classes: the landmarker and its result type."""
from .landmarker import PoseLandmarker
from .result import PoseResult

__all__ = ["PoseLandmarker", "PoseResult"]
