"""Shared test fixtures. Tests that need ../shared/fixtures skip with a reason where it is absent."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
REFERENCE = FIXTURES / "reference"
COCO = FIXTURES / "coco"

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"shared fixtures not found at {FIXTURES} (outside the project workspace)")


@pytest.fixture(scope="session")
def expected_cases() -> dict:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference fixtures not found at {REFERENCE}")
    cases = json.loads((REFERENCE / "expected.json").read_text())["cases"]
    return {c["id"]: c for c in cases}


_landmarkers: dict = {}


@pytest.fixture(scope="session")
def landmarker_factory():
    """One landmarker per configuration for the whole session (engines are costly to create)."""
    from blazepose import PoseLandmarker

    def make(model: str = "full", **kw):
        key = (model, tuple(sorted(kw.items())))
        if key not in _landmarkers:
            _landmarkers[key] = PoseLandmarker(model, **kw)
        return _landmarkers[key]

    yield make
    for pl in _landmarkers.values():
        pl.close()
    _landmarkers.clear()


@pytest.fixture(scope="session")
def pose_rgb() -> np.ndarray:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference fixtures not found at {REFERENCE}")
    from blazepose.io.images import read_image

    return read_image(REFERENCE / "pose.jpg")
