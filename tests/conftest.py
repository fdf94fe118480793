"""Shared test fixtures. The sample photos, clip and reference outputs live in tests/data (see its README)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data"
REFERENCE = FIXTURES / "reference"
COCO = FIXTURES / "coco"


@pytest.fixture(scope="session")
def expected_cases() -> dict:
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
    from blazepose.io.images import read_image

    return read_image(REFERENCE / "pose.jpg")


def finished_job(client, job_id: str, timeout_s: float = 120.0) -> dict:
    """Poll a web video job (``GET /api/jobs/ID``) until it is done or failed; its last status.
    The deadline only guards against a hang."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        st = client.get(f"/api/jobs/{job_id}").json()
        if st["state"] in ("done", "failed") or time.monotonic() > deadline:
            return st
        time.sleep(0.1)
