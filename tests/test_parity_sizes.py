"""Same landmarks as MediaPipe 0.10.14 at every image size, not only the photos' own.

pose.jpg and dance.jpg are resized (Pillow BICUBIC, ``tests/sizes.py``) to 1280, 1920, 2560
and 4000 px on their longer side; ``tests/data/sizes/expected.json`` holds MediaPipe 0.10.14's
legacy solution's landmarks on exactly those pixels (full model, static_image_mode=True; made by
``tests/data/sizes/make_expected.py``). Asserted per case: the mean distance over all 33
landmarks is below 0.5 px, and the largest distance over the landmarks MediaPipe sees
(visibility > 0.5) below 1 px (measured: mean <= 0.07 px, max 0.58 px on dance.jpg at 4000 px).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import FIXTURES
from sizes import digest, resized

EXPECTED = json.loads((FIXTURES / "sizes" / "expected.json").read_text())
MEAN_TOL_PX, MAX_VISIBLE_TOL_PX = 0.5, 1.0


@pytest.mark.parametrize("case", EXPECTED["cases"], ids=lambda c: f"{c['photo']}-{c['long_side']}")
def test_landmarks_match_mediapipe_at_every_size(landmarker_factory, case):
    rgb = resized(case["photo"], case["long_side"])
    assert rgb.shape[:2] == (case["height"], case["width"])
    assert digest(rgb) == case["sha256"], "the resize gives other pixels than the reference's input"
    res = landmarker_factory("full").process_image(rgb)
    assert len(res) == 1 and case["landmarks"] is not None
    exp = np.asarray(case["landmarks"])
    err = np.hypot(*(res.landmarks[0, :, :2] - exp[:, :2]).T)
    visible = np.asarray(case["visibility"]) > 0.5
    assert err.mean() < MEAN_TOL_PX, f"mean {err.mean():.3f} px"
    assert err[visible].max() < MAX_VISIBLE_TOL_PX, f"max (visible) {err[visible].max():.3f} px"
