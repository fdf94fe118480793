"""Plots: the angle-over-time figure and the photo with angle values (matplotlib, optional)."""
import sys

import numpy as np
import pytest

from blazepose.errors import MissingDependencyError
from test_angles import knee_frames

pytest.importorskip("matplotlib", reason="plots need the 'plot' extra (matplotlib)")

from blazepose.io.images import read_image  # noqa: E402
from blazepose.outputs.draw import draw_pose  # noqa: E402
from blazepose.outputs.plot import plot_angles, plot_image_angles, require_matplotlib  # noqa: E402

GREY = (204, 204, 204)   # matplotlib "0.8": frames without a pose


def grey_pixels(img):
    return int((np.abs(img.astype(int) - GREY).sum(axis=2) <= 3).sum())


@pytest.mark.slow
def test_frames_without_a_pose_are_shaded(tmp_path):
    fr = knee_frames()                                   # frame 2 has no pose
    with_gap = read_image(plot_angles(fr, tmp_path / "gap.png", pairs=("knee",)))
    no_gap = read_image(plot_angles([fr[0], fr[1], fr[3]], tmp_path / "nogap.png", pairs=("knee",)))
    assert with_gap.shape == no_gap.shape == (250, 800, 3)
    assert grey_pixels(with_gap) > 2000 > grey_pixels(no_gap)


def test_bad_pair_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown joint pair 'wrist'"):
        plot_angles(knee_frames(), tmp_path / "x.png", pairs=("wrist",))


def test_missing_matplotlib_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # import matplotlib -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'blazepose\[plot\]'"):
        require_matplotlib()


@pytest.mark.slow
def test_image_plot_is_the_annotated_image_plus_angle_labels(pose_rgb, landmarker_factory, tmp_path):
    res = landmarker_factory("full").process_image(pose_rgb)
    drawn = draw_pose(pose_rgb, res)
    bare = read_image(plot_image_angles(pose_rgb, res, tmp_path / "bare.png", joints=()))
    # at the image's own size, pixel for pixel the annotated image when no label is asked for
    assert bare.shape == pose_rgb.shape
    assert np.abs(bare.astype(int) - drawn).max() <= 1
    labelled = read_image(plot_image_angles(pose_rgb, res, tmp_path / "angles.png"))
    changed = np.abs(labelled.astype(int) - drawn).sum(axis=2) > 30
    assert changed.sum() > 3000
    # the labels sit near the joints: every changed pixel is within 12 % of the image of one
    ys, xs = np.nonzero(changed)
    joints = res.landmarks[0, [11, 12, 13, 14, 23, 24, 25, 26, 27, 28], :2]
    d = np.min(np.hypot(xs[:, None] - joints[:, 0], ys[:, None] - joints[:, 1]), axis=1)
    assert d.max() < 0.12 * 1000
