"""One core for every entry point: the CLI, batch, the web API and Python give the same answer.

The squats clip and a photo go through ``blazepose video`` / ``image``, ``blazepose batch`` and
the web API; the documents must hold the same landmarks (to 1e-6, i.e. identical after the
documents' rounding) and have the same layout. A clip with an undecodable frame in the middle
must be reported alike by all three, with the annotated videos keeping the input's frame count.
One ``PoseLandmarker`` called from 4 threads must give the single-threaded results.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

from _video_clips import corrupt_frame, squats_frames, write_avi
from conftest import COCO, REFERENCE, finished_job

pytest.importorskip("fastapi", reason="the web server needs the optional 'web' extra")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from blazepose.apps.web.app import create_app  # noqa: E402
from blazepose.apps.web.service import Settings  # noqa: E402

SQUATS = REFERENCE / "pose_squats.mp4"
PATH_KEYS = {"source", "batch", "blazepose_version"}   # what may differ between the entry points


def cli(*args):
    p = subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True)
    return p


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(preload=())), base_url="http://127.0.0.1") as c:
        yield c


def web_video(client, path, name):
    r = client.post("/api/video", files={"file": (name, path.read_bytes())})
    assert r.status_code == 202, r.text
    st = finished_job(client, r.json()["job_id"])
    assert st["state"] == "done", st
    return st, client.get(st["downloads"]["json"]).json(), client.get(st["downloads"]["video"]).content


def layout(doc):
    """The document's shape: header keys, and per frame its keys and its people's keys."""
    frames = [(tuple(sorted(f)), tuple(tuple(sorted(p)) for p in f.get("people", []))) for f in doc["frames"]]
    return sorted(set(doc) - PATH_KEYS), frames


def landmarks(doc):
    return np.array([[[lm[k] for k in ("x", "y", "z", "visibility", "world_x", "world_y", "world_z")]
                      for lm in p["landmarks"]] for f in doc["frames"] for p in f.get("people", [])], float)


def assert_same(a, b):
    assert layout(a) == layout(b)
    assert {k: v for k, v in a.items() if k not in PATH_KEYS | {"frames"}} == \
        {k: v for k, v in b.items() if k not in PATH_KEYS | {"frames"}}
    la, lb = landmarks(a), landmarks(b)
    assert la.shape == lb.shape and la.size
    np.testing.assert_allclose(la, lb, atol=1e-6, rtol=0)


@pytest.mark.slow
def test_squats_clip_same_from_video_batch_and_web(tmp_path, client):
    p = cli("video", str(SQUATS), "--json", str(tmp_path / "v.json"), "--no-progress")
    assert p.returncode == 0, p.stderr
    from_cli = json.loads((tmp_path / "v.json").read_text())
    p = cli("batch", str(SQUATS), "--out", str(tmp_path / "b"))
    assert p.returncode == 0, p.stderr
    from_batch = json.loads((tmp_path / "b" / "pose_squats.json").read_text())
    _, from_web, _ = web_video(client, SQUATS, "pose_squats.mp4")
    assert len(from_cli["frames"]) == 65
    assert_same(from_cli, from_batch)
    assert_same(from_cli, from_web)
    assert from_cli["video"]["smoothing"] == from_web["video"]["smoothing"] == "causal"


@pytest.mark.slow
def test_photo_same_from_image_batch_and_web(tmp_path, client):
    photo = COCO / "000000196141.jpg"
    p = cli("image", str(photo), "--json", str(tmp_path / "i.json"))
    assert p.returncode == 0, p.stderr
    from_cli = json.loads((tmp_path / "i.json").read_text())
    p = cli("batch", str(photo), "--out", str(tmp_path / "b"))
    assert p.returncode == 0, p.stderr
    from_batch = json.loads((tmp_path / "b" / "000000196141.json").read_text())
    r = client.post("/api/image", files={"file": (photo.name, photo.read_bytes())})
    assert r.status_code == 200, r.text
    from_web = r.json()
    for doc in (from_cli, from_batch, from_web):
        (frame,) = doc["frames"]
        assert frame["frame_index"] == 0 and frame["file"].endswith(photo.name) and frame["people"]
    assert_same(from_cli, from_batch)
    assert_same(from_cli, from_web)


@pytest.mark.slow
def test_undecodable_frame_is_listed_alike_and_timing_kept(tmp_path, client):
    import cv2

    clip = write_avi(tmp_path / "c.avi", squats_frames(10, size=(180, 320)))
    corrupt_frame(clip, 4)
    p = cli("video", str(clip), "--json", str(tmp_path / "v.json"), "-o", str(tmp_path / "v.avi"), "--no-progress")
    assert p.returncode == 1 and "1 skipped" in p.stderr, p.stderr
    p = cli("batch", str(clip), "--out", str(tmp_path / "b"), "--annotate")
    assert p.returncode == 0, p.stderr
    _, from_web, web_video_bytes = web_video(client, clip, "c.avi")
    (tmp_path / "w.video").write_bytes(web_video_bytes)
    docs = {"cli": json.loads((tmp_path / "v.json").read_text()),
            "batch": json.loads((tmp_path / "b" / "c.json").read_text()), "web": from_web}
    for name, doc in docs.items():
        skipped = [f for f in doc["frames"] if "error" in f]
        assert [f["frame_index"] for f in skipped] == [4], name
        assert [f["frame_index"] for f in doc["frames"]] == list(range(10)), name
    assert docs["cli"]["frames"][4] == docs["batch"]["frames"][4] == docs["web"]["frames"][4]
    assert_same(docs["cli"], docs["batch"])
    assert_same(docs["cli"], docs["web"])
    from blazepose.outputs.video import browser_video_format

    batch_video = tmp_path / "b" / ("c.annotated" + browser_video_format().ext)
    for video in (tmp_path / "v.avi", batch_video, tmp_path / "w.video"):
        cap = cv2.VideoCapture(str(video))
        n = 0
        while cap.read()[0]:
            n += 1
        cap.release()
        assert n == 10, video     # the skipped frame is repeated: the input's timing is kept


@pytest.mark.slow
def test_frames_lost_in_a_truncated_tail_are_listed_alike_by_the_cli_and_the_web(tmp_path, client):
    # A clip cut off part-way: the container still lists all its frames. The CLI lists the frames
    # it could not read; a web job must too (its upload was stored without the .avi suffix that
    # tells the reader the container's count is exact, so they were silently dropped).
    whole = write_avi(tmp_path / "whole.avi", squats_frames(10, size=(180, 320)))
    data = whole.read_bytes()
    clip = tmp_path / "cut.avi"
    clip.write_bytes(data[: len(data) * 6 // 10])
    p = cli("video", str(clip), "--json", str(tmp_path / "v.json"), "--no-progress")
    assert p.returncode == 1 and "lost in corrupt data" in p.stderr, p.stderr
    from_cli = json.loads((tmp_path / "v.json").read_text())
    st, from_web, _ = web_video(client, clip, "cut.avi")
    for name, doc in {"cli": from_cli, "web": from_web}.items():
        lost = [f["frame_index"] for f in doc["frames"] if "error" in f]
        read = [f["frame_index"] for f in doc["frames"] if "error" not in f]
        assert 0 < len(lost) < 10 and sorted(read + lost) == list(range(10)), (name, read, lost)
    assert from_web["frames"] == from_cli["frames"] and from_web["frames_written"] == 10
    assert st["frames_total"] == 10


@pytest.mark.slow
def test_one_landmarker_from_four_threads(landmarker_factory):
    from blazepose.io.images import read_image

    photos = [read_image(p) for p in (REFERENCE / "pose.jpg", REFERENCE / "dance.jpg", *sorted(COCO.glob("*.jpg")))]
    pl = landmarker_factory("full", max_num_poses=2)
    expected = [pl.process_image(im) for im in photos]
    got: dict[tuple[int, int], object] = {}
    errors: list[BaseException] = []

    def work(t):
        try:
            for k in range(25):
                i = (t + k) % len(photos)
                got[(t, k)] = (i, pl.process_image(photos[i]))
        except BaseException as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert len(got) == 100
    for i, res in got.values():
        assert len(res) == len(expected[i])
        np.testing.assert_array_equal(res.landmarks, expected[i].landmarks)
        np.testing.assert_array_equal(res.world, expected[i].world)


@pytest.mark.slow
def test_a_bad_option_is_one_message_everywhere(tmp_path, client):
    from blazepose import PoseLandmarker
    from blazepose.options import OptionsError

    msg = "min_detection_confidence must be in [0, 1], got 2"
    p = cli("image", str(REFERENCE / "pose.jpg"), "--min-detection-confidence", "2")
    assert (p.returncode, p.stderr) == (2, f"blazepose image: error: {msg}\n")
    p = cli("batch", str(REFERENCE / "pose.jpg"), "--out", str(tmp_path / "b"), "--min-detection-confidence", "2")
    assert (p.returncode, p.stderr) == (2, f"blazepose batch: error: {msg}\n") and not (tmp_path / "b").exists()
    r = client.post("/api/image", files={"file": ("pose.jpg", (REFERENCE / "pose.jpg").read_bytes())},
                    data={"min_detection_confidence": "2"})
    assert r.status_code == 422 and r.json()["error"] == f"/api/image: {msg}"   # docs/web.md: "<path>: <problem>"
    with pytest.raises(OptionsError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        PoseLandmarker(min_detection_confidence="2", download=False)
