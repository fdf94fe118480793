"""Nothing lost at any kill point: real processes, real signals, an immediate re-run each time.

Each batch test starts ``blazepose batch`` (two worker processes, photos and short clips, annotated
outputs), stops it with a real signal at a given moment, re-runs it at once on the same ``--out``
and checks that every input ends up processed exactly once across the two runs (each result a
whole document marked complete; a clip's frames 0..N-1 each once; a result complete after the
first run untouched by the second), that the annotated videos play to their last frame, and that
no process of the first run is left (the driver's whole process tree, fork server included, read
from /proc before the signal). The streaming-output tests kill a writer at many instants and
parse what it left. docs/kill_safety.md lists the promises these tests check, and the one limit
(a SIGKILL inside a frame's write).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from _kill_support import assert_all_gone, frames_in, hold_env, process_tree, wait_for
from _video_clips import squats_frames, write_avi
from test_batch import make_photos

pytestmark = [pytest.mark.slow,   # real processes killed and re-run
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; POSIX signals")]

PHOTOS = 10
CLIP_FRAMES = 12
CLIPS = ("clips/a.avi", "clips/b.avi")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """10 small photos and two 12-frame clips (180x320 Motion-JPEG)."""
    src = tmp_path_factory.mktemp("kill_inputs")
    for p in make_photos(src / "photos", PHOTOS):
        img = cv2.imread(str(p))
        cv2.imwrite(str(p), cv2.resize(img, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA))
    frames = squats_frames(CLIP_FRAMES, size=(180, 320))
    for i, rel in enumerate(CLIPS):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        write_avi(src / rel, frames[i:] + frames[:i])
    return src


def batch_cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "blazepose.apps.cli", "batch", str(src / "photos"), str(src / "clips"),
            "--out", str(out), "--annotate", "--workers", "2"]


def start_batch(src: Path, out: Path) -> subprocess.Popen:
    """The batch, its second clip held before its last frame: it cannot end before the test acts
    (the other worker does the first clip and the photos)."""
    return subprocess.Popen(batch_cmd(src, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=hold_env(at_frame=CLIP_FRAMES - 1, only=CLIPS[1]))


def final_results(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*.json"))
            if p.name != "batch_report.json" and ".partial" not in p.name}


def partial_video_frames(out: Path) -> int:
    """Frames in the largest .partial clip document being written (0 if none parses yet)."""
    return max((frames_in(p) for p in out.glob("clips/*.partial.json")), default=0)   # NAME.partial.json


def load_after_kill(path: Path) -> dict:
    """The document a killed writer left: it parses, or (the one case Linux allows) it was cut at
    a page boundary inside its last frame and ``read_document`` reads the frames before."""
    from blazepose.outputs.export import read_document

    data = path.read_bytes()
    try:
        return json.loads(data)
    except ValueError:
        assert len(data) % 4096 == 0, f"{path}: not valid and not cut at a page boundary"
        return read_document(path)


def count_video_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def check_everything_once(out: Path, before: dict[str, int]) -> dict:
    """Every input's outputs whole and complete, each frame once; results complete after the first
    run (``before``: name -> mtime) untouched; returns the re-run's report."""
    from blazepose.outputs.video import browser_video_format

    results = final_results(out)
    names = sorted(results)
    assert len(names) == PHOTOS + len(CLIPS), names
    for name, path in results.items():
        doc = json.loads(path.read_bytes())          # parses: a whole document
        assert doc["complete"] is True and doc["frames_written"] == len(doc["frames"]), name
        if name.startswith("clips/"):
            assert [f["frame_index"] for f in doc["frames"]] == list(range(CLIP_FRAMES)), name
            video = out / (name[:-len(".json")] + ".annotated" + browser_video_format().ext)
            assert count_video_frames(video) == CLIP_FRAMES, video
        else:
            assert len(doc["frames"]) == 1 and (out / (name[:-len(".json")] + ".annotated.png")).is_file(), name
    for name, mtime in before.items():
        assert results[name].stat().st_mtime_ns == mtime, f"{name} was complete, yet redone"
    assert not list(out.rglob("*.partial*")), list(out.rglob("*.partial*"))
    report = json.loads((out / "batch_report.json").read_text())
    done = {d["rel"] for d in report["done"]}
    skipped = {d["rel"] for d in report["skipped"]}
    assert not done & skipped and len(done | skipped) == PHOTOS + len(CLIPS)
    assert report["counts"]["failed"] == report["counts"]["pending"] == 0
    # each input once across the runs: the re-run skipped what was complete after the kill, and
    # whatever the killed run's workers finished in their last instants (they check for their
    # driver every 0.2 s); those were all written before the re-run wrote anything (it waits for
    # the old workers before it looks at the folder), so no two processes wrote at once
    skipped = {os.path.splitext(r)[0] for r in skipped}       # a result is named NAME.json for NAME.EXT
    done = {os.path.splitext(r)[0] for r in done}
    assert {n[:-len(".json")] for n in before} <= skipped
    mtimes = {n[:-len(".json")]: p.stat().st_mtime_ns for n, p in results.items()}
    if done and skipped:
        assert max(mtimes[n] for n in skipped) <= min(mtimes[n] for n in done)
    return report


