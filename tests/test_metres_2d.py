"""Metres in 2-D from the person's height (--trc2d, outputs.markers.metres_from_pixels): the scale
a one-camera pipeline without world landmarks gets from the person's stature."""
import numpy as np
import pytest

from blazepose.errors import InputError
from blazepose.landmark import Landmark as L
from blazepose.outputs.markers import EYE_HEIGHT_RATIO, metres_from_pixels, standing_pixel_height
from blazepose.outputs.storage import read_trc
from conftest import REFERENCE
from test_cli import run


def _standing(eye_y: float, foot_y: float, frames: int = 5) -> np.ndarray:
    px = np.full((frames, 33, 2), 50.0)
    px[:, :, 1] = (eye_y + foot_y) / 2
    px[:, [L.LEFT_EYE, L.RIGHT_EYE], 1] = eye_y
    px[:, [L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 1] = foot_y
    return px


def test_scale_from_stature_on_hand_made_points():
    px = _standing(eye_y=100.0, foot_y=100.0 + 936.0)          # eyes 936 px above the feet: 1000 px tall
    assert standing_pixel_height(px) == pytest.approx(936.0 / EYE_HEIGHT_RATIO)
    m = metres_from_pixels(px, 1.80)                           # 1.8 m tall: 1.8 mm per pixel
    assert m[0, L.LEFT_EYE] == pytest.approx([50 * 0.0018, 936 * 0.0018, 0.0])
    assert m[0, L.LEFT_HEEL, 1] == pytest.approx(0.0)          # the floor is Y = 0
    px[2] = np.nan                                             # a gap stays a gap, never zeros
    assert np.isnan(metres_from_pixels(px, 1.80)[2]).all()


def test_no_eyes_or_feet_is_a_clear_error():
    with pytest.raises(InputError, match="height in pixels"):
        metres_from_pixels(np.full((3, 33, 2), np.nan), 1.7)


def test_trc2d_needs_height_before_any_model_loads(tmp_path):
    p = run("video", str(REFERENCE / "pose_squats.mp4"), "--trc2d", str(tmp_path / "m.trc"))
    assert p.returncode == 2 and "--height" in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_trc2d_on_the_squats_clip_gives_body_sized_segments(tmp_path):
    out = tmp_path / "m.trc"
    p = run("video", str(REFERENCE / "pose_squats.mp4"), "--trc2d", str(out), "--height", "1.65",
            "--max-frames", "20")
    assert p.returncode == 0, p.stderr
    names, times, markers, rate = read_trc(out)
    assert markers.shape == (20, 33, 3) and rate == pytest.approx(5.0, rel=0.05)
    assert np.all(markers[..., 2] == 0)
    shin = np.linalg.norm(markers[:, L.LEFT_KNEE, :2] - markers[:, L.LEFT_ANKLE, :2], axis=1)
    eye_over_floor = np.nanpercentile(markers[:, L.LEFT_EYE, 1], 90)
    # a 1.65 m adult: eyes about 1.54 m up when standing, a shank of 0.35-0.45 m
    assert eye_over_floor == pytest.approx(1.65 * EYE_HEIGHT_RATIO, abs=0.05)
    assert 0.30 < np.median(shin) < 0.50
