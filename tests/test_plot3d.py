"""The 3-D view: the HTML holds the world landmarks (in the view's axes), works offline, and a
real headless browser (Debian's chromium through Playwright) draws the skeleton in WebGL."""
from __future__ import annotations

import json
import re
import shutil
import sys

import numpy as np
import pytest

from _pixels import skeleton_pixels
from blazepose.api.result import PoseResult
from blazepose.errors import MissingDependencyError
from blazepose.outputs.bvh import AXES
from conftest import REFERENCE, ROOT

pytest.importorskip("plotly", reason="the 3-D view needs the 'plot3d' extra")
from blazepose.outputs.plot3d import FIGURE_ID, Plot3dWriter, plot3d  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"


def figure_of(path) -> dict:
    text = path.read_text(encoding="utf-8")
    m = re.search(rf'<script type="application/json" id="{FIGURE_ID}">(.*?)</script>', text, re.S)
    assert m, "the figure's JSON is embedded"
    return json.loads(m.group(1))


def markers(traces: list[dict]) -> list[np.ndarray]:
    return [np.column_stack([t["x"], t["y"], t["z"]]).astype(float) for t in traces if t["mode"] == "markers"]


@pytest.fixture(scope="module")
def photo_result(landmarker_factory, pose_rgb):
    return landmarker_factory("full").process_image(pose_rgb)


@pytest.fixture(scope="module")
def squats():
    from blazepose import PoseLandmarker

    with PoseLandmarker("full") as landmarker:
        return list(landmarker.process_video(REFERENCE / "pose_squats.mp4"))


def test_photo_html_holds_the_world_landmarks_and_works_offline(photo_result, tmp_path):
    path = plot3d(photo_result, tmp_path / "pose.html")
    text = path.read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs() in text                                        # plotly.min.js inline
    page = text.replace(get_plotlyjs(), "")
    assert "src=" not in page and "http" not in page                     # nothing else to fetch
    fig = figure_of(path)
    (pts,) = markers(fig["data"])
    # View axes: x right, y up, z towards the camera = world * (1, -1, -1).
    np.testing.assert_allclose(pts, photo_result.world[0] * AXES, atol=1e-5)
    lines = next(t for t in fig["data"] if t["mode"] == "lines")
    assert len(lines["x"]) == 3 * 35                                     # 35 edges, None-separated
    assert fig["layout"]["scene"]["camera"]["up"] == {"x": 0, "y": 1, "z": 0}
    assert "frames" not in fig


def test_axis_titles_read_level_and_fit_the_page(photo_result, tmp_path):
    """Issue 20, item 11: plotly drew the y title mirrored (upside down) along its axis and the
    camera sat so near (|eye| 2.03) that the x title was cut off at the page's foot. The y title is
    a level scene annotation above the y axis's top, inside the box (plotly hides one on a face),
    the camera is farther away, and dragging orbits (plotly's turntable swings z up on the first
    drag, laying the person on their side)."""
    scene = figure_of(plot3d(photo_result, tmp_path / "pose.html"))["layout"]["scene"]
    assert scene["yaxis"]["title"]["text"] == ""                          # no mirrored axis title
    (note,) = scene["annotations"]
    assert note["text"] == "y (m), up" and note["showarrow"] is False and note["yanchor"] == "bottom"
    for c in "xyz":
        lo, hi = scene[c + "axis"]["range"]
        assert lo < note[c] < hi                                          # inside the box, so drawn
    half = (scene["yaxis"]["range"][1] - scene["yaxis"]["range"][0]) / 2
    assert scene["yaxis"]["range"][1] - note["y"] < 0.05 * half           # at the top of the y axis
    assert note["x"] - scene["xaxis"]["range"][0] < 0.05 * half           # on the left edge
    assert scene["zaxis"]["range"][1] - note["z"] < 0.05 * half           # the front one
    eye = scene["camera"]["eye"]
    assert 2.3 <= float(np.hypot(np.hypot(eye["x"], eye["y"]), eye["z"])) <= 2.7
    assert eye["z"] > 0 and scene["camera"]["up"] == {"x": 0, "y": 1, "z": 0}
    assert scene["dragmode"] == "orbit"
    assert scene["xaxis"]["title"]["text"] == "x (m), right"


@pytest.mark.slow
def test_video_has_a_frame_per_result_and_a_slider(squats, tmp_path):
    with Plot3dWriter(tmp_path / "squats.html") as sink:
        for r in squats:
            sink.write(r)
        sink.skip(65, 13000.0, "unreadable")
    fig = figure_of(tmp_path / "squats.html")
    assert len(fig["frames"]) == 65 and len(fig["layout"]["sliders"][0]["steps"]) == 65
    assert fig["layout"]["sliders"][0]["steps"][10]["label"] == "2.00 s"
    for k in (0, 10, 64):
        (pts,) = markers(fig["frames"][k]["data"])
        np.testing.assert_allclose(pts, squats[k].world[0] * AXES, atol=1e-5)


