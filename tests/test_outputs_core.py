"""One output core (``outputs.plan.OutputPlan``, the ``Sink`` writers, ``run_video`` / ``run_images``)
for every entry point.

A clip in which the number of people changes (the squats clip beside a grey panel, then beside
a photo of several skiers) and a photo of several people go through ``blazepose video`` /
``image``, ``blazepose batch``, the web API and Python with ``max_num_poses=4`` and annotation on:
the documents are equal (entry-point keys aside), the annotated frames and pictures are equal
pixel for pixel (identical encodes: difference 0), and the files are named by one rule.
Also: the per-person BVH names cannot overwrite another photo's, ``export`` returns every path,
``image FOLDER`` skips the video in it with one note, and a COCO file parses after a kill at any
write.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from _video_clips import squats_frames, write_avi
from conftest import COCO, REFERENCE, finished_job

SKIERS = COCO / "000000197388.jpg"
#: Header keys that name where a document came from (they differ by entry point by design).
ORIGIN_KEYS = {"source", "batch", "blazepose_version", "complete", "frames_written"}
OPTS = ["--max-poses", "4", "--model", "lite"]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True,
                          cwd=cwd)


def changing_clip(path: Path, grey: int = 6, people: int = 6) -> Path:
    """The squats clip (180x320) beside a grey panel for ``grey`` frames, then beside the skiers'
    photo for ``people`` frames: the number of people changes from 1 to several."""
    import cv2

    frames = squats_frames(grey + people, size=(180, 320))
    skiers = cv2.resize(cv2.imread(str(SKIERS)), (240, 320), interpolation=cv2.INTER_AREA)
    panel = np.full_like(skiers, 128)
    out = [np.hstack([f, panel if i < grey else skiers]) for i, f in enumerate(frames)]
    return write_avi(path, out)


def decoded(path: Path) -> np.ndarray:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    return np.array(frames)


def comparable(doc: dict) -> dict:
    """A document without the keys that say where it came from, frames without ``file``."""
    out = {k: v for k, v in doc.items() if k not in ORIGIN_KEYS}
    out["frames"] = [{k: v for k, v in f.items() if k != "file"} for f in doc["frames"]]
    return out


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("fastapi", reason="the web server needs the optional 'web' extra")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from blazepose.apps.web.app import create_app
    from blazepose.apps.web.service import Settings

    with TestClient(create_app(Settings(preload=())), base_url="http://127.0.0.1") as c:
        yield c


def web_video(client, path: Path):
    r = client.post("/api/video", files={"file": (path.name, path.read_bytes())},
                    data={"max_num_poses": "4", "model": "lite"})
    assert r.status_code == 202, r.text
    st = finished_job(client, r.json()["job_id"])
    assert st["state"] == "done", st
    doc, video = client.get(st["downloads"]["json"]), client.get(st["downloads"]["video"])
    return doc.json(), video.content, video.headers["content-disposition"]


@pytest.mark.slow
def test_clip_and_photo_alike_from_every_entry_point(tmp_path, client):
    from blazepose import PoseLandmarker
    from blazepose.io.images import read_image
    from blazepose.options import PoseOptions
    from blazepose.outputs.draw import DrawStyle
    from blazepose.outputs.export import export
    from blazepose.outputs.video import browser_video_format

    ext = browser_video_format().ext
    src = tmp_path / "in"
    src.mkdir()
    clip = changing_clip(src / "clip.avi")
    shutil.copy(SKIERS, src / SKIERS.name)
    shutil.copy(REFERENCE / "pose.jpg", src / "pose.jpg")
    photo = src / SKIERS.name

    # the CLI: video and image
    v = tmp_path / "v"
    p = cli("video", str(clip), *OPTS, "-o", str(v / f"clip.annotated{ext}"), "--json", str(v / "clip.json"),
            "--no-progress")
    assert p.returncode == 0, p.stderr
    p = cli("image", str(photo), str(src / "pose.jpg"), *OPTS, "--annotate", str(tmp_path / "i"),
            "--json", str(tmp_path / "i.json"))
    assert p.returncode == 0, p.stderr
    # batch
    b = tmp_path / "b"
    p = cli("batch", str(src), "--out", str(b), "--annotate", *OPTS)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in b.iterdir() if f.name != "batch_report.json" and not f.name.endswith(".lock")) \
        == sorted(["clip.json", f"clip.annotated{ext}", "000000197388.json", "000000197388.annotated.png",
                   "pose.json", "pose.annotated.png"])
    # the web
    web_doc, web_video_bytes, disposition = web_video(client, clip)
    assert f'filename="clip.annotated{ext}"' in disposition
    (tmp_path / f"w{ext}").write_bytes(web_video_bytes)
    r = client.post("/api/image/annotated", files={"file": (photo.name, photo.read_bytes())},
                    data={"max_num_poses": "4", "model": "lite"})
    assert r.status_code == 200 and 'filename="000000197388.annotated.png"' in r.headers["content-disposition"]
    (tmp_path / "w.png").write_bytes(r.content)
    r = client.post("/api/image", files={"file": (photo.name, photo.read_bytes())},
                    data={"max_num_poses": "4", "model": "lite"})
    web_photo_doc = r.json()

    # documents: the clip
    docs = {"video": json.loads((v / "clip.json").read_text()), "batch": json.loads((b / "clip.json").read_text()),
            "web": web_doc}
    opts = PoseOptions(model="lite", max_num_poses=4)
    with PoseLandmarker(opts) as pl:
        results = list(pl.process_video(clip))
        photo_result = pl.process_image(photo)
    (py_doc,) = export(results, tmp_path / "py.json", options=opts, video=docs["video"]["video"])
    docs["python"] = json.loads(py_doc.read_text())
    counts = [len(f["people"]) for f in docs["video"]["frames"]]
    assert counts[0] == 1 and max(counts) > 1, counts       # the number of people changes
    for name, doc in docs.items():
        assert comparable(doc) == comparable(docs["video"]), name
    # documents: the photo (the CLI's has two photos: compare its first frame)
    cli_photo = json.loads((tmp_path / "i.json").read_text())
    batch_photo = json.loads((b / "000000197388.json").read_text())
    frames = [cli_photo["frames"][0], batch_photo["frames"][0], web_photo_doc["frames"][0]]
    assert all({k: v for k, v in f.items() if k != "file"} == {k: v for k, v in frames[0].items() if k != "file"}
               for f in frames) and len(frames[0]["people"]) > 1
    assert comparable(batch_photo) == comparable(web_photo_doc)

    # annotated videos: equal decoded pixels
    ref = decoded(v / f"clip.annotated{ext}")
    assert len(ref) == len(counts)
    for other in (b / f"clip.annotated{ext}", tmp_path / f"w{ext}"):
        got = decoded(other)
        assert got.shape == ref.shape, other
        assert np.abs(got.astype(int) - ref.astype(int)).max() == 0, other
    # annotated pictures: equal pixels, named by one rule, Python's drawing included
    pictures = [tmp_path / "i" / "000000197388.annotated.png", b / "000000197388.annotated.png", tmp_path / "w.png"]
    want = DrawStyle.for_options(opts).draw(read_image(photo), photo_result)
    for pic in pictures:
        np.testing.assert_array_equal(read_image(pic), want, err_msg=str(pic))
    assert (tmp_path / "i" / "pose.annotated.png").is_file()


def test_per_person_bvh_names_cannot_overwrite_another_photos(tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(SKIERS, tmp_path / "in" / "a.jpg")
    shutil.copy(SKIERS, tmp_path / "in" / "a.id0.jpg")
    p = cli("image", "in/a.jpg", "in/a.id0.jpg", "--max-poses", "3", "--bvh", "bvhdir", cwd=tmp_path)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
    assert "bvhdir/a.id0.bvh" in p.stderr and "writes to the same file" in p.stderr
    assert not (tmp_path / "bvhdir").exists()


def test_export_returns_every_path_written(tmp_path):
    from blazepose import PoseLandmarker
    from blazepose.outputs.export import export

    with PoseLandmarker(model="lite", max_num_poses=4) as pl:
        res = pl.process_image(SKIERS)
    assert len(res) >= 2
    paths = export(res, tmp_path / "two.bvh")
    assert paths == [tmp_path / f"two.id{i}.bvh" for i in sorted(int(x) for x in res.ids)]
    assert all(p.is_file() for p in paths) and not (tmp_path / "two.bvh").exists()
    assert export(res, tmp_path / "one.json") == [tmp_path / "one.json"]


@pytest.mark.slow
def test_image_folder_skips_its_video_with_one_note(tmp_path):
    p = cli("image", str(REFERENCE), "--model", "lite", "--json", str(tmp_path / "r.json"))
    assert p.returncode == 0, p.stderr
    notes = [line for line in p.stderr.splitlines() if "pose_squats.mp4" in line]
    assert len(notes) == 1 and notes[0].startswith("note: 1 video(s) skipped"), p.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["frames"] and all(not f["file"].endswith(".mp4") and "error" not in f for f in doc["frames"])
    p = cli("image", str(REFERENCE / "pose_squats.mp4"))         # named on its own: one clear error
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "is a video" in p.stderr, p.stderr


class Killed(Exception):
    """The simulated kill: the process stopped at this write."""


class KillAfter:
    """A file that lets ``budget`` changes (write, truncate) through, then stops for good."""

    def __init__(self, f, budget: int):
        self._f, self.budget = f, budget

    def _change(self):
        if self.budget <= 0:
            raise Killed()
        self.budget -= 1

    def write(self, data):
        self._change()
        return self._f.write(data)

    def truncate(self, *a):
        self._change()
        return self._f.truncate(*a)

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.mark.parametrize("budget", range(0, 8))
def test_coco_file_parses_after_a_kill_at_any_write(tmp_path, monkeypatch, budget):
    import builtins

    from blazepose.outputs import coco as coco_module
    from blazepose.outputs import export as export_module
    from test_export import person_result

    real_open = builtins.open
    opened: list[KillAfter] = []

    def killing_open(path, mode="r", *a, **kw):
        f = real_open(path, mode, *a, **kw)
        if "w" in mode:
            opened.append(KillAfter(f, budget))
            return opened[-1]
        return f

    monkeypatch.setattr(coco_module, "open", killing_open, raising=False)
    monkeypatch.setattr(export_module, "open", killing_open, raising=False)
    path = tmp_path / "r.coco.json"
    try:
        with export_module.CocoWriter(path) as w:
            for i in range(5):
                w.write(person_result(1 + i % 2, frame=i))
    except Killed:
        pass
    monkeypatch.undo()
    for f in opened:
        f._f.close()
    if path.stat().st_size:
        data = json.loads(path.read_text())      # a whole list at every instant
        assert isinstance(data, list) and all(e["category_id"] == 1 for e in data)
