"""Batches: PoseLandmarker.process_batch, and ``blazepose batch`` (bad inputs, resume after a kill, Ray).

Inputs are the fixture photos, copied and transformed (flips, crops) into tmp_path.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from _kill_support import assert_all_gone, hold_env, process_tree, wait_for
from _video_clips import squats_frames, write_avi
from blazepose.options import PoseOptions
from conftest import COCO, REFERENCE

PHOTOS = ["reference/pose.jpg", "reference/dance.jpg", "coco/000000000785.jpg", "coco/000000040083.jpg"]
#: Landmarks of the same input by two routes (batched vs not, another process, Ray): within this.
TOL_PX = 1e-3


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True,
                          text=True, **kw)


def make_photos(folder: Path, n: int) -> list[Path]:
    """``n`` photos from the fixtures: originals, mirror images, crops and half-size copies."""
    from blazepose.io.images import read_image

    srcs = [read_image(REFERENCE.parent / p) for p in PHOTOS]
    out = []
    for i in range(n):
        img, kind = srcs[i % len(srcs)], (i // len(srcs)) % 4
        if kind == 1:
            img = img[:, ::-1]
        elif kind == 2:
            h, w = img.shape[:2]
            img = img[h // 20: h - h // 20, w // 20: w - w // 20]
        elif kind == 3:
            img = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        p = folder / ("sub" if i % 3 == 0 else "") / f"photo_{i:03d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), np.ascontiguousarray(img[..., ::-1]))
        out.append(p)
    return out


def results_in(folder: Path) -> dict[str, dict]:
    return {p.relative_to(folder).as_posix(): json.loads(p.read_text())
            for p in sorted(folder.rglob("*.json"))
            if p.name != "batch_report.json" and not p.name.endswith(".angles.json") and ".partial" not in p.name}


def assert_same_results(a: Path, b: Path, tol: float = TOL_PX) -> None:
    """Same result files, same records and fields; landmark pixels within ``tol``."""
    ra, rb = results_in(a), results_in(b)
    assert sorted(ra) == sorted(rb)
    for name in ra:
        da, db = ra[name], rb[name]
        assert da["batch"] == db["batch"], name
        assert sorted(da) == sorted(db), name
        assert len(da["frames"]) == len(db["frames"]), name
        for fa, fb in zip(da["frames"], db["frames"]):
            assert sorted(fa) == sorted(fb)
            assert len(fa["people"]) == len(fb["people"]), name
            for pa, pb in zip(fa["people"], fb["people"]):
                xa = np.array([[lm["x"], lm["y"], lm["z"]] for lm in pa["landmarks"]])
                xb = np.array([[lm["x"], lm["y"], lm["z"]] for lm in pb["landmarks"]])
                assert sorted(pa["landmarks"][0]) == sorted(pb["landmarks"][0])
                np.testing.assert_allclose(xa, xb, atol=tol, rtol=0, err_msg=name)


# ---- Python API ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_process_batch_equals_process_image_in_order(landmarker_factory, tmp_path):
    from blazepose.io.images import read_image

    pl = landmarker_factory("full")
    paths = [REFERENCE.parent / p for p in PHOTOS] + [COCO / "000000196141.jpg"]
    inputs = [str(paths[0]), read_image(paths[1])[:, ::-1], *paths[2:]]   # paths and arrays mixed
    singles = [pl.process_image(x) for x in inputs]
    for bs in (1, 3, 8):
        batched = pl.process_batch(inputs, batch_size=bs)
        assert len(batched) == len(inputs)
        for s, b in zip(singles, batched):
            assert b.image_size == s.image_size and len(b) == len(s) >= 1
            np.testing.assert_allclose(b.landmarks, s.landmarks, atol=TOL_PX, rtol=0)
            np.testing.assert_allclose(b.world, s.world, atol=1e-5, rtol=0)
            np.testing.assert_allclose(b.visibility, s.visibility, atol=1e-5, rtol=0)
    assert pl.process_batch([]) == []
    several = landmarker_factory("full", max_num_poses=4, detection_tiles=2)   # per-image rounds
    coco = sorted(COCO.glob("*.jpg"))
    singles, batched = [several.process_image(p) for p in coco], several.process_batch(coco)
    assert sum(len(b) for b in batched) > len(batched)
    for s, b in zip(singles, batched):
        assert len(b) == len(s)
        np.testing.assert_allclose(b.landmarks, s.landmarks, atol=TOL_PX, rtol=0)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"")
    good, failed = pl.process_batch([paths[0], bad])   # a bad file gives a result with its error
    assert len(good) == len(singles[0]) and good.error is None
    assert "bad.jpg: empty file" in failed.error and len(failed) == 0


# ---- inputs and paths ----------------------------------------------------------------------------
def test_collect_inputs_files_folders_globs_and_mirrored_paths(tmp_path):
    from blazepose.apps.batch import collect_inputs

    (tmp_path / "a" / "b").mkdir(parents=True)
    for p in ["a/x.jpg", "a/b/y.PNG", "a/b/clip.mp4", "a/notes.txt", "c.jpg", "out/old.png"]:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_bytes(b"x")
    items, missing = collect_inputs([str(tmp_path / "a"), str(tmp_path / "*.jpg"), str(tmp_path / "a/notes.txt"),
                                     str(tmp_path / "a/x.jpg"), str(tmp_path / "nothing*.jpg"),
                                     str(tmp_path / "gone.jpg"), str(tmp_path)], exclude=tmp_path / "out")
    assert {i.rel: i.kind for i in items} == {"a/x.jpg": "image", "a/b/y.PNG": "image", "a/b/clip.mp4": "video",
                                              "a/notes.txt": "image", "c.jpg": "image"}
    assert [m["input"] for m in missing] == [str(tmp_path / "nothing*.jpg"), str(tmp_path / "gone.jpg")]
    assert "no file matches" in missing[0]["error"] and "no such file" in missing[1]["error"]
    # one folder: paths relative to it
    items, _ = collect_inputs([str(tmp_path / "a")])
    assert sorted(i.rel for i in items) == ["b/clip.mp4", "b/y.PNG", "x.jpg"]


@pytest.mark.slow
def test_inputs_inside_the_output_folder_are_reported_not_silently_dropped(tmp_path):
    """``blazepose batch photos --out photos`` used to process nothing and report nothing (exit 0);
    then it reported a failure but wrote its report and locks among the photos: now it is refused
    (exit 2) before anything is written."""
    photos = tmp_path / "photos"
    make_photos(photos, 2)
    before = sorted(photos.rglob("*"))
    r = cli("batch", str(photos), "--out", str(photos))
    assert r.returncode == 2, r.stderr
    assert f"--out {photos}: is the input {photos}; results would be written among the inputs" in r.stderr
    assert sorted(photos.rglob("*")) == before
    # collect_inputs (the library's) still reports a file named inside the out folder; an out
    # folder inside the inputs still works as before
    from blazepose.apps.batch import collect_inputs

    items, missing = collect_inputs([str(photos / "photo_001.png"), str(tmp_path)], exclude=photos)
    assert items == [] and [m["input"] for m in missing] == [str(photos / "photo_001.png")]
    items, missing = collect_inputs([str(tmp_path)], exclude=tmp_path / "results")
    assert sorted(i.rel for i in items) == ["photos/photo_001.png", "photos/sub/photo_000.png"] and missing == []


@pytest.mark.slow
@pytest.mark.parametrize("size, ok", [(0, False), (1, True), (1024, True), (1025, False), (5000, False)])
def test_batch_size_is_checked_against_the_range_its_message_states(tmp_path, size, ok):
    """``--batch-size 5000`` ran although the error for 0 says "an integer in 1..1024"."""
    from blazepose.apps.batch import BatchOptions
    from blazepose.options import OptionsError

    if ok:
        assert BatchOptions(batch_size=size).batch_size == size
        return
    with pytest.raises(OptionsError, match=rf"batch_size must be an integer in 1\.\.1024, got {size}"):
        BatchOptions(batch_size=size)
    r = cli("batch", str(REFERENCE / "pose.jpg"), "--out", str(tmp_path / "out"), "--batch-size", str(size))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"blazepose batch: error: batch_size must be an integer in 1..1024, got {size}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_killed_driver_not_yet_reaped_counts_as_gone_for_its_workers():
    """A SIGKILLed driver is a zombie until its parent reaps it; workers used to take it for alive
    and went on processing their queued inputs for seconds (3.8 s measured with a lazy reaper)."""
    from blazepose.apps.batch.runners import _driver_alive

    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _driver_alive(p.pid)
        p.kill()
        deadline = time.monotonic() + 10
        while b") Z " not in Path(f"/proc/{p.pid}/stat").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b") Z " in Path(f"/proc/{p.pid}/stat").read_bytes()   # dead, not reaped: a zombie
        os.kill(p.pid, 0)                                            # which os.kill still finds
        assert not _driver_alive(p.pid)
    finally:
        p.kill()
        p.wait()
    assert not _driver_alive(p.pid)


# ---- bad inputs ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_batch_with_corrupt_empty_and_non_image_reports_exactly_those_three(tmp_path, landmarker_factory):
    src = tmp_path / "in"
    good = make_photos(src, 3)
    data = (REFERENCE / "pose.jpg").read_bytes()
    (src / "corrupt.jpg").write_bytes(data[: len(data) // 3])          # truncated JPEG
    (src / "sub" / "empty.png").write_bytes(b"")                      # 0 bytes
    (src / "notes.jpg").write_text("meeting notes, not a photo\n")    # not an image
    (src / "readme.txt").write_text("ignored: not an image or video suffix\n")
    out = tmp_path / "out"
    p = cli("batch", str(src), "--out", str(out), "--workers", "2")
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    report = json.loads((out / "batch_report.json").read_text())
    assert report["counts"] == {"done": 3, "skipped": 0, "failed": 3, "pending": 0}
    reasons = {Path(f["input"]).name: f["error"] for f in report["failed"]}
    assert sorted(reasons) == ["corrupt.jpg", "empty.png", "notes.jpg"]
    assert "truncated or corrupt" in reasons["corrupt.jpg"]
    assert "empty file" in reasons["empty.png"]
    assert "not an image" in reasons["notes.jpg"]
    assert "3 done, 0 skipped (up to date), 3 failed" in p.stderr and "empty.png" in p.stderr
    # one result per good input, in the mirrored tree, equal to process_image; nothing partial left
    assert sorted(results_in(out)) == sorted(g.relative_to(src).with_suffix("").as_posix() + ".json" for g in good)
    assert not list(out.rglob("*.partial*"))
    pl = landmarker_factory("full")
    for g in good:
        doc = json.loads((out / (g.relative_to(src).with_suffix("").as_posix() + ".json")).read_text())
        (frame,) = doc["frames"]
        ref = pl.process_image(g)
        got = np.array([[lm["x"], lm["y"], lm["z"]] for lm in frame["people"][0]["landmarks"]])
        np.testing.assert_allclose(got, ref.landmarks[0], atol=TOL_PX, rtol=0)
        assert doc["batch"]["input"] == g.relative_to(src).as_posix() and doc["model"] == "full"


# ---- resuming --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_killed_batch_resumes_to_the_same_outputs_without_redoing_work(tmp_path):
    """SIGKILLed (driver and workers) once 4 results are written, while it works on the rest; a
    clip held before its last frame (see ``_kill_support.hold_env``) keeps it from finishing first
    (the clip comes first, so one worker holds it and the other does the photos)."""
    src = tmp_path / "in"
    make_photos(src, 16)
    write_avi(src / "clip.avi", squats_frames(12, size=(180, 320)))
    total = 17
    full = tmp_path / "uninterrupted"
    p = cli("batch", str(src), "--out", str(full), "--workers", "2")
    assert p.returncode == 0, p.stderr

    out = tmp_path / "resumed"
    proc = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "batch", str(src), "--out", str(out),
                             "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=hold_env(at_frame=11))
    try:
        wait_for(lambda: len(results_in(out) if out.exists() else {}) >= 4, proc, "4 results")
        tree = process_tree(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)   # the whole batch: driver and its worker processes
        proc.wait()
    assert_all_gone(tree)                     # none of them writes any more
    before = {out / name: (out / name).stat().st_mtime_ns for name in results_in(out)}
    assert 4 <= len(before) < total and out / "clip.avi.json" not in before, f"{len(before)} outputs after the kill"
    assert not (out / "batch_report.json").exists()

    p = cli("batch", str(src), "--out", str(out), "--workers", "2")
    assert p.returncode == 0, p.stderr
    report = json.loads((out / "batch_report.json").read_text())
    assert report["counts"] == {"done": total - len(before), "skipped": len(before), "failed": 0, "pending": 0}
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())    # completed inputs not redone
    assert_same_results(full, out)
    assert not list(out.rglob("*.partial*"))


@pytest.mark.slow
def test_up_to_date_check_follows_input_and_options(tmp_path):
    from blazepose.apps.batch import BatchOptions, run_batch

    src = tmp_path / "in"
    photos = make_photos(src, 2)
    out = tmp_path / "out"
    r = run_batch([str(src)], out, workers=1)
    assert (len(r.done), len(r.skipped)) == (2, 0)
    r = run_batch([str(src)], out, workers=1)
    assert (len(r.done), len(r.skipped)) == (0, 2)
    os.utime(photos[0], ns=(time.time_ns(), time.time_ns() + 10**9))    # the input changed
    r = run_batch([str(src)], out, workers=1)
    assert [d["input"] for d in r.done] == [str(photos[0])] and len(r.skipped) == 1
    r = run_batch([str(src)], out, BatchOptions(annotate=True), workers=1)   # annotated output missing
    assert len(r.done) == 2
    assert sorted(p.name for p in out.rglob("*.png")) == sorted(p.stem + ".annotated.png" for p in photos)
    r = run_batch([str(src)], out, BatchOptions(PoseOptions(min_detection_confidence=0.6)), workers=1)   # other options
    assert len(r.done) == 2
    # a result file cut short (not renamed by this tool) is never taken as done
    res = out / (photos[1].relative_to(src).with_suffix("").as_posix() + ".json")
    res.write_bytes(res.read_bytes()[:-10])
    r = run_batch([str(src)], out, BatchOptions(PoseOptions(min_detection_confidence=0.6)), workers=1)
    assert [d["input"] for d in r.done] == [str(photos[1])]


def _rewrite(path: Path, change) -> None:
    doc = json.loads(path.read_bytes())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("damage", ["torn_middle", "no_complete_marker", "frame_count_differs", "interleaved"])
def test_resume_redoes_a_result_that_does_not_parse_or_is_not_complete(tmp_path, damage):
    """What the issue saw: a result file written by two processes at once, or cut, or an
    interrupted document under the final name, must be redone, never called up to date."""
    from blazepose.apps.batch import run_batch

    src = tmp_path / "in"
    photos = make_photos(src, 2)
    out = tmp_path / "out"
    run_batch([str(src)], out, workers=1)
    res = out / (photos[1].relative_to(src).with_suffix("").as_posix() + ".json")
    good = res.read_bytes()
    if damage == "torn_middle":        # starts and ends like a whole document
        res.write_bytes(good[:200] + good[len(good) // 2:])
    elif damage == "no_complete_marker":
        _rewrite(res, lambda d: d.pop("complete"))
    elif damage == "frame_count_differs":
        _rewrite(res, lambda d: d.__setitem__("frames", d["frames"] * 2))
    else:                              # a second writer's bytes in the middle of the first's
        res.write_bytes(good[: len(good) // 2] + good + good[len(good) // 2:])
    r = run_batch([str(src)], out, workers=1)
    assert [d["input"] for d in r.done] == [str(photos[1])] and len(r.skipped) == 1
    redone = json.loads(res.read_bytes())
    assert redone["complete"] is True and redone["frames_written"] == len(redone["frames"]) == 1


@pytest.mark.slow
def test_images_and_videos_mixed_with_annotations_and_angles(tmp_path):
    from blazepose.apps.batch import BatchOptions, run_batch
    from blazepose.io.images import read_image

    src = tmp_path / "in"
    make_photos(src, 1)
    frame = cv2.resize(read_image(REFERENCE / "pose.jpg"), (320, 214))[..., ::-1]
    vw = cv2.VideoWriter(str(src / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 214))
    for i in range(4):
        vw.write(np.ascontiguousarray(np.roll(frame, 3 * i, axis=1)))
    vw.release()
    r = run_batch([str(src)], tmp_path / "out", BatchOptions(annotate=True, angles=True), workers=1)
    assert (len(r.done), len(r.failed)) == (2, 0), r.failed
    out = tmp_path / "out"
    from blazepose.outputs.video import browser_video_format

    ext = browser_video_format().ext   # .webm (VP8) unless OpenCV can encode H.264 here
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "batch_report.json", "clip.angles.json", f"clip.annotated{ext}", "clip.json", "sub",
        "sub/photo_000.angles.json", "sub/photo_000.annotated.png", "sub/photo_000.json"]
    cap = cv2.VideoCapture(str(out / f"clip.annotated{ext}"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 4 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 320
    cap.release()
    angles = json.loads((out / "clip.angles.json").read_text())
    assert len(angles["frames"]) == 4 and "summary" in angles
    knee = angles["frames"][0]["people"][0]["joints"]["left_knee"]["angle_2d"]
    assert knee is not None and 0 <= knee <= 180
    doc = json.loads((tmp_path / "out" / "clip.json").read_text())
    assert doc["batch"]["kind"] == "video" and len(doc["frames"]) == 4
    assert [f["frame_index"] for f in doc["frames"]] == [0, 1, 2, 3]
    ts = [f["timestamp_ms"] for f in doc["frames"]]
    assert ts == sorted(ts) and ts[1] - ts[0] == pytest.approx(100.0, abs=1.0)
    assert all(len(f["people"]) == 1 for f in doc["frames"])
    # the same landmarks as the video mode itself
    from blazepose import PoseLandmarker
    with PoseLandmarker("full") as pl:
        ref = [r.landmarks[0] for r in pl.process_video(str(src / "clip.mp4"))]
    got = [np.array([[lm["x"], lm["y"], lm["z"]] for lm in f["people"][0]["landmarks"]]) for f in doc["frames"]]
    np.testing.assert_allclose(np.array(got), np.array(ref), atol=TOL_PX, rtol=0)
    # asking for fewer extras later redoes nothing; asking for other options redoes
    assert len(run_batch([str(src)], out, workers=1).skipped) == 2
    assert len(run_batch([str(src)], out, BatchOptions(angles=True, min_visibility=0.3), workers=1).done) == 2


# ---- Ray ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ray_runner_equals_local_runner(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'blazepose[ray]')")
    from blazepose.apps.batch import run_batch

    src = tmp_path / "in"
    make_photos(src, 5)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    local = run_batch([str(src)], tmp_path / "local", workers=1)
    ray_ = run_batch([str(src)], tmp_path / "ray", runner="ray", workers=2, threads=1)
    assert (len(ray_.done), len(ray_.failed)) == (len(local.done), len(local.failed)) == (5, 1)
    assert ray_.failed[0]["error"] == local.failed[0]["error"]
    assert_same_results(tmp_path / "local", tmp_path / "ray")
    again = run_batch([str(src)], tmp_path / "ray", runner="ray", workers=2, threads=1)   # resumes alike
    assert (len(again.done), len(again.skipped), len(again.failed)) == (0, 5, 1)


def test_progress_bar_only_on_a_terminal():
    import io

    from blazepose.apps.progress import progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term, pipe = Terminal(), io.StringIO()
    for stream in (term, pipe):
        bar = progress_bar(3, "file", stream=stream)
        for _ in range(3):
            bar.update(1)
        bar.close()
    assert pipe.getvalue() == ""
    last = term.getvalue().rstrip("\n").split("\r")[-1]
    assert "3/3" in last and "100%" in last
