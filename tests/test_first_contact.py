"""A new user's first hour: MediaPipe's names get hints, process_batch survives a bad file."""
from __future__ import annotations

import numpy as np
import pytest

from blazepose.api.result import PoseResult
from blazepose.options import OptionsError, PoseOptions

from conftest import REFERENCE


def test_static_image_mode_points_to_process_image_and_session():
    with pytest.raises(OptionsError) as e:
        PoseOptions.from_mapping({"static_image_mode": True})
    msg = str(e.value)
    assert "unknown option static_image_mode" in msg
    assert "process_image(" in msg and "landmarker.session()" in msg
    with pytest.raises(OptionsError, match=r"num_poses is MediaPipe's: the most people per image is max_num_poses"):
        PoseOptions.from_mapping({"num_poses": 2})
    with pytest.raises(OptionsError) as e:   # not a MediaPipe name: no hint
        PoseOptions.from_mapping({"bogus": 1})
    assert "MediaPipe" not in str(e.value)


def test_mediapipe_attributes_name_the_new_spelling(landmarker_factory):
    pl = landmarker_factory("full")
    with pytest.raises(AttributeError, match=r"'process'.*process_image\(image\).*session\(\)"):
        pl.process(np.zeros((8, 8, 3), np.uint8))
    result = PoseResult.empty((10, 10))
    with pytest.raises(AttributeError, match=r"'pose_landmarks'.*result\.landmarks.*result\.xyn"):
        result.pose_landmarks
    with pytest.raises(AttributeError, match=r"'pose_world_landmarks'.*result\.world"):
        result.pose_world_landmarks
    with pytest.raises(AttributeError) as e:   # an unknown name stays a plain AttributeError
        result.no_such_thing
    assert str(e.value) == "'PoseResult' object has no attribute 'no_such_thing'"
    assert not hasattr(result, "pose_landmarks") and hasattr(result, "landmarks")


def test_process_batch_returns_a_result_per_input_with_the_error(landmarker_factory, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture")
    pl = landmarker_factory("full")
    good = REFERENCE / "pose.jpg"
    results = pl.process_batch([str(good), str(bad), str(good)])
    assert len(results) == 3
    assert results[0].error is None and len(results[0]) == 1
    assert results[1].error is not None and "bad.jpg" in results[1].error
    assert results[1].meta["file"] == str(bad) and len(results[1]) == 0 and results[1].image_size == (0, 0)
    assert results[1].to_dict()["error"] == results[1].error
    # the good ones are exactly what process_image gives
    np.testing.assert_array_equal(results[2].landmarks, pl.process_image(str(good)).landmarks)
    with pytest.raises(ValueError, match="image_size"):   # (0, 0) only for a failed input
        PoseResult.empty((0, 0))
