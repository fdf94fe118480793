"""The web server's HTTP API in-process (FastAPI's TestClient): results, bad uploads, jobs, limits."""
from __future__ import annotations

import csv
import io
import json
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import REFERENCE

pytest.importorskip("fastapi", reason="the web server needs the optional 'web' extra (pip install 'blazepose[web]')")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (the 'dev' extra)")

with warnings.catch_warnings():  # starlette asks for httpx2 instead of httpx; both work
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from blazepose.apps.web.app import create_app  # noqa: E402
from blazepose.apps.web.service import MB, Settings  # noqa: E402
from blazepose.outputs.export import CSV_HEADER  # noqa: E402

IMAGE_LIMIT = 2 * MB
BASE = "http://127.0.0.1:8000"   # the Host the server accepts (it refuses other names: DNS rebinding)
WS_LIVE = "ws://127.0.0.1:8000/api/live"
VIDEO_LIMIT = 4 * MB


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(max_image_bytes=IMAGE_LIMIT, max_video_bytes=VIDEO_LIMIT, preload=()))
    with TestClient(app, base_url=BASE) as c:
        c.root = app.state.root
        yield c
    assert not c.root.exists(), "the server's temporary folder must be removed when it stops"


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def small_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    return jpeg_bytes(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def write_video(path: Path, frames, fps: float = 5.0) -> Path:
    import cv2

    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        wr.write(np.ascontiguousarray(f[..., ::-1]))
    wr.release()
    return path


def squat_clip(path: Path, n: int = 6, size=(180, 320)) -> Path:
    """The first ``n`` frames of the reference squat clip, downscaled (RGB frames written as mp4)."""
    import cv2

    cap = cv2.VideoCapture(str(REFERENCE / "pose_squats.mp4"))
    frames = []
    for _ in range(n):
        ok, bgr = cap.read()
        assert ok
        frames.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)[..., ::-1])
    cap.release()
    return write_video(path, frames)


