"""End to end in a real headless browser: `blazepose serve` in a subprocess, Debian's chromium
driven by Playwright. Photo → annotated image, 33-row table equal to the CLI's output, JSON
download; video → progress, then a video the browser can decode; webcam (Chromium's fake camera
fed with the reference photo) → live landmarks and a frame rate. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from _pixels import skeleton_pixels
from _video_clips import corrupt_frame, squats_frames, write_avi
from conftest import REFERENCE, ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.slow,   # a server and a browser
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it: apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the 'dev' extra) is not installed")
pytest.importorskip("fastapi", reason="the web server needs the optional 'web' extra")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server through the real CLI; its temporary files go under a folder we can inspect."""
    tmp = tmp_path_factory.mktemp("server-tmp")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp)}
    log = open(tmp_path_factory.mktemp("server-log") / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "serve", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, text=True)
    url = f"http://127.0.0.1:{port}/"
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url + "api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - t0 > 90:
            proc.kill()
            log.seek(0)
            pytest.fail(f"the server did not start:\n{log.read()[-3000:]}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    # uvicorn shuts down cleanly, then re-raises the signal it caught: 0 or -SIGTERM.
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    log.seek(0)
    out = log.read()
    assert f"open {url}" in out, out
    assert "Traceback" not in out, out
    assert list(tmp.iterdir()) == [], "the server must remove its temporary files when it stops"


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 2) -> Path:
    """A raw 4:2:0 YUV4MPEG2 file: what Chromium's fake camera plays (in a loop)."""
    import cv2

    h, w = rgb.shape[:2]
    yuv = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes()
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + yuv)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    import cv2

    from blazepose.io.images import read_image

    rgb = cv2.resize(read_image(REFERENCE / "pose.jpg"), (640, 428), interpolation=cv2.INTER_AREA)
    cam = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", rgb)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [f"--use-file-for-fake-video-capture={cam}"])
        try:
            yield b
        finally:
            b.close()


def cli_image(path: Path) -> dict:
    p = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "image", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def small_clip(path: Path, n: int = 10, size=(180, 320)) -> Path:
    import cv2

    cap = cv2.VideoCapture(str(REFERENCE / "pose_squats.mp4"))
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, size)
    for _ in range(n):
        ok, bgr = cap.read()
        assert ok
        w.write(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))
    w.release()
    cap.release()
    return path


