"""Video containers as cameras write them: variable frame rate and rotation metadata.

Clips are authored with PyAV (FFmpeg's libraries, a test-only dependency) so that the container
really carries irregular presentation times and a display-rotation matrix.
"""
import fractions

import numpy as np
import pytest

from blazepose.io.video import VideoReader

av = pytest.importorskip("av", reason="PyAV (dev extra) writes the test clips")


def _write(path, frames, pts_ms=None, rotation=None, rate=30):
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=rate)
    h, w = frames[0].shape[:2]
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    if rotation is not None:
        s.set_display_rotation(rotation)
    for i, img in enumerate(frames):
        f = av.VideoFrame.from_ndarray(img, format="rgb24")
        if pts_ms is not None:
            f.pts, f.time_base = pts_ms[i], fractions.Fraction(1, 1000)
        for pk in s.encode(f):
            c.mux(pk)
    for pk in s.encode():
        c.mux(pk)
    c.close()


def _container_times_ms(path):
    with av.open(str(path)) as c:
        return [float(f.time) * 1000 for f in c.decode(video=0)]


def test_variable_frame_rate_timestamps_come_from_the_container(tmp_path):
    path = tmp_path / "vfr.mp4"
    frames = [np.full((96, 160, 3), 20 * i, np.uint8) for i in range(10)]
    _write(path, frames, pts_ms=[0, 40, 80, 200, 233, 500, 533, 566, 1000, 1100])
    truth = _container_times_ms(path)
    assert max(np.diff(truth)) > 3 * min(np.diff(truth)), "the clip must really be variable-rate"
    got = [f.timestamp_ms for f in VideoReader(path)]
    np.testing.assert_allclose(got, truth, atol=1.0)


def test_rotation_metadata_is_applied(tmp_path):
    path = tmp_path / "rotated.mp4"
    img = np.zeros((96, 160, 3), np.uint8)
    img[:24, :40] = 255                      # a white block in the stored frame's top-left corner
    _write(path, [img] * 3, rotation=90, rate=10)   # display: rotate 90 degrees anticlockwise
    frame = next(iter(VideoReader(path)))
    assert frame.image.shape == (160, 96, 3)
    # anticlockwise: the stored top-left corner is shown at the bottom-left
    assert frame.image[-5:, :10].mean() > 200 and frame.image[:5, :10].mean() < 50