def assert_alive(client):
    """The server still answers, health and a real (small) image."""
    assert client.get("/api/health").json() == {"ok": True}
    r = client.post("/api/image", files={"file": ("ok.jpg", small_jpeg(), "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.json()["frames"][0]["people"] == []     # noise: nobody, a normal answer


def wait_job(client, job_id: str, timeout: float = 120.0) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        st = client.get(f"/api/jobs/{job_id}").json()
        if st["state"] not in ("queued", "running"):
            return st
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {st}")


# ---- photos ---------------------------------------------------------------------------------
def test_image_result_is_the_librarys_and_the_clis_document(client, landmarker_factory):
    data = (REFERENCE / "pose.jpg").read_bytes()
    r = client.post("/api/image", files={"file": ("pose.jpg", data, "image/jpeg")},
                    data={"include": "annotated,csv"})
    assert r.status_code == 200, r.text
    doc = r.json()
    # The CLI's document shape: header, one image, nothing failed.
    assert doc["schema_version"] == 2 and doc["model"] == "full"
    (img,) = doc["frames"]
    assert img["file"] == "pose.jpg" and (img["image_width"], img["image_height"]) == (1000, 667)
    expected = landmarker_factory("full").process_image(REFERENCE / "pose.jpg").to_dict()
    got_pts = np.array([[p["x"], p["y"], p["z"]] for p in img["people"][0]["landmarks"]])
    want_pts = np.array([[p["x"], p["y"], p["z"]] for p in expected["people"][0]["landmarks"]])
    assert got_pts.shape == (33, 3)
    # Same code, same model: equal to the printed precision (0.001 px), 0.01 px allowed for threads.
    np.testing.assert_allclose(got_pts, want_pts, atol=0.01)
    # The annotated PNG: same size, something drawn.
    ann = np.asarray(Image.open(io.BytesIO(__import__("base64").b64decode(doc["annotated_png"]))).convert("RGB"))
    orig = np.asarray(Image.open(REFERENCE / "pose.jpg").convert("RGB"))
    assert ann.shape == orig.shape and np.abs(ann.astype(int) - orig).mean() > 0.5
    # CSV: the fixed header and one row per landmark.
    rows = list(csv.reader(io.StringIO(doc["csv"])))
    assert tuple(rows[0]) == CSV_HEADER and len(rows) == 1 + 33
    assert float(rows[1][5]) == img["people"][0]["landmarks"][0]["x"]


def test_annotated_and_csv_endpoints(client):
    data = (REFERENCE / "dance.jpg").read_bytes()
    r = client.post("/api/image/annotated", files={"file": ("d.jpg", data)}, data={"model": "lite"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (960, 640)
    r = client.post("/api/image/csv", files={"file": ("d.jpg", data)}, data={"model": "lite"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0] == ",".join(CSV_HEADER) and len(r.text.splitlines()) == 34


def _bad_uploads():
    good = small_jpeg()
    return {
        "truncated jpeg": (good[: len(good) // 2], 422, "truncated"),
        "text named .jpg": (b"this is not a picture\n" * 10, 415, "not an image"),
        "0 bytes": (b"", 400, "empty upload"),
        "oversized": (b"\xff" * (IMAGE_LIMIT + 1), 413, "too large"),
    }


@pytest.mark.parametrize("kind", list(_bad_uploads()))
def test_bad_image_upload_is_a_clear_json_error_and_the_server_stays_up(client, kind):
    data, status, words = _bad_uploads()[kind]
    r = client.post("/api/image", files={"file": ("photo.jpg", data, "image/jpeg")})
    assert r.status_code == status, r.text
    body = r.json()
    assert words in body["error"] and body["status"] == status
    if status == 413:
        assert body["limit_bytes"] == IMAGE_LIMIT and str(IMAGE_LIMIT) in body["error"]
    else:
        assert body["error"].startswith("photo.jpg: ")   # names the upload
    assert "Traceback" not in r.text
    assert_alive(client)


def test_oversized_chunked_upload_is_stopped_while_it_streams(client):
    # No Content-Length: the limit is enforced on the bytes actually received.
    boundary = "bpboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()

    def body():
        yield head
        for _ in range(IMAGE_LIMIT // (256 * 1024) + 2):
            yield b"\0" * (256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/image", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and r.json()["limit_bytes"] == IMAGE_LIMIT
    assert_alive(client)


def test_bad_options_are_422(client):
    for data, words in (({"model": "huge"}, "model"), ({"min_detection_confidence": "2"}, "min_detection_confidence"),
                        ({"include": "everything"}, "include")):
        r = client.post("/api/image", files={"file": ("a.jpg", small_jpeg())}, data=data)
        assert r.status_code == 422 and words in r.json()["error"], r.text


@pytest.mark.parametrize("path", ["/api/image", "/api/image/csv", "/api/video"])
def test_unknown_or_empty_option_fields_are_422_with_pythons_message(client, path):
    # As PoseOptions in Python (and the webcam socket): nothing is silently ignored or defaulted.
    from blazepose.options import OptionsError, PoseOptions

    before = set((client.root / "jobs").iterdir()) if (client.root / "jobs").exists() else set()
    for fields in ({"bogus": "1"}, {"model": ""}, {"max_num_poses": ""}, {"enable_segmentation": ""},
                   {"model": "lite", "model_complexity": "2"}, {"smooth_landmarks": "maybe"}):
        with pytest.raises(OptionsError) as python:
            PoseOptions.from_mapping(fields)
        r = client.post(path, files={"file": ("a.jpg", small_jpeg())}, data=fields)
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["error"] == f"{path}: {python.value}"
    r = client.post(path, files={"file": ("a.jpg", small_jpeg())}, data={"num_threads": "1"})
    assert r.status_code == 422 and "num_threads: chosen by the server" in r.json()["error"], r.text
    after = set((client.root / "jobs").iterdir()) if (client.root / "jobs").exists() else set()
    assert after <= before, "a refused video upload leaves no job"


def test_the_pages_fields_and_every_python_option_are_accepted(client):
    # What app.js sends to /api/image (the same options go to /api/video), plus the other options.
    page = {"model": "lite", "min_detection_confidence": "0.5", "min_tracking_confidence": "0.5",
            "max_num_poses": "1", "enable_segmentation": "false", "smooth_landmarks": "false", "include": "csv"}
    r = client.post("/api/image", files={"file": ("a.jpg", small_jpeg())}, data=page)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "lite" and r.json()["csv"].startswith(",".join(CSV_HEADER))
    more = {"model_complexity": "0", "upper_body_only": "true", "detection_tiles": "0",
            "smooth_segmentation": "true", "detection_interval_ms": "100", "reid_timeout_ms": "0"}
    r = client.post("/api/image", files={"file": ("a.jpg", small_jpeg())}, data=more)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == "lite" and r.json()["options"]["upper_body_only"] is True
    # The engine is a request's choice (the server's only way to offer OpenVINO); a bad one is 422.
    r = client.post("/api/image", files={"file": ("a.jpg", small_jpeg())}, data={"engine": "litert"})
    assert r.status_code == 200 and r.json()["options"]["engine"] == "litert", r.text
    r = client.post("/api/image", files={"file": ("a.jpg", small_jpeg())}, data={"engine": "tpu"})
    assert r.status_code == 422 and r.json()["error"].startswith("/api/image: engine must be one of"), r.text


def test_decoded_by_content_not_by_name(client):
    # A PNG named .txt with a wrong declared type is still a photo.
    buf = io.BytesIO()
    Image.fromarray(np.full((40, 30, 3), 200, np.uint8)).save(buf, format="PNG")
    r = client.post("/api/image", files={"file": ("notes.txt", buf.getvalue(), "text/plain")})
    assert r.status_code == 200 and r.json()["frames"][0]["image_width"] == 30


# ---- videos ---------------------------------------------------------------------------------
def test_video_job_progress_results_and_delete(client, landmarker_factory, tmp_path):
    clip = squat_clip(tmp_path / "squat.mp4", n=6)
    r = client.post("/api/video", files={"file": ("squat.mp4", clip.read_bytes(), "video/mp4")})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert uuid.UUID(hex=job_id).version == 4
    st = wait_job(client, job_id)
    assert st["state"] == "done", st
    assert st["frames_done"] == 6 and st["frames_with_pose"] == 6 and st["progress"] == 1.0
    doc = client.get(st["downloads"]["json"]).json()
    assert doc["model"] == "full" and doc["source"] == "squat.mp4" and len(doc["frames"]) == 6
    assert [f["timestamp_ms"] for f in doc["frames"]] == pytest.approx([0, 200, 400, 600, 800, 1000])
    # Frame 0 is found by the detector in every mode: it matches the still-image pipeline (1 px).
    import cv2

    cap = cv2.VideoCapture(str(clip))
    frame0 = cap.read()[1][..., ::-1]
    cap.release()
    ref = landmarker_factory("full").process_image(np.ascontiguousarray(frame0))
    got = np.array([[p["x"], p["y"]] for p in doc["frames"][0]["people"][0]["landmarks"]])
    np.testing.assert_allclose(got, ref.landmarks[0, :, :2], atol=1.0)
    rows = client.get(st["downloads"]["csv"]).text.splitlines()
    assert rows[0] == ",".join(CSV_HEADER) and len(rows) == 1 + 6 * 33
    r = client.get(st["downloads"]["video"])
    assert r.status_code == 200 and r.headers["content-type"] in ("video/webm", "video/mp4")
    out = tmp_path / ("annotated" + (".webm" if "webm" in r.headers["content-type"] else ".mp4"))
    out.write_bytes(r.content)
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 6
    job_dir = client.root / "jobs" / job_id
    assert job_dir.is_dir()
    assert client.delete(f"/api/jobs/{job_id}").json() == {"deleted": job_id}
    assert not job_dir.exists()
    assert client.get(f"/api/jobs/{job_id}").status_code == 404


def test_job_status_counts_the_frames_that_could_not_be_decoded(client, tmp_path):
    from _video_clips import corrupt_frame, squats_frames, write_avi

    clip = write_avi(tmp_path / "corrupt.avi", squats_frames(10, size=(90, 160)))
    corrupt_frame(clip, 6)   # the later one first: a wiped frame's start marker is gone
    corrupt_frame(clip, 3)
    r = client.post("/api/video", files={"file": ("corrupt.avi", clip.read_bytes())})
    assert r.status_code == 202, r.text
    st = wait_job(client, r.json()["job_id"])
    doc = client.get(st["downloads"]["json"]).json()
    client.delete(f"/api/jobs/{st['id']}")
    assert [f["frame_index"] for f in doc["frames"] if "error" in f] == [3, 6]
    assert st["state"] == "done" and st["frames_done"] == 8 and st["frames_skipped"] == 2, st


def test_video_with_no_person_fails_with_a_clear_422(client, tmp_path):
    yy, xx = np.mgrid[0:120, 0:160]
    frames = [np.stack([(xx + 10 * i) % 256, yy * 2, np.full_like(xx, 90)], -1).astype(np.uint8) for i in range(8)]
    clip = write_video(tmp_path / "empty_room.mp4", frames)
    r = client.post("/api/video", files={"file": ("empty_room.mp4", clip.read_bytes())})
    assert r.status_code == 202, r.text
    st = wait_job(client, r.json()["job_id"])
    assert st["state"] == "failed" and "no person found in any of the 8 frames" in st["error"]
    r = client.get(f"/api/jobs/{st['id']}/json")
    assert r.status_code == 422 and "empty_room.mp4: no person found" in r.json()["error"]
    assert not (client.root / "jobs" / st["id"] / "input").exists()
    assert_alive(client)


@pytest.mark.parametrize("kind", ["text", "empty", "jpeg", "oversized"])
def test_bad_video_upload_is_rejected_at_once(client, kind):
    data, status = {"text": (b"not a video at all\n" * 50, 415), "empty": (b"", 400),
                    "jpeg": (small_jpeg()[:200], 415), "oversized": (b"\0" * (VIDEO_LIMIT + 1), 413)}[kind]
    before = set((client.root / "jobs").iterdir()) if (client.root / "jobs").exists() else set()
    r = client.post("/api/video", files={"file": ("clip.mp4", data, "video/mp4")})
    assert r.status_code == status, r.text
    assert r.json()["error"]
    after = set((client.root / "jobs").iterdir()) if (client.root / "jobs").exists() else set()
    assert after <= before, "a rejected upload leaves no files"
    assert_alive(client)


def test_job_ids_are_looked_up_never_used_as_paths(client):
    for path in (f"/api/jobs/{uuid.uuid4().hex}", "/api/jobs/..%2F..%2Fetc%2Fpasswd", "/api/jobs/%2e%2e",
                 f"/api/jobs/{uuid.uuid4().hex}/json", "/api/jobs/abc/video"):
        r = client.get(path)
        assert r.status_code == 404 and "error" in r.json(), path
    assert client.delete(f"/api/jobs/{uuid.uuid4().hex}").status_code == 404


def test_job_errors_name_the_request_path_or_the_upload(client, tmp_path):
    # docs/web.md's shape: {"error": "<upload name or path>: <problem>", "status": N}.
    r = client.get("/api/jobs/abc")
    assert r.status_code == 404 and r.json()["error"].startswith("/api/jobs/abc: no job 'abc'"), r.text
    r = client.delete("/api/jobs/abc")
    assert r.status_code == 404 and r.json()["error"].startswith("/api/jobs/abc: no job 'abc'"), r.text
    frames = [np.full((64, 48, 3), 90 + 20 * i, np.uint8) for i in range(3)]
    clip = write_video(tmp_path / "grey.mp4", frames)
    job_id = client.post("/api/video", files={"file": ("grey.mp4", clip.read_bytes())}).json()["job_id"]
    r = client.get(f"/api/jobs/{job_id}/nope")
    assert r.status_code == 404
    assert r.json()["error"] == f"/api/jobs/{job_id}/nope: no download 'nope'; use video, json or csv"
    client.delete(f"/api/jobs/{job_id}")
    app = create_app(Settings(max_pending_jobs=0, preload=()))
    with TestClient(app, base_url=BASE) as full:
        r = full.post("/api/video", files={"file": ("grey.mp4", clip.read_bytes())})
    assert r.status_code == 429
    assert r.json()["error"] == "grey.mp4: 0 videos are already waiting; try again when one is done"


# ---- webcam socket, page, docs -------------------------------------------------------------
def test_live_socket_tracks_frames_and_survives_garbage(client):
    import cv2

    bgr = cv2.imread(str(REFERENCE / "pose.jpg"))
    jpg = cv2.imencode(".jpg", cv2.resize(bgr, (640, 427)))[1].tobytes()
    with client.websocket_connect(WS_LIVE) as ws:
        ws.send_text(json.dumps({"options": {"model": "lite"}}))
        assert ws.receive_json()["options"]["model"] == "lite"
        ws.send_bytes(b"garbage")
        assert "not an image" in ws.receive_json()["error"]
        ws.send_text(json.dumps({"options": {"min_detection_confidence": 7}}))
        assert "min_detection_confidence" in ws.receive_json()["error"]
        msgs = []
        for _ in range(3):
            ws.send_bytes(jpg)
            msgs.append(ws.receive_json())
    assert (msgs[0]["width"], msgs[0]["height"]) == (640, 427)
    # Video mode: the detector finds the person once, then the landmarks' ROI tracks them.
    assert [m["tracked"] for m in msgs] == [False, True, True]
    for m in msgs:
        (person,) = m["people"]
        assert len(person["landmarks"]) == 33 and person["id"] == msgs[0]["people"][0]["id"]
    first = np.array(msgs[0]["people"][0]["landmarks"])[:, :2] * [640, 427]
    last = np.array(msgs[2]["people"][0]["landmarks"])[:, :2] * [640, 427]
    # The same picture three times: tracking keeps the landmarks within a few pixels (640 px wide).
    assert np.median(np.linalg.norm(first - last, axis=1)) < 3.0


def test_bad_webcam_option_messages_get_a_clear_422(client):
    from blazepose.options import OptionsError, PoseOptions

    with pytest.raises(OptionsError) as python:
        PoseOptions.from_mapping({"bogus": 1})
    with client.websocket_connect(WS_LIVE) as ws:
        for text, words in (("[1, 2]", "a text message must be a JSON object {\"options\": {...}}, got a list"),
                            ("not json", "a text message must be a JSON object {\"options\": {...}}, not valid JSON"),
                            ('{"opts": {}}', "unknown key opts; a text message has one key, options"),
                            ('{"options": [1]}', "options must be a JSON object of names and values, got a list"),
                            ('{"options": "lite"}', "options must be a JSON object of names and values, got a string"),
                            ('{"options": {"bogus": 1}}', str(python.value))):
            ws.send_text(text)
            assert ws.receive_json() == {"error": f"options: {words}", "status": 422}, text
        ws.send_text(json.dumps({"options": {"model": "lite"}}))     # still open, still usable
        assert ws.receive_json()["options"]["model"] == "lite"


def _bad_frames() -> dict[str, bytes]:
    good = small_jpeg()
    wide = io.BytesIO()
    Image.new("L", (33000, 8)).save(wide, format="PNG")   # more than OpenCV's warps take on a side
    return {"truncated jpeg": good[: len(good) // 2], "text": b"this is not a picture\n" * 10,
            "0 bytes": b"", "33000 px wide": wide.getvalue()}


@pytest.mark.parametrize("kind", list(_bad_frames()))
def test_a_bad_webcam_frame_gets_the_http_uploads_answer(client, kind):
    """Same checks on every entry point: a frame's error is the upload's (status and problem), as
    JSON, and the session goes on."""
    data = _bad_frames()[kind]
    r = client.post("/api/image", files={"file": ("photo.jpg", data)})
    upload = r.json()
    assert upload["error"].startswith("photo.jpg: ") and "Traceback" not in r.text
    jpg = jpeg_bytes(np.asarray(Image.open(REFERENCE / "pose.jpg").resize((320, 213))))
    with client.websocket_connect(WS_LIVE) as ws:
        ws.send_bytes(data)
        frame = ws.receive_json()
        ws.send_bytes(jpg)
        after = ws.receive_json()
    assert (frame["status"], frame["error"]) == (upload["status"], "frame: " + upload["error"][len("photo.jpg: "):])
    assert upload["status"] in (400, 415, 422)
    assert after["width"] == 320 and len(after["people"]) == 1


def _image_kinds() -> dict[str, bytes]:
    rgb = np.asarray(Image.open(REFERENCE / "pose.jpg").resize((500, 333)))
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])
    rgba[60:320, 110:420, 3] = 255            # the person opaque, a transparent border
    gray16 = (np.asarray(Image.fromarray(rgb).convert("L"), np.uint32) * 257 + 91).astype(np.uint16)

    def png(im, **kw):
        buf = io.BytesIO()
        im.save(buf, format=kw.pop("format", "PNG"), **kw)
        return buf.getvalue()
    return {"jpeg": png(Image.fromarray(rgb), format="JPEG", quality=92), "rgba png": png(Image.fromarray(rgba)),
            "16-bit gray png": png(Image.fromarray(gray16)),
            "cmyk jpeg": png(Image.fromarray(rgb).convert("CMYK"), format="JPEG", quality=92)}


@pytest.mark.parametrize("kind", list(_image_kinds()))
def test_a_webcam_frame_gives_the_http_uploads_landmarks(client, kind):
    """The first frame of a session (the detector runs, nothing to smooth yet) is the photo's
    result: the socket must read alpha, 16 bits and CMYK as the upload does (alpha over white;
    OpenCV's decoder dropped the alpha: 10 px apart on a transparent PNG)."""
    data = _image_kinds()[kind]
    doc = client.post("/api/image", files={"file": ("p", data)}).json()
    (person,) = doc["frames"][0]["people"]
    http = np.array([[lm["x_norm"], lm["y_norm"]] for lm in person["landmarks"]])
    with client.websocket_connect(WS_LIVE) as ws:
        ws.send_bytes(data)
        msg = ws.receive_json()
    (live,) = msg["people"]
    # The socket rounds to 1e-5 of the width and height (0.005 px here), the document to 1e-6.
    np.testing.assert_allclose(np.array(live["landmarks"])[:, :2], http, atol=1.2e-5, rtol=0)


def test_webcam_options_the_server_cannot_run_get_a_json_error(client, monkeypatch):
    """engine=openvino where OpenVINO is missing: HTTP answers 422; the socket answers the same
    error as JSON on the open session, keeps its old options and goes on (it closed with 1011)."""
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)      # as if the extra were not installed
    jpg = jpeg_bytes(np.asarray(Image.open(REFERENCE / "pose.jpg").resize((320, 213))))
    r = client.post("/api/image", files={"file": ("photo.jpg", jpg)}, data={"engine": "openvino"})
    assert r.status_code == 422 and "pip install 'blazepose[openvino]'" in r.json()["error"]
    with client.websocket_connect(WS_LIVE) as ws:
        ws.send_text(json.dumps({"options": {"model": "lite"}}))
        assert ws.receive_json()["options"]["engine"] == "litert"
        ws.send_text(json.dumps({"options": {"engine": "openvino"}}))
        answer = ws.receive_json()
        assert answer == {"error": "options: " + r.json()["error"], "status": 422}
        ws.send_bytes(jpg)                                   # still open, on the old options
        frame = ws.receive_json()
        assert frame["width"] == 320 and len(frame["people"]) == 1
        ws.send_text(json.dumps({"options": {"model": "full"}}))
        new = ws.receive_json()["options"]
        assert (new["model"], new["engine"]) == ("full", "litert")


def test_live_sessions_are_limited(client):
    from contextlib import ExitStack

    n = client.app.state.settings.max_live_sessions
    with ExitStack() as stack:
        for _ in range(n):
            stack.enter_context(client.websocket_connect(WS_LIVE))
        with client.websocket_connect(WS_LIVE) as extra:
            assert "already running" in extra.receive_json()["error"]
    with client.websocket_connect(WS_LIVE) as ws:       # slots are given back
        ws.send_bytes(b"x")
        assert "error" in ws.receive_json()


def test_page_static_files_and_offline_docs(client):
    page = client.get("/").text
    for el in ('id="photo-input"', 'id="landmark-table"', 'id="video-input"', 'id="cam-start"', "/static/app.js"):
        assert el in page
    assert "http" not in page.replace('http-equiv', '')       # no CDN: everything from this server
    assert client.get("/static/app.js").status_code == 200
    docs = client.get("/docs").text
    assert "cdn" not in docs.lower() and "swagger-ui-bundle.js" in docs
    spec = client.get("/openapi.json").json()
    assert {"/api/image", "/api/video", "/api/jobs/{job_id}"} <= set(spec["paths"])
    cfg = client.get("/api/config").json()
    assert cfg["limits"]["image_bytes"] == IMAGE_LIMIT and len(cfg["connections"]) == 35
    from blazepose.options import MAX_NUM_POSES

    assert cfg["limits"]["max_num_poses"] == MAX_NUM_POSES     # the page's People field takes it


def test_head_of_the_page_answers_like_get_without_a_body(client):
    get, head = client.get("/"), client.head("/")
    assert head.status_code == 200 and head.content == b"", (head.status_code, head.text)
    assert head.headers["content-type"] == get.headers["content-type"] == "text/html; charset=utf-8"
    assert int(head.headers["content-length"]) == len(get.content) > 0


def test_a_server_that_fails_to_start_removes_its_folder(tmp_path, monkeypatch):
    import tempfile

    from blazepose.options import OptionsError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = create_app(Settings(num_threads=0, preload=("full",)))   # refused when the model loads
    with pytest.raises(OptionsError, match="num_threads"):
        with TestClient(app, base_url=BASE):
            pass
    assert list(tmp_path.iterdir()) == []


def test_finished_jobs_expire_with_their_files(client, tmp_path):
    clip = squat_clip(tmp_path / "s.mp4", n=2)
    job_id = client.post("/api/video", files={"file": ("s.mp4", clip.read_bytes())}).json()["job_id"]
    assert wait_job(client, job_id)["state"] == "done"
    jobs = client.app.state.jobs
    assert jobs.expire(now=time.time() + 10) == 0                     # younger than the TTL: kept
    assert (client.root / "jobs" / job_id).is_dir()
    assert jobs.expire(now=time.time() + jobs.settings.job_ttl_s + 1) >= 1
    assert not (client.root / "jobs" / job_id).exists()
    assert client.get(f"/api/jobs/{job_id}").status_code == 404


# ---- the CLI without the optional extra ----------------------------------------------------
def _cli_without_fastapi(*args):
    import subprocess
    import sys

    code = ("import sys; sys.modules['fastapi'] = None\n"
            "from blazepose.apps.cli import main\n"
            f"sys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_serve_without_the_web_extra_says_what_to_install():
    p = _cli_without_fastapi("serve", "--port", "0")
    assert p.returncode == 2
    assert "pip install 'blazepose[web]'" in p.stderr and "Traceback" not in p.stderr
    p = _cli_without_fastapi("models", "list")                 # the rest of the CLI still works
    assert p.returncode == 0 and "pose_landmark_full.tflite" in p.stdout


@pytest.mark.slow
def test_serve_on_a_port_in_use_fails_with_exit_1():
    # A runtime failure, as for the rest of the CLI (uvicorn's own exit code is 3).
    import socket
    import subprocess
    import sys

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", "serve", "--port", str(port)],
                           capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "address already in use" in p.stderr and f"cannot serve on 127.0.0.1:{port}" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and "open http" not in p.stdout


def test_fifo_lock_serves_waiters_in_arrival_order():
    import threading

    from blazepose.apps.web.service import FifoLock

    lock, order = FifoLock(), []
    lock.acquire()
    threads = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i), lock.release()))
        t.start()
        threads.append(t)
        while len(lock._waiters) < i + 1:       # wait until thread i queues up
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_job_failing_half_way_keeps_what_it_wrote(client, tmp_path, monkeypatch):
    import blazepose.outputs.draw as video_out     # the video writer draws through DrawStyle.draw

    real, calls = video_out.draw_pose, []

    def flaky(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated encoder crash")
        return real(*a, **kw)

    monkeypatch.setattr(video_out, "draw_pose", flaky)
    clip = squat_clip(tmp_path / "s.mp4", n=6)
    job_id = client.post("/api/video", files={"file": ("s.mp4", clip.read_bytes())}).json()["job_id"]
    st = wait_job(client, job_id)
    # the encoder thread fails on the third frame; the loop learns it on its next write
    assert st["state"] == "failed" and st["partial"] and "simulated encoder crash" in st["error"]
    assert 2 <= st["frames_done"] <= 6   # the loop may write every frame before it hears of the error
    doc = client.get(st["downloads"]["json"]).json()          # still a valid document
    assert [f["frame_index"] for f in doc["frames"]] == list(range(st["frames_done"]))
    assert client.get(st["downloads"]["video"]).status_code == 200
    client.delete(f"/api/jobs/{job_id}")
    assert_alive(client)
