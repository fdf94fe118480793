"""The landmark models without their segmentation branch (models.prune) give the official files'
other outputs bit for bit, on crops of the sample photos, and are derived once and checked."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import COCO, REFERENCE

KEPT = ("landmarks", "pose_flag", "heatmap", "world")


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    """(N, 256, 256, 3) model inputs: the best detection's ROI in each sample photo."""
    from blazepose import PoseLandmarker
    from blazepose.io.images import read_image
    from blazepose.stages.landmarks import landmark_input

    out = []
    with PoseLandmarker("lite") as pl:
        for path in [REFERENCE / "pose.jpg", REFERENCE / "dance.jpg", *sorted(COCO.glob("*.jpg"))]:
            img = read_image(path)
            dets = pl.detect_people(img)
            if len(dets):
                roi = pl.roi_from_detection(dets, 0, img.shape[1], img.shape[0])
                out.append(landmark_input(img, roi))
    assert len(out) >= 5
    return np.stack(out)


@pytest.fixture()
def private_cache(tmp_path, monkeypatch):
    """A cache folder of its own holding copies of the verified official landmark files."""
    from blazepose.models import registry

    for name in registry.LANDMARK_MODELS:
        shutil.copyfile(registry.resolve(name), tmp_path / registry.spec(name).file)
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("model", ["lite", pytest.param("full", marks=pytest.mark.slow),
                                   pytest.param("heavy", marks=pytest.mark.slow)])
def test_pruned_model_outputs_are_bit_identical(model, crops, private_cache):
    from blazepose.models import prune, registry
    from blazepose.runtime.engine import LANDMARK_OUTPUTS, LiteRTEngine

    pruned = prune.pruned_path(model)
    assert pruned.parent == private_cache and pruned != registry.cached_path(model)
    official = LiteRTEngine(registry.cached_path(model), LANDMARK_OUTPUTS, num_threads=1)
    small = LiteRTEngine(pruned, LANDMARK_OUTPUTS, num_threads=1)
    shapes = {tuple(int(d) for d in det["shape"][1:]) for det in small._interp.get_output_details()}
    assert shapes == {(195,), (1,), (64, 64, 39), (117,)}   # no (256, 256, 1) mask
    for i in range(len(crops)):   # one crop at a time, as process_image runs them
        a = official.run(crops[i:i + 1])
        b = small.run(crops[i:i + 1])
        assert set(b) == set(KEPT) and "segmentation" in a
        for k in KEPT:
            assert a[k].shape == b[k].shape
            assert np.array_equal(a[k], b[k]), f"{model} crop {i}: {k} differs"
    # and as one batch (process_batch, several people)
    a, b = official.run(crops), small.run(crops)
    for k in KEPT:
        assert np.array_equal(a[k], b[k]), f"{model} batch: {k} differs"


def test_pruned_file_is_recorded_checked_and_rederived(private_cache):
    from blazepose.models import prune, registry

    p = prune.pruned_path("lite")
    rec = json.loads((private_cache / "pose_landmark_lite.noseg.json").read_text())
    assert rec["source_sha256"] == registry.spec("lite").variants[0].sha256
    assert rec["sha256"] == registry.sha256_of(p)
    assert p.stat().st_size < registry.cached_path("lite").stat().st_size
    good = p.read_bytes()
    mtime = p.stat().st_mtime_ns
    assert prune.pruned_path("lite") == p and p.stat().st_mtime_ns == mtime   # reused, not remade
    p.write_bytes(good[:-10] + b"0123456789")                                  # corrupted
    assert prune.pruned_path("lite") == p
    assert p.read_bytes() == good                                              # derived again, same bytes


def test_pruned_path_refuses_a_file_that_is_not_official(tmp_path):
    from blazepose.errors import ChecksumError
    from blazepose.models import prune

    fake = tmp_path / "pose_landmark_full.tflite"
    fake.write_bytes(b"not a model")
    with pytest.raises(ChecksumError, match="pose_landmark_full.tflite"):
        prune.pruned_path("full", fake)
    assert not (tmp_path / "pose_landmark_full.noseg.tflite").exists()


def test_landmarker_uses_the_pruned_model_only_without_segmentation(landmarker_factory):
    plain = landmarker_factory("full")
    seg = landmarker_factory("full", enable_segmentation=True)
    assert plain._landmarker.path.name == "pose_landmark_full.noseg.tflite"
    assert seg._landmarker.path.name == "pose_landmark_full.tflite"