# ---- batch: SIGKILL at several moments, then at once a re-run --------------------------------------
# Each moment is something the test sees on disk; the batch is still running then (one clip is
# held before its last frame), and it is not paused: the kill lands while it works.
MOMENTS = {
    "driver_locked": lambda out: (out / ".blazepose-batch.lock").exists(),   # starting up
    "first_result": lambda out: bool(final_results(out)),
    "mid_video": lambda out: partial_video_frames(out) >= 3,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_then_immediate_rerun_processes_everything_once(inputs, tmp_path, moment):
    out = tmp_path / "out"
    proc = start_batch(inputs, out)
    wait_for(lambda: MOMENTS[moment](out), proc, moment)
    tree = process_tree(proc.pid)
    if moment != "driver_locked":           # by then the work has started (at the lock maybe not yet)
        assert len(tree) >= 3, "expected the driver, a fork server and workers"
    os.kill(proc.pid, signal.SIGKILL)       # the driver only: its workers must notice on their own
    proc.wait()
    # every final result is a whole, complete document even right after the kill
    before = {n: p.stat().st_mtime_ns for n, p in final_results(out).items()}
    assert all(json.loads(p.read_bytes())["complete"] is True for p in final_results(out).values())
    rerun = subprocess.run(batch_cmd(inputs, out), capture_output=True, text=True)   # at once
    assert rerun.returncode == 0, rerun.stderr
    assert_all_gone(tree, within_s=0.0)      # the re-run waited for them: none may be left now
    check_everything_once(out, before)


# ---- batch: Ctrl-C (SIGINT to the process group), a second batch refused meanwhile, re-run ---------
def test_sigint_writes_an_honest_report_and_a_second_batch_is_refused(inputs, tmp_path):
    out = tmp_path / "out"
    proc = start_batch(inputs, out)
    wait_for(lambda: bool(final_results(out)), proc, "the first result")
    os.killpg(proc.pid, signal.SIGSTOP)      # paused, so that it surely still runs (holds its lock)
    try:
        second = subprocess.run(batch_cmd(inputs, out), capture_output=True, text=True, timeout=60)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    assert second.returncode == 1 and f"another blazepose batch (process {proc.pid})" in second.stderr, second.stderr
    tree = process_tree(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)       # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert_all_gone(tree)
    report = json.loads((out / "batch_report.json").read_text())
    assert report["interrupted"] is True
    complete = {n[:-len(".json")] for n, p in final_results(out).items()
                if json.loads(p.read_bytes()).get("complete") is True}
    # the report counts what is on disk: done = complete results, pending = the rest
    assert {os.path.splitext(d["rel"])[0] for d in report["done"]} == complete     # NAME.json for NAME.EXT
    assert report["counts"]["done"] + report["counts"]["pending"] == PHOTOS + len(CLIPS)
    before = {n: p.stat().st_mtime_ns for n, p in final_results(out).items()}
    rerun = subprocess.run(batch_cmd(inputs, out), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    check_everything_once(out, before)


def test_sigterm_stops_like_ctrl_c(inputs, tmp_path):
    out = tmp_path / "out"
    proc = start_batch(inputs, out)
    wait_for(lambda: partial_video_frames(out) >= 2, proc, "a clip half-way")
    tree = process_tree(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert_all_gone(tree)
    report = json.loads((out / "batch_report.json").read_text())
    assert report["interrupted"] is True
    # the terminal says what is done and what is not, as the report does (it used to say only
    # "interrupted"): the summary line with the report's counts, then where the report is
    c = report["counts"]
    assert (f"{c['done']} done, {c['skipped']} skipped (up to date), {c['failed']} failed, "
            f"{c['pending']} not done (interrupted)") in err, err
    assert c["pending"] >= 1 and f"report: {out / 'batch_report.json'}" in err, err
    assert err.rstrip().endswith("interrupted"), err


# ---- streaming outputs ---------------------------------------------------------------------------
_WRITER = r"""
import sys, json
from blazepose.outputs.export import JsonWriter
frame = json.loads(sys.argv[2])
with JsonWriter(sys.argv[1], {"source": "x"}) as w:
    i = 0
    while True:
        w.write({**frame, "frame_index": i}); i += 1
        if i == 3: print("go", flush=True)
"""


def test_json_document_survives_any_kill(tmp_path, pose_rgb, landmarker_factory):
    """A writer streaming real frames (about 9 KB each, more than a memory page) in a tight loop,
    SIGKILLed at 15 instants: once the file has grown by a random number (0..39) of frames past
    the third. The file parses with frames 0..n-1 in order, except in the one case Linux allows:
    the kill landed inside a frame's write(), which the kernel stopped at a page boundary (seen
    about once in 15 kills on a loaded machine, since this loop spends most of its time in
    write()); then the file ends on a page boundary and ``read_document`` reads every frame before
    the cut one. A real run spends milliseconds of inference per frame, the write microseconds."""
    frame = landmarker_factory("full").process_image(pose_rgb).to_dict()
    size = len(json.dumps(frame))
    assert size > 4096
    rng = np.random.default_rng(0)
    for k in range(15):
        path = tmp_path / f"w{k}.json"
        p = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), json.dumps(frame)], stdout=subprocess.PIPE,
                             text=True)
        assert p.stdout.readline().strip() == "go"
        grown = path.stat().st_size + int(rng.integers(0, 40)) * size
        wait_for(lambda: path.stat().st_size >= grown, p, f"{grown} bytes in {path.name}")
        p.kill()
        p.wait()
        doc = load_after_kill(path)
        n = len(doc["frames"])
        assert n >= 3 and [f["frame_index"] for f in doc["frames"]] == list(range(n))
        assert "complete" not in doc      # an interrupted document never claims to be complete


