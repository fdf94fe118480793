"""``blazepose video`` through its real entry point: streaming outputs, interruptions, bad frames."""
import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from _video_clips import corrupt_frame, squats_frames, write_avi



def cli(*args):
    return [sys.executable, "-m", "blazepose.apps.cli", "video", *args]


def _check_partial(js, cs, at_least):
    doc = json.loads(js.read_text())                      # valid JSON
    frames = doc["frames"]
    assert len(frames) >= at_least
    assert [f["frame_index"] for f in frames] == list(range(len(frames)))
    with open(cs, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["frame", "timestamp_ms", "person"]
    per_frame = {}
    for r in rows[1:]:
        per_frame[int(r[0])] = per_frame.get(int(r[0]), 0) + 1
    assert all(n == 33 for n in per_frame.values())        # no half-written frame
    return frames


def test_ctrl_c_leaves_valid_partial_files(tmp_path):
    clip = write_avi(tmp_path / "long.avi", squats_frames(40, size=(180, 320)) * 6)  # 240 frames
    js, cs, mp4 = tmp_path / "o.json", tmp_path / "o.csv", tmp_path / "o.mp4"
    p = subprocess.Popen(cli(str(clip), "--json", str(js), "--csv", str(cs), "-o", str(mp4)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(json.loads(js.read_text())["frames"]) >= 10:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    frames = _check_partial(js, cs, 10)
    assert len(frames) < 240
    import cv2
    cap = cv2.VideoCapture(str(mp4))                        # finalised: readable, same size
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= 10
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (180, 320)


def test_crash_mid_way_keeps_the_frames_done(tmp_path, monkeypatch):
    from blazepose.api.session import VideoSession
    from blazepose.apps import cli as cli_mod

    clip = write_avi(tmp_path / "c.avi", squats_frames(12, size=(180, 320)))
    real = VideoSession.process_frame

    def boom(self, frame, ts, **kw):
        if kw.get("frame_index") == 7:
            raise RuntimeError("simulated crash")
        return real(self, frame, ts, **kw)

    monkeypatch.setattr(VideoSession, "process_frame", boom)
    js, cs = tmp_path / "o.json", tmp_path / "o.csv"
    with pytest.raises(RuntimeError, match="simulated crash"):
        cli_mod.main(["video", str(clip), "--json", str(js), "--csv", str(cs)])
    assert len(_check_partial(js, cs, 7)) == 7


def test_corrupt_frame_reported_skipped_and_timing_kept(tmp_path):
    clip = write_avi(tmp_path / "c.avi", squats_frames(10, size=(180, 320)))
    corrupt_frame(clip, 4)
    js, out = tmp_path / "o.json", tmp_path / "o.avi"
    p = subprocess.run(cli(str(clip), "--json", str(js), "-o", str(out)), capture_output=True, text=True)
    assert p.returncode == 1, p.stderr                      # reported, not fatal
    assert "frame 4" in p.stderr and "cannot decode" in p.stderr and "Traceback" not in p.stderr
    assert "\r" not in p.stderr                             # no progress bar when not a terminal
    frames = json.loads(js.read_text())["frames"]
    assert [f["frame_index"] for f in frames] == list(range(10))
    assert "error" in frames[4] and all(len(f["people"]) == 1 for i, f in enumerate(frames) if i != 4)
    import cv2
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10 and cap.get(cv2.CAP_PROP_FPS) == pytest.approx(5.0)


def test_unreadable_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\0" * 100)
    p = subprocess.run(cli(str(bad), "--json", str(tmp_path / "o.json")), capture_output=True, text=True)
    assert p.returncode == 1 and "x.mp4" in p.stderr and "Traceback" not in p.stderr
