"""The quickstart notebook runs top to bottom (nbclient, a real IPython kernel) and shows real
results: the annotated photo first, a 33-row landmark table equal to this package's numbers, the
clip, the joint-angle plot and the repetition count, the 3-D view and a BVH file."""
from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from conftest import REFERENCE, ROOT

pytestmark = pytest.mark.slow   # a real IPython kernel runs the whole notebook

nbformat = pytest.importorskip("nbformat", reason="the 'dev' extra (nbformat, nbclient, ipykernel) is not installed")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("plotly", reason="the notebook's 3-D view needs the 'plot3d' extra")

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
ARTIFACTS = ROOT / "test-artifacts"


def outputs(cell, kind: str) -> list:
    return [o for o in cell.get("outputs", []) if o["output_type"] == kind]


def stdout(cell) -> str:
    return "".join(o["text"] for o in outputs(cell, "stream") if o["name"] == "stdout")


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebook_runs_and_shows_real_results(executed, landmarker_factory, pose_rgb):
    from blazepose import PoseLandmarker
    from blazepose.outputs.reps import count_reps

    photo_cell, table_cell, clip_cell, angles_cell, view_cell, bvh_cell = executed[1:]
    # The first picture: the annotated photo, the size of pose.jpg.
    images = [o for c in executed for o in c.outputs if o["output_type"] in ("display_data", "execute_result")]
    first = images[0]
    assert "image/png" in first["data"]
    png = base64.b64decode(first["data"]["image/png"])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "notebook_first_output.png").write_bytes(png)
    import cv2

    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[:2] == pose_rgb.shape[:2]
    assert outputs(photo_cell, "display_data")[0] is first
    # The table: 33 rows, the same numbers as this package gives here (rounded to 4 decimals).
    assert stdout(table_cell).strip() == "1 person, 33 landmarks"
    html = outputs(table_cell, "execute_result")[0]["data"]["text/html"]
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S).group(1)
    rows = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]
    assert len(rows) == 33 and [r[1] for r in rows[:3]] == ["nose", "left_eye_inner", "left_eye"]
    result = landmarker_factory("full").process_image(pose_rgb)
    got = np.array([[float(v) for v in r[2:]] for r in rows])
    want = np.column_stack([result.landmarks[0], result.visibility[0], result.world[0]])
    np.testing.assert_allclose(got, want, rtol=0, atol=6e-5)   # 4 decimals shown
    # The clip, as a GIF; 65 frames at 5 fps, a person in each.
    assert stdout(clip_cell).strip() == "65 frames, 200 ms apart; a person in 65"
    assert "image/gif" in outputs(clip_cell, "display_data")[0]["data"]
    assert (NOTEBOOK.parent / "out" / "squats.gif").stat().st_size > 10_000
    # The angle plot and the repetition count, equal to count_reps on this package's results.
    assert "image/png" in outputs(angles_cell, "display_data")[0]["data"]
    with PoseLandmarker("full") as landmarker:
        counter = count_reps(landmarker.process_video(REFERENCE / "pose_squats.mp4"), "squat")
    m = re.search(r"squat: (\d+) repetition\(s\)( \(\+1 in progress\))?", stdout(angles_cell))
    assert m and int(m.group(1)) == counter.count and counter.count >= 2
    assert bool(m.group(2)) == (counter.phase == "active")
    # The 3-D view: an IFrame on the offline page; the BVH file.
    assert "<iframe" in outputs(view_cell, "execute_result")[0]["data"]["text/html"]
    assert (NOTEBOOK.parent / "out" / "squats_3d.html").stat().st_size > 4_000_000
    assert "HIERARCHY" in stdout(bvh_cell)
    assert all(not outputs(c, "error") for c in executed)
