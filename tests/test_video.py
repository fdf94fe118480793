"""Video mode on real frames: the squats golden test, reading, tracking, losing and finding people.

The golden test follows the reference's own test (MediaPipe's pose_test.py on pose_squats.mp4):
full model, tracking and smoothing on, timestamps 33.333 ms apart (the reference's wrapper fakes
30 fps on this 5 fps clip), every landmark within 15 px per axis, world landmarks within 0.1 m.
"""
import json

import numpy as np
import pytest

from _video_clips import SQUATS, blank_frames, corrupt_frame, squats_frames, write_avi
from conftest import REFERENCE

from blazepose import TimestampError, VideoReadError
from blazepose.io.video import VideoReader



@pytest.mark.slow
def test_squats_golden_tracking_and_smoothing(landmarker_factory):
    ref = json.loads((REFERENCE / "pose_squats.mediapipe.full.json").read_text())
    exp, exp_world = np.array(ref["predictions"]), np.array(ref["predictions_world"])
    session = landmarker_factory("full").session()
    frames = [f.image for f in VideoReader(SQUATS)]
    assert len(frames) == len(exp) == 65
    worst, worst_world = 0.0, 0.0
    for i, rgb in enumerate(frames):
        res = session.process_frame(rgb, i * 33.333)
        assert len(res) == 1, f"frame {i}: no pose"
        err = np.abs(res.landmarks[0, :, :2] - exp[i, :, :2]).max()
        werr = np.abs(res.world[0] - exp_world[i]).max()
        assert err < 15, f"frame {i}: landmark error {err:.1f} px"
        assert werr < 0.1, f"frame {i}: world error {werr:.3f} m"
        worst, worst_world = max(worst, err), max(worst_world, werr)
    stats = session.stats
    print(f"\nsquats: max error {worst:.1f} px, world {worst_world:.3f} m; "
          f"detector on {stats['detector_frames']} of {stats['frames']} frames")
    assert stats["detector_frames"] == 1            # tracked from the first detection on


def test_reader_timestamps_from_container():
    with VideoReader(SQUATS) as r:
        assert (r.width, r.height, r.fps, r.frame_count) == (720, 1280, 5.0, 65)
        frames = list(r)
    assert [f.index for f in frames] == list(range(65))
    np.testing.assert_allclose([f.timestamp_ms for f in frames], np.arange(65) * 200.0, atol=1e-6)
    assert frames[0].image.shape == (1280, 720, 3) and frames[0].image.dtype == np.uint8


def test_reader_bad_sources_name_the_file(tmp_path):
    with pytest.raises(VideoReadError, match="nope.mp4: no such file"):
        VideoReader(tmp_path / "nope.mp4")
    bad = tmp_path / "text.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(VideoReadError, match="text.mp4"):
        VideoReader(bad)
    with pytest.raises(VideoReadError, match="directory"):
        VideoReader(tmp_path)


def test_corrupt_frame_is_reported_and_skipped(tmp_path, landmarker_factory):
    clip = write_avi(tmp_path / "c.avi", squats_frames(12))
    corrupt_frame(clip, 6)
    reader = VideoReader(clip)
    results = list(landmarker_factory("full").process_video(reader))
    assert [r.frame_index for r in results] == [i for i in range(12) if i != 6]
    assert [e.index for e in reader.errors] == [6]
    assert "cannot decode" in reader.errors[0].problem
    ts = [r.timestamp_ms for r in results]
    assert ts[6] == pytest.approx(1400.0) and all(b > a for a, b in zip(ts, ts[1:]))
    assert all(len(r) == 1 for r in results)


def test_clip_without_a_person(tmp_path, landmarker_factory):
    clip = write_avi(tmp_path / "empty.avi", blank_frames(8))
    pl = landmarker_factory("full")
    results = list(pl.process_video(clip))
    assert len(results) == 8 and all(len(r) == 0 for r in results)
    assert [r.meta["detector"] for r in results] == [True] * 8    # nobody tracked: detect every frame


@pytest.mark.slow
def test_person_leaves_and_comes_back(tmp_path, landmarker_factory):
    """Away 1 s (last seen at 1000 ms, found again at 2000 ms, 5 fps), back at the same place:
    within the default reid_timeout_ms (2000) she gets her id back; with 500 ms a new one."""
    sq = squats_frames(16)
    clip = write_avi(tmp_path / "away.avi", sq[:6] + blank_frames(4) + sq[6:12])
    for timeout, back_id in ((2000.0, 0), (500.0, 1)):
        pl = landmarker_factory("full") if timeout == 2000.0 else landmarker_factory("full", reid_timeout_ms=timeout)
        results = list(pl.process_video(clip))
        present = [len(r) for r in results]
        assert present == [1] * 6 + [0] * 4 + [1] * 6
        assert {int(r.ids[0]) for r in results[:6]} == {0}
        assert {int(r.ids[0]) for r in results[10:]} == {back_id}, f"reid_timeout_ms={timeout}"
        ran = [r.meta["detector"] for r in results]
        assert ran[0] and not any(ran[1:6])           # tracked after the first detection
        assert not ran[6]                             # frame 6 is tried with the tracked region: lost
        assert all(ran[7:11]) and not any(ran[11:])   # then the detector, until it finds her again


def test_timestamps_must_increase(landmarker_factory):
    session = landmarker_factory("full").session()
    frame = np.zeros((64, 48, 3), np.uint8)
    session.process_frame(frame, 100.0)
    with pytest.raises(TimestampError, match=r"timestamp 50 ms is not after the previous frame's 100 ms"):
        session.process_frame(frame, 50.0)
    with pytest.raises(TimestampError, match="increase strictly"):
        session.process_frame(frame, 100.0)
    session.process_frame(frame, 101.0)            # a rejected frame changes nothing
    session.reset()
    session.process_frame(frame, 0.0)              # reset starts a new video


@pytest.mark.slow
def test_offline_smoothing_less_jitter_no_lag(landmarker_factory):
    """On the clip's real 5 fps timestamps: offline output stays on the raw track without lag."""
    pl = landmarker_factory("full")
    off = list(pl.process_video(SQUATS, offline_smoothing=True))
    causal = list(pl.process_video(SQUATS))
    raw = list(landmarker_factory("full", smooth_landmarks=False).process_video(SQUATS))
    assert [r.frame_index for r in off] == list(range(65))
    assert all(r.meta.get("offline_smoothing") for r in off)
    a_off, a_causal, a_raw = (np.stack([r.landmarks[0, :, :2] for r in rs]) for rs in (off, causal, raw))
    acc = lambda a: np.linalg.norm(np.diff(a, 2, axis=0), axis=-1).mean()
    assert acc(a_off) < acc(a_raw)
    assert np.abs(a_off - a_raw).mean() < 1.5            # px: smoothing, not distortion
    hip = a_raw[:, 23, 1]                                 # left hip height: moves with every squat
    d = np.gradient(hip)
    lag = lambda a: -float(((a[:, 23, 1] - hip) * d).sum() / (d * d).sum())   # frames
    assert abs(lag(a_off)) < 0.05 and lag(a_causal) > abs(lag(a_off))