def test_photo_video_and_webcam_in_a_real_browser(server, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    expected = cli_image(REFERENCE / "pose.jpg")["frames"][0]["people"][0]["landmarks"]
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Nothing the page asks for is missing (a favicon.ico 404 was a console error on every load).
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(server)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    # ---- photo: annotated image, 33 rows equal to the CLI's values, JSON download ----------
    page.set_input_files("#photo-input", str(REFERENCE / "pose.jpg"))
    page.wait_for_selector("#photo-annotated[data-ready='1']", timeout=60_000)
    assert page.eval_on_selector("#photo-annotated", "i => [i.naturalWidth, i.naturalHeight]") == [1000, 667]
    rows = page.eval_on_selector_all("#landmark-table tbody tr",
                                     "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert len(rows) == 33
    for row, want in zip(rows, expected):
        person, idx, name, x, y, z, vis, pres = row
        assert (int(person), int(idx), name) == (0, want["id"], want["name"])
        # Same pipeline in two processes: equal at the printed precision; 0.01 px / 1e-4 allowed.
        np.testing.assert_allclose([float(x), float(y), float(z)], [want["x"], want["y"], want["z"]], atol=0.01)
        np.testing.assert_allclose([float(vis), float(pres)], [want["visibility"], want["presence"]], atol=1e-4)
    assert "1 person found" in page.inner_text("#photo-status")
    # The 3-D view beside the annotated photo: plotly from the app itself, the skeleton drawn.
    page.wait_for_selector("#photo-3d[data-ready='1']", timeout=30_000)
    orange, blue = skeleton_pixels(page.locator("#photo-3d").screenshot())
    assert orange > 50 and blue > 50, (orange, blue)
    page.screenshot(path=str(ARTIFACTS / "web_photo.png"), full_page=True)

    with page.expect_download() as dl:
        page.click("#download-json")
    assert dl.value.suggested_filename == "pose.json"
    dl.value.save_as(tmp_path / "pose.json")
    doc = json.loads((tmp_path / "pose.json").read_text())
    assert doc["schema_version"] == 2 and doc["model"] == "full"
    got = doc["frames"][0]["people"][0]["landmarks"]
    assert [p["name"] for p in got] == [p["name"] for p in expected]
    np.testing.assert_allclose([[p["x"], p["y"], p["world_x"]] for p in got],
                               [[p["x"], p["y"], p["world_x"]] for p in expected], atol=0.01)
    with page.expect_download() as dl:
        page.click("#download-csv")
    assert dl.value.suggested_filename == "pose.csv"
    dl.value.save_as(tmp_path / "pose.csv")
    assert len((tmp_path / "pose.csv").read_text().splitlines()) == 34

    # People: the API's limit (100) is the field's; 0 is sent as typed and refused, not made 1.
    assert page.get_attribute("#opt-max-num-poses", "max") == "100"
    page.fill("#opt-max-num-poses", "0")
    page.dispatch_event("#opt-max-num-poses", "change")
    page.wait_for_function("() => document.querySelector('#photo-status').classList.contains('error')", timeout=30_000)
    assert "max_num_poses must be an integer in 1..100, got 0" in page.inner_text("#photo-status")
    refused = "console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    assert errors.count(refused) == 1, errors    # the browser logs the refused request; that one only
    errors.remove(refused)
    page.fill("#opt-max-num-poses", "1")
    page.dispatch_event("#opt-max-num-poses", "change")
    page.wait_for_function("() => document.querySelector('#photo-status').textContent.includes('1 person found')",
                           timeout=60_000)

    # ---- video: progress, then an annotated video the browser decodes ---------------------
    page.click("#tabs button[data-tab='video']")
    page.set_input_files("#video-input", str(small_clip(tmp_path / "squats10.mp4")))
    page.wait_for_selector("#video-result:not([hidden])", timeout=120_000)
    page.wait_for_function("() => { const v = document.querySelector('#video-player'); "
                           "return v.readyState >= 2 && v.videoWidth > 0; }", timeout=30_000)
    assert page.eval_on_selector("#video-player", "v => [v.videoWidth, v.videoHeight]") == [180, 320]
    assert "10 frames, a person in 10" in page.inner_text("#video-status")
    # The job's world landmarks in the 3-D view: one animation frame per video frame.
    page.wait_for_selector("#video-3d[data-ready='1']", timeout=30_000)
    assert page.get_attribute("#video-3d", "data-frames") == "10"
    orange, blue = skeleton_pixels(page.locator("#video-3d").screenshot())
    assert orange > 20 and blue > 20, (orange, blue)
    page.screenshot(path=str(ARTIFACTS / "web_video.png"), full_page=True)
    job_url = page.get_attribute("#video-download-json", "href")
    with urllib.request.urlopen(server.rstrip("/") + job_url) as r:
        assert len(json.load(r)["frames"]) == 10
    page.click("#video-delete")
    page.wait_for_function("() => document.querySelector('#video-status').textContent.startsWith('Deleted')",
                           timeout=10_000)
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(server.rstrip("/") + job_url)
    assert gone.value.code == 404
    # Frames lost to corrupt data are told in the status, not only in the job's JSON.
    bad = write_avi(tmp_path / "corrupt.avi", squats_frames(10, size=(180, 320)))
    corrupt_frame(bad, 4)
    page.set_input_files("#video-input", str(bad))
    page.wait_for_function("() => document.querySelector('#video-status').textContent.includes('decoded')",
                           timeout=120_000)
    assert "corrupt.avi: 9 frames, a person in 9; 1 frame could not be decoded" in page.inner_text("#video-status")
    page.click("#video-delete")

    # ---- webcam: Chromium's fake camera plays the photo; landmarks come back live -----------
    page.click("#tabs button[data-tab='webcam']")
    page.click("#cam-start")
    page.wait_for_function("() => /^1 person/.test(document.querySelector('#cam-people').textContent)",
                           timeout=60_000)
    page.wait_for_function("() => /^[0-9.]+ fps$/.test(document.querySelector('#cam-fps').textContent)",
                           timeout=30_000)
    drawn = page.evaluate("() => { const c = document.querySelector('#cam-overlay'); "
                          "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; "
                          "let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }")
    assert drawn > 500, "the skeleton is drawn over the camera picture"
    page.screenshot(path=str(ARTIFACTS / "web_webcam.png"), full_page=True)
    page.click("#cam-stop")
    assert errors == []
    ctx.close()
