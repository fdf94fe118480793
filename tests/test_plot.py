"""Plots: the angle-over-time figure and the photo with angle values (matplotlib, optional)."""
import sys

import numpy as np
import pytest

from blazepose.errors import MissingDependencyError
from test_angles import knee_frames

pytest.importorskip("matplotlib", reason="plots need the 'plot' extra (matplotlib)")

from blazepose.io.images import read_image  # noqa: E402
from blazepose.outputs.draw import ID_COLORS, draw_pose  # noqa: E402
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


# ---- issue 20, item 11: labels of small people overlapped ------------------------------------------
def _overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


@pytest.mark.slow
def test_labels_of_several_people_never_overlap(landmarker_factory):
    """The ski race (five people, some small, --max-poses 10): no two angle labels overlap, none
    covers an "id N" label, each stays in the picture; the largest person (the front skier) keeps all
    their labels, and smaller people get smaller ones."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from blazepose.outputs.angles import JOINT_NAMES, joint_angles
    from blazepose.outputs.draw import id_label_box
    from blazepose.outputs.plot import image_angles_figure
    from conftest import ROOT

    rgb = read_image(ROOT / "tests" / "data" / "coco" / "000000197388.jpg")
    res = landmarker_factory("full", max_num_poses=10).process_image(rgb)
    assert len(res) >= 4
    fig = image_angles_figure(rgb, res)
    renderer = FigureCanvasAgg(fig).get_renderer()
    h, w = rgb.shape[:2]
    texts = fig.axes[0].texts
    # the drawn boxes in image pixels (y down), with the black outline's half width around them
    boxes = []
    for t in texts:
        e = t.get_window_extent(renderer)
        pad = t.get_fontsize() / 6 * fig.dpi / 72
        boxes.append((e.x0 - pad, h - e.y1 - pad, e.x1 + pad, h - e.y0 + pad))
    assert len(boxes) >= 30
    clashes = [(texts[i].get_text(), texts[j].get_text()) for i in range(len(boxes))
               for j in range(i + 1, len(boxes)) if _overlap(boxes[i], boxes[j])]
    assert clashes == []
    vis = res.visibility >= 0.5
    id_boxes = [id_label_box(res, p, vis[p], (w, h))[:4] for p in range(len(res))]
    assert not [b for b in boxes for box in id_boxes if _overlap(b, box)]
    assert all(-1 <= b[0] and -1 <= b[1] and b[2] <= w + 1 and b[3] <= h + 1 for b in boxes), boxes
    # the largest person: every joint with a value is labelled, in the biggest font
    area = [np.prod(np.ptp(res.landmarks[p, vis[p], :2], axis=0)) for p in range(len(res))]
    big = int(np.argmax(area))
    ja = joint_angles(res)
    expected = sum(np.isfinite(ja.angles("2d")[big, j]) and ja.visibility[big, j] >= 0.5
                   for j in range(len(JOINT_NAMES)))
    colour = tuple(c / 255 for c in ID_COLORS[int(res.ids[big]) % len(ID_COLORS)])
    mine = [t for t in texts if tuple(t.get_color()) == colour]
    assert expected >= 10 and len(mine) == expected
    sizes = {tuple(t.get_color()): t.get_fontsize() for t in texts}
    assert sizes[colour] == max(sizes.values()) and min(sizes.values()) < 0.8 * sizes[colour], sizes
