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


# ---- COCO results that pycocotools loads and evaluates ------------------------------------------
def cli(*args, **kw):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True, **kw)


@pytest.mark.slow
def test_upper_body_coco_results_load_in_pycocotools_with_the_annotation_ids(tmp_path):
    import contextlib
    import io
    import json

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from conftest import COCO as COCO_DIR

    ann = COCO_DIR / "person_keypoints.json"
    out = tmp_path / "upper.coco.json"
    photos = sorted(str(p) for p in COCO_DIR.glob("*.jpg"))
    r = cli("image", *photos, "--upper-body-only", "--max-poses", "4", "--json", str(out),
            "--coco-annotations", str(ann))
    assert r.returncode == 0, r.stderr
    entries = json.loads(out.read_text())
    ids = {im["file_name"]: im["id"] for im in json.loads(ann.read_text())["images"]}
    assert {e["image_id"] for e in entries} == set(ids.values())   # 1..4, the file's ids, not positions
    assert all(e["keypoints"][13 * 3:] == [0] * 12 for e in entries)   # no legs: COCO's 0, 0, 0
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann))
        dt = gt.loadRes(str(out))
        ev = COCOeval(gt, dt, "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert len(dt.anns) == len(entries) and 0.0 <= ev.stats[0] <= 1.0
    # without the annotation file, COCO's numeric file names give COCO's ids
    r = cli("image", *photos[:2], "--upper-body-only", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert {e["image_id"] for e in json.loads(out.read_text())} == {785, 40083}
    r = cli("image", photos[0], "--json", str(tmp_path / "x.json"), "--coco-annotations", str(ann))
    assert r.returncode == 2 and "only for --json NAME.coco.json" in r.stderr


# ---- the first run speaks -----------------------------------------------------------------------
def test_first_run_says_which_model_files_it_fetches(tmp_path, monkeypatch, capsys):
    import shutil

    from blazepose.apps import cli as cli_mod
    from blazepose.models import registry

    real = registry.cache_dir()   # the session's cache, filled by ./setup.sh
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    urls = []
    monkeypatch.setattr(registry, "_download", lambda url, dest, timeout, max_bytes=None: (
        urls.append(url), shutil.copyfile(real / url.rsplit("/", 1)[-1], dest)))
    monkeypatch.setattr(registry, "download_progress", None)
    out = tmp_path / "p.json"
    # -v after the subcommand is accepted too
    assert cli_mod.main(["image", str(REFERENCE / "pose.jpg"), "--json", str(out), "-v"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("fetching model")]
    assert lines == [
        f"fetching model detector (pose_detection.tflite, 2.8 MiB) from {urls[0]}",
        f"fetching model full (pose_landmark_full.tflite, 6.1 MiB) from {urls[1]}"], err
    assert out.exists() and registry.download_progress is not None   # the CLI's bar (silent off a terminal)
    assert cli_mod.main(["image", str(REFERENCE / "pose.jpg"), "--json", str(out)]) == 0
    assert "fetching" not in capsys.readouterr().err and len(urls) == 2   # cached: nothing more


def test_download_progress_counts_every_byte(tmp_path, monkeypatch):
    import http.server
    import threading
    from functools import partial

    from blazepose.models import registry

    (tmp_path / "model.bin").write_bytes(bytes(range(256)) * 1000)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen = []

    class Bar:
        def __init__(self, label, total):
            seen.append([label, total, 0, False])

        def update(self, n):
            seen[-1][2] += n

        def close(self):
            seen[-1][3] = True

    monkeypatch.setattr(registry, "download_progress", Bar)
    try:
        registry._download(f"http://127.0.0.1:{server.server_port}/model.bin", tmp_path / "got.bin", 5)
    finally:
        server.shutdown()
    assert seen == [["model.bin", 256000, 256000, True]]
    assert (tmp_path / "got.bin").read_bytes() == (tmp_path / "model.bin").read_bytes()


def test_verbose_is_accepted_before_and_after_the_subcommand():
    from blazepose.apps.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["-v", "models", "list"]).verbose is True
    assert parser.parse_args(["models", "list", "-v"]).verbose is True
    assert parser.parse_args(["models", "list"]).verbose is False
    assert parser.parse_args(["video", "x.mp4", "--json", "a.json", "--verbose"]).verbose is True


def test_models_fetch_of_an_unknown_name_lists_the_real_choices():
    r = cli("models", "fetch", "bogus")
    assert r.returncode == 2
    assert r.stderr == "blazepose models: error: unknown model 'bogus'; choose from detector, lite, full, heavy\n"


# ---- batch: nothing written into an input folder, no lock files left --------------------------------
@pytest.mark.slow
def test_batch_out_equal_to_an_input_folder_is_refused_before_writing(tmp_path):
    import shutil

    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(REFERENCE / "pose.jpg", src / "a.jpg")
    for out in (src, tmp_path):   # the input folder itself, and a folder holding it
        r = cli("batch", str(src), "--out", str(out))
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and "results would be written among the inputs" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.jpg", "photos"]
    # an out folder inside the input folder is fine: its files are never inputs; no lock file stays
    r = cli("batch", str(src), "--out", str(src / "results"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*")) == [
        "a.jpg", "results", "results/a.json", "results/batch_report.json"]


def test_batch_lock_removed_at_the_end_and_a_waiter_locks_a_fresh_file(tmp_path):
    import os

    from blazepose.apps.batch.lock import LOCK_NAME, BatchBusyError, BatchLock, _same_file

    first = BatchLock(tmp_path)
    first.acquire()
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR)   # a second batch opened the file meanwhile
    with pytest.raises(BatchBusyError):
        BatchLock(tmp_path).acquire()
    first.release()
    assert not (tmp_path / LOCK_NAME).exists() and not _same_file(fd, tmp_path / LOCK_NAME)
    os.close(fd)
    with BatchLock(tmp_path):   # locks a new file, and removes it again
        assert (tmp_path / LOCK_NAME).exists()
    assert os.listdir(tmp_path) == []


# ---- annotated video: suffixes, OpenCV's noise, the sound --------------------------------------------
def _clip_with_sound(path, audio_codec="aac", frames=20, fps=10, rate=48000):
    """A short clip of the reference photo, shifted 2 px per frame, with a 440 Hz tone as long as
    the pictures (PyAV)."""
    import av
    import cv2

    img = cv2.resize(cv2.imread(str(REFERENCE / "pose.jpg"))[..., ::-1], (320, 214))
    out = av.open(str(path), "w")
    v = out.add_stream("libx264", rate=fps)
    v.width, v.height, v.pix_fmt = 320, 214, "yuv420p"
    a = out.add_stream(audio_codec, rate=rate, layout="mono")
    for i in range(frames):
        for p in v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(img, 2 * i, axis=1)), "rgb24")):
            out.mux(p)
    t = np.arange(rate * frames // fps) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    resampler = av.AudioResampler(format=a.codec_context.format.name, layout="mono", rate=rate)
    for start in range(0, len(tone), 1024):
        f = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp", layout="mono")
        f.sample_rate, f.pts = rate, start
        for g in resampler.resample(f):
            for p in a.encode(g):
                out.mux(p)
    for s in (v, a):
        for p in s.encode(None):
            out.mux(p)
    out.close()


def _streams(path) -> dict:
    """codec name and end time (s) of each stream of a file, by type."""
    import av

    got = {}
    with av.open(str(path)) as c:
        for s in c.streams:
            end = max(float((p.pts + (p.duration or 0)) * p.time_base) for p in c.demux(s) if p.pts is not None)
            c.seek(0)
            got[s.type] = (s.codec_context.name, end)
    return got


@pytest.mark.slow
def test_video_output_suffix_checked_before_any_model_loads(tmp_path):
    for name in ("x.gif", "x"):
        r = cli("video", str(REFERENCE / "pose_squats.mp4"), "-o", str(tmp_path / name))
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "ends in .mp4, .m4v, .mov, .mkv, .webm, .avi (.mp4: H.264" in r.stderr
    assert list(tmp_path.iterdir()) == []
    r = cli("video", "--help")
    assert ".mkv H.264 in Matroska" in " ".join(r.stdout.split())


@pytest.mark.slow
def test_annotated_video_keeps_the_sound_and_opencv_stays_quiet(tmp_path):
    clip = tmp_path / "clip.mp4"
    _clip_with_sound(clip)
    src = _streams(clip)
    assert src["audio"][0] == "aac" and abs(src["audio"][1] - 2.0) < 0.05
    for name, video_codec, audio in (("o.mp4", "h264", "aac"), ("o.mkv", "h264", "aac"), ("o.webm", "vp8", None)):
        r = cli("video", str(clip), "-o", str(tmp_path / name), "--no-progress")
        assert r.returncode == 0, r.stderr
        assert r.stderr.splitlines() == [f"20 frames processed (1 with the detector), 0 skipped -> {tmp_path / name}"]
        got = _streams(tmp_path / name)
        assert got["video"][0] == video_codec and abs(got["video"][1] - 2.0) < 0.05, got
        if audio:   # the input's AAC copied, about as long as the video (one AAC frame: 21 ms)
            assert got["audio"][0] == audio and abs(got["audio"][1] - 2.0) < 0.05, got
        else:
            assert "audio" not in got
    # PCM does not go into an MP4: encoded again as AAC; --max-frames 10 cuts the sound at 1 s too
    pcm = tmp_path / "pcm.mkv"
    _clip_with_sound(pcm, audio_codec="pcm_s16le")
    r = cli("video", str(pcm), "-o", str(tmp_path / "p.mp4"), "--no-progress", "--max-frames", "10")
    assert r.returncode == 0, r.stderr
    got = _streams(tmp_path / "p.mp4")
    assert got["audio"][0] == "aac" and abs(got["audio"][1] - 1.0) < 0.05 and abs(got["video"][1] - 1.0) < 0.05, got
    # a camera that is not there: our one line, not OpenCV's [ WARN] lines
    r = cli("video", "7", "-o", str(tmp_path / "c.mp4"))
    assert r.returncode == 1 and r.stderr.splitlines() == [
        "error: camera 7: cannot open as a video (unknown format, unsupported codec, or no such camera/stream)"]


@pytest.mark.slow
def test_image_into_a_closed_pipe_exits_quietly():
    """``blazepose image ... | head -c 100``: no ``error: [Errno 32] Broken pipe``, status 141."""
    import subprocess
    import sys

    from conftest import COCO as COCO_DIR

    photos = [str(p) for p in sorted(COCO_DIR.glob("*.jpg")) * 3]
    p = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "image", *photos],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(p.stdout.read(100)) == 100
    p.stdout.close()   # the reader leaves, as head does
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == "", err