def test_several_people_get_their_own_colour_and_place(photo_result, tmp_path):
    r = photo_result
    shifted = r.landmarks + [300, 0, 0]
    two = PoseResult(np.concatenate([r.landmarks, shifted]), np.concatenate([r.visibility] * 2),
                     np.concatenate([r.presence] * 2), np.concatenate([r.world] * 2), [0.9, 0.8],
                     np.concatenate([r.rois] * 2), [0, 1], r.image_size)
    fig = figure_of(plot3d(two, tmp_path / "two.html"))
    a, b = markers(fig["data"])
    lines = [t["line"]["color"] for t in fig["data"] if t["mode"] == "lines"]
    assert len(set(lines)) == 2
    # Same body, 300 px further right: moved by 300 px at the person's metres-per-pixel, same shape.
    shift = b - a
    np.testing.assert_allclose(shift - shift[0], 0, atol=1e-9)
    assert 0.2 < shift[0, 0] < 2.0 and abs(shift[0, 1]) < 1e-9 and shift[0, 2] == 0


def test_several_upper_body_people_are_placed_too(photo_result, tmp_path):
    """Upper body (landmarks 0..24) and two people: the view places them from the trunk and arm
    segments it has (it crashed with an IndexError on the knees, landmark 25)."""
    r = photo_result
    k = 25
    lm = r.landmarks[:, :k]
    two = PoseResult(np.concatenate([lm, lm + [300, 0, 0]]), np.concatenate([r.visibility[:, :k]] * 2),
                     np.concatenate([r.presence[:, :k]] * 2), np.concatenate([r.world[:, :k]] * 2), [0.9, 0.8],
                     np.concatenate([r.rois] * 2), [0, 1], r.image_size)
    a, b = markers(figure_of(plot3d(two, tmp_path / "upper.html"))["data"])
    assert a.shape == b.shape == (k, 3)
    shift = b - a
    np.testing.assert_allclose(shift - shift[0], 0, atol=1e-9)
    assert 0.2 < shift[0, 0] < 2.0 and abs(shift[0, 1]) < 1e-9 and shift[0, 2] == 0


def test_missing_plotly_is_a_clear_error(monkeypatch, tmp_path, photo_result):
    monkeypatch.setitem(sys.modules, "plotly", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'blazepose\[plot3d\]'"):
        plot3d(photo_result, tmp_path / "x.html")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it: apt-get install chromium)")
def test_a_real_browser_draws_the_skeleton(photo_result, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the 'dev' extra) is not installed")
    path = plot3d(photo_result, tmp_path / "pose.html")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            # Offline for real: every request other than the file itself is refused.
            ctx = browser.new_context(viewport={"width": 900, "height": 700}, offline=True)
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            assert page.evaluate("() => document.querySelectorAll('#view canvas').length") >= 1
            page.wait_for_timeout(300)
            png = page.screenshot(path=str(ARTIFACTS / "plot3d.png"))
            assert errors == []
            # The y title (an SVG annotation) is drawn, level, inside the page.
            box = page.evaluate("() => { const r = [...document.querySelectorAll('.annotation-text')]"
                                ".find(e => e.textContent === 'y (m), up').getBoundingClientRect();"
                                " return [r.left, r.top, r.right, r.bottom]; }")
            assert 0 <= box[0] < box[2] <= 900 and 0 <= box[1] < box[3] <= 700, box
            assert box[2] - box[0] > 2 * (box[3] - box[1]), box                 # wider than tall: level
        finally:
            browser.close()
    orange, blue = skeleton_pixels(png)
    # The subject's left joints orange, right joints blue: both drawn (a blank canvas has none).
    assert orange > 50 and blue > 50, (orange, blue)


# ---- issue 22, item 7: a file name cannot blank the page ---------------------------------------
HOSTILE = "x<!--<script>.jpg"


def test_embedded_json_escapes_every_angle_bracket_and_ampersand():
    from blazepose.outputs.plot3d import json_in_html

    value = {"title": HOSTILE + " & </script> <!-- -->", "n": [1.5, 2]}
    text = json_in_html(value)
    assert not set("<>&") & set(text)
    assert text.count("\\u003c") == 4 and text.count("\\u003e") == 3 and text.count("\\u0026") == 1
    assert json.loads(text) == value


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it: apt-get install chromium)")
def test_a_hostile_file_name_still_renders_in_a_real_browser(tmp_path):
    """``image 'x<!--<script>.jpg' --plot3d``: the page draws its plot and shows the name as text."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the 'dev' extra) is not installed")
    import subprocess

    photo = tmp_path / HOSTILE
    shutil.copyfile(REFERENCE / "pose.jpg", photo)
    out = tmp_path / "view.html"
    r = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "image", str(photo), "--plot3d", str(out)],
                       capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    assert r.returncode == 0, r.stderr
    assert "<!--<script" not in out.read_text(encoding="utf-8").replace("<title>", "")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(viewport={"width": 900, "height": 700}, offline=True).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(out.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            assert page.evaluate("() => document.querySelectorAll('#view canvas').length") >= 1
            fig_title = page.evaluate("() => JSON.parse(document.getElementById('%s').textContent)"
                                      ".layout.title.text" % FIGURE_ID)
            assert HOSTILE in fig_title
            assert errors == []
        finally:
            browser.close()