@pytest.mark.parametrize("suffix, min_played", [(".webm", 10), (".mp4", 15)])
def test_video_cli_killed_mid_video_leaves_valid_json_and_playable_video(tmp_path, suffix, min_played):
    """Killed once 40 frames are in the JSON, while it works on the next ones (held before the
    last frame, so that it cannot have finished by the time the test sees the 40th)."""
    clip = write_avi(tmp_path / "clip.avi", squats_frames(65), fps=30.0)
    js, webm = tmp_path / "v.json", tmp_path / ("v" + suffix)
    p = subprocess.Popen([sys.executable, "-m", "blazepose.apps.cli", "video", str(clip), "--json", str(js),
                          "-o", str(webm), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=hold_env(at_frame=64))
    wait_for(lambda: frames_in(js) >= 40, p, "40 frames")
    p.kill()
    p.wait()
    doc = load_after_kill(js)
    n = len(doc["frames"])
    assert 40 <= n < 65 and "complete" not in doc
    assert [f["frame_index"] for f in doc["frames"]] == list(range(n))
    played = count_video_frames(webm)
    # OpenCV writes the WebM in blocks of about 256 KB: the frames of the last block may be missing;
    # the fragmented MP4 plays up to its last whole fragment (one per half second: 15 frames here)
    assert min_played <= played <= n, (played, n)


def test_read_document_reads_every_whole_frame_of_a_cut_file(tmp_path):
    """The page-boundary cut, made by hand at every offset inside the last frame's write."""
    from blazepose.outputs.export import JsonWriter, read_document

    path = tmp_path / "d.json"
    frames = [{"frame_index": i, "people": [{"x": 1.5 * i, "name": "a,b\\n]}"}]} for i in range(4)]
    with JsonWriter(path, {"source": "s"}) as w:
        for f in frames[:3]:
            w.write(f)
    three = path.read_bytes()[: -len(b"\n], \"complete\": true, \"frames_written\": 3}\n")]
    old_tail = b"\n]}\n"
    last = (",\n" + json.dumps(frames[3]) + "\n]}\n").encode()
    for cut in range(len(last)):   # the write's first `cut` bytes landed, over the old closing brackets
        path.write_bytes(three + last[:cut] + old_tail[cut:])
        doc = read_document(path)
        assert doc["source"] == "s" and doc["frames"] == frames[: 4 if cut >= len(last) - 4 else 3], cut
        assert "complete" not in doc
    path.write_bytes(b'{"source": "s", "fra')
    with pytest.raises(Exception, match="d.json"):
        read_document(path)
