"""Counting a skeleton's pixels in a screenshot (for the browser tests of the 3-D view)."""
from __future__ import annotations

import numpy as np


def skeleton_pixels(png: bytes) -> tuple[int, int]:
    """Pixels in the joints' colours, the subject's left (orange) and right (blue), in a PNG."""
    import cv2

    rgb = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1].astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    orange = (r > 200) & (g > 100) & (g < 175) & (b < 70)
    blue = (r < 60) & (g > 110) & (g < 190) & (b > 210)
    return int(orange.sum()), int(blue.sum())
