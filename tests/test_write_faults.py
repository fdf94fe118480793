"""Writes that fail: a write that reports bytes it did not write, a disk that fills, a kill inside
a write. Every output either fails with one line naming the file, or stays a valid document; a
document is never marked ``complete`` over bytes that do not parse.

Fault injection: fake file objects (every platform), ``strace -e inject=write:...`` (skipped where
strace is missing) and a small tmpfs as the output folder (skipped where ``mount`` is refused,
i.e. not root).
"""
from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REFERENCE
from test_export import person_result

from blazepose.errors import OutputWriteError
from blazepose.outputs import coco as coco_module
from blazepose.outputs import document as document_module
from blazepose.outputs import export as export_module
from blazepose.outputs.export import CSV_HEADER, CocoWriter, CsvWriter, JsonWriter, read_document
from blazepose.outputs.sink import write_all

CLIP = REFERENCE / "pose_squats.mp4"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "blazepose.apps.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


# ---- fake files ---------------------------------------------------------------------------------
class FaultyFile:
    """A real unbuffered file whose ``nth`` write (1-based) goes wrong: ``lie`` reports 100 bytes
    written and writes none (strace's ``inject=write:retval=100``); ``full`` writes half the bytes,
    reports them, and from then on a write that would make the file grow fails with ENOSPC (a
    disk that filled: bytes the file already holds can still be overwritten)."""

    def __init__(self, f, nth: int, mode: str):
        self._f, self.nth, self.mode, self.writes, self.full = f, nth, mode, 0, False

    def write(self, data):
        import os

        self.writes += 1
        if self.full and self._f.tell() + len(data) > os.fstat(self._f.fileno()).st_size:
            raise OSError(errno.ENOSPC, "No space left on device")
        if self.writes == self.nth:
            if self.mode == "lie":
                return min(100, len(data))
            self.full = True
            return self._f.write(bytes(data[:len(data) // 2]))
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)


@pytest.fixture
def faulty_open(monkeypatch):
    """``faulty_open(nth, mode)``: the writers' ``open`` for writing gives a ``FaultyFile``."""
    import builtins

    real_open = builtins.open

    def install(nth: int, mode: str):
        def fake(path, m="r", *a, **kw):
            f = real_open(path, m, *a, **kw)
            return FaultyFile(f, nth, mode) if "w" in m else f

        from blazepose.outputs import angles as angles_module

        for module in (export_module, document_module, coco_module, angles_module):
            monkeypatch.setattr(module, "open", fake, raising=False)

    return install


def test_write_all_refuses_a_write_that_reports_bytes_it_did_not_write(tmp_path):
    path = tmp_path / "x.bin"
    with open(path, "wb", buffering=0) as raw:
        f = FaultyFile(raw, 1, "lie")
        with pytest.raises(OutputWriteError) as e:
            write_all(f, b"a" * 1000, path)
    assert str(path) in str(e.value) and "short write" in str(e.value)
    assert path.stat().st_size == 900      # what really reached the file: the error says so


@pytest.mark.parametrize("mode", ["lie", "full"])
@pytest.mark.parametrize("nth", [1, 2, 4])
def test_json_document_stays_whole_when_a_write_fails(tmp_path, faulty_open, mode, nth):
    faulty_open(nth, mode)
    path = tmp_path / "r.json"
    w = None
    with pytest.raises(OutputWriteError) as e:
        w = JsonWriter(path, {"model": "full"})
        for i in range(6):
            w.write(person_result(1, frame=i))
    assert str(path) in str(e.value)
    if w is not None:
        w.close(complete=True)                # even asked to: no footer after a failed write
        doc = json.loads(path.read_bytes())   # the document as it was before the failed write
        assert "complete" not in doc
        assert [f["frame_index"] for f in doc["frames"]] == list(range(nth - 2))
        assert doc["frames"] == [person_result(1, frame=i).to_dict() for i in range(nth - 2)]


@pytest.mark.parametrize("mode", ["lie", "full"])
def test_a_failed_footer_leaves_the_document_without_complete(tmp_path, faulty_open, mode):
    faulty_open(5, mode)       # header, 3 frames, then the footer's write fails
    path = tmp_path / "r.json"
    w = JsonWriter(path, {"model": "full"})
    for i in range(3):
        w.write(person_result(1, frame=i))
    with pytest.raises(OutputWriteError):
        w.close(complete=True)
    doc = json.loads(path.read_bytes())
    assert "complete" not in doc and len(doc["frames"]) == 3


@pytest.mark.parametrize("mode", ["lie", "full"])
def test_csv_never_ends_in_a_cut_row(tmp_path, faulty_open, mode):
    faulty_open(4, mode)       # header, 2 frames, then the third frame's rows fail
    path = tmp_path / "r.csv"
    w = CsvWriter(path)
    with pytest.raises(OutputWriteError) as e:
        for i in range(5):
            w.write(person_result(1, frame=i))
    w.close()
    assert str(path) in str(e.value)
    data = path.read_bytes()
    assert data.endswith(b"\n")
    rows = data.decode().splitlines()
    assert rows[0] == ",".join(CSV_HEADER) and len(rows) == 1 + 2 * 33
    assert all(len(r.split(",")) == len(CSV_HEADER) for r in rows)


@pytest.mark.parametrize("mode", ["lie", "full"])
def test_angles_csv_never_ends_in_a_cut_row(tmp_path, faulty_open, mode):
    from blazepose.outputs.angles import ANGLES_CSV_HEADER, AnglesWriter

    faulty_open(4, mode)       # header, 2 frames, then the third frame's rows fail
    path = tmp_path / "a.csv"
    w = AnglesWriter(path)
    with pytest.raises(OutputWriteError) as e:
        for i in range(5):
            w.write(person_result(1, frame=i))
    assert str(path) in str(e.value)
    rows = path.read_bytes().decode().splitlines(keepends=True)
    assert rows[0].rstrip() == ",".join(ANGLES_CSV_HEADER) and len(rows) > 1
    assert all(r.endswith("\n") and len(r.split(",")) == len(ANGLES_CSV_HEADER) for r in rows)
    assert {r.split(",")[0] for r in rows[1:]} == {"0", "1"}      # frames 0 and 1, whole


@pytest.mark.parametrize("mode", ["lie", "full"])
def test_coco_list_stays_whole_when_a_write_fails(tmp_path, faulty_open, mode):
    faulty_open(3, mode)       # "[", one image, then the second image's entries fail
    path = tmp_path / "r.coco.json"
    w = CocoWriter(path)
    with pytest.raises(OutputWriteError):
        for i in range(4):
            w.write(person_result(2, frame=i))
    w.close()
    data = json.loads(path.read_bytes())
    assert [e["image_id"] for e in data] == [0, 0]


# ---- strace: the syscall itself faked -----------------------------------------------------------
needs_strace = pytest.mark.skipif(shutil.which("strace") is None,
                                  reason="strace is not installed (apt-get install strace)")


def strace(out: Path, inject: str, *args):
    """``blazepose ARGS`` under strace, faking the writes to ``out`` (an absolute path: -P)."""
    cmd = ["strace", "-f", "-o", "/dev/null", "-P", str(out.resolve()), "-e", "trace=write", "-e", inject,
           sys.executable, "-m", "blazepose.apps.cli", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0 and "ptrace" in p.stderr.lower():
        pytest.skip(f"strace cannot trace here: {p.stderr.strip().splitlines()[0]}")
    return p


@pytest.mark.slow
@needs_strace
def test_a_write_that_claims_bytes_it_skipped_fails_naming_the_file(tmp_path):
    out = tmp_path / "OUT.json"
    p = strace(out, "inject=write:retval=100:when=10", "video", str(CLIP), "--json", str(out),
               "--max-frames", "30", "--model", "lite")
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 1 and len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ") and str(out.resolve()) in lines[0] and "short write" in lines[0]
    doc = json.loads(out.read_bytes())     # the frames before the faked write, a whole document
    assert "complete" not in doc and [f["frame_index"] for f in doc["frames"]] == list(range(8))


@pytest.mark.slow
@needs_strace
def test_coco_file_parses_after_a_kill_inside_a_write(tmp_path):
    out = tmp_path / "OUT.coco.json"
    p = strace(out, "inject=write:signal=KILL:when=20", "video", str(CLIP), "--json", str(out),
               "--model", "lite")
    assert p.returncode != 0
    data = json.loads(out.read_bytes())
    assert [e["image_id"] for e in data] == list(range(18))     # the 18 images written before the kill


# ---- a full disk: a small tmpfs ----------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(size)``: a fresh tmpfs of ``size`` (e.g. "64k"); unmounted after the test."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        d = tmp_path / f"disk{len(mounted)}"
        d.mkdir()
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here (needs root): {p.stderr.strip()}")
        mounted.append(d)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


@pytest.mark.slow
def test_video_on_a_full_disk_names_the_file_and_leaves_whole_files(small_disk):
    disk = small_disk("64k")
    out, table = disk / "r.json", disk / "r.csv"
    p = cli("video", str(CLIP), "--json", str(out), "--csv", str(table), "--model", "lite", "--max-frames", "40")
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 1 and len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ") and str(disk) in lines[0] and "No space left" in lines[0]
    doc = json.loads(out.read_bytes())
    assert "complete" not in doc and len(doc["frames"]) < 40
    assert [f["frame_index"] for f in doc["frames"]] == list(range(len(doc["frames"])))
    rows = table.read_bytes().decode().splitlines(keepends=True)
    assert rows[0].rstrip() == ",".join(CSV_HEADER)
    assert all(r.endswith("\n") and len(r.split(",")) == len(CSV_HEADER) for r in rows)
    assert (len(rows) - 1) % 33 == 0     # whole frames only


@pytest.mark.slow
def test_batch_on_a_full_disk_reports_and_a_rerun_with_space_leaves_no_partial(small_disk, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(12):
        shutil.copy(REFERENCE / "pose.jpg", inputs / f"p{i:02d}.jpg")
    out = small_disk("100k")      # about 11 result files of 9 KB: not every result, nor the report
    p = cli("batch", str(inputs), "--out", str(out), "--model", "lite")
    assert p.returncode == 1, p.stderr
    lines = p.stderr.splitlines()
    assert any(" done, " in ln and " failed" in ln for ln in lines), p.stderr      # the summary
    failed = [ln for ln in lines if ln.startswith("  failed: ")]
    assert failed and all(str(out) in ln and "No space left" in ln for ln in failed), p.stderr
    report_lines = [ln for ln in lines if ln.startswith(("report: ", "error: "))]
    assert len(report_lines) == 1 and "Traceback" not in p.stderr, p.stderr
    if report_lines[0].startswith("error: "):
        assert str(out / "batch_report.json") in report_lines[0]
    assert not list(out.rglob("*.partial.*"))
    subprocess.run(["mount", "-o", "remount,size=4m", str(out)], check=True)
    p = cli("batch", str(inputs), "--out", str(out), "--model", "lite")
    assert p.returncode == 0, p.stderr
    assert not list(out.rglob("*.partial.*"))
    report = json.loads((out / "batch_report.json").read_text())
    assert report["counts"]["done"] + report["counts"]["skipped"] == 12 and report["counts"]["failed"] == 0
    for i in range(12):
        doc = json.loads((out / f"p{i:02d}.json").read_text())
        assert doc["complete"] is True and len(doc["frames"]) == 1


def test_batch_renames_only_a_result_that_reads_back_complete(tmp_path, monkeypatch):
    from blazepose.apps.batch.inputs import BatchItem
    from blazepose.apps.batch.options import BatchOptions
    from blazepose.apps.batch.worker import BatchWorker
    from blazepose.options import PoseOptions

    # a writer whose footer count is wrong: the document parses but does not read back complete
    monkeypatch.setattr(JsonWriter, "complete_footer", lambda self: {"complete": True, "frames_written": 7})
    src = tmp_path / "pose.jpg"
    shutil.copy(REFERENCE / "pose.jpg", src)
    out = tmp_path / "out"
    worker = BatchWorker(BatchOptions(PoseOptions(model="lite")), str(out), 1)
    try:
        [o] = worker.run([BatchItem(str(src), "pose.jpg", "image")])
    finally:
        worker.close()
    assert o["status"] == "failed" and str(out / "pose.json") in o["error"], o
    assert not (out / "pose.json").exists() and not list(out.rglob("*.partial.*"))


def test_read_document_reads_the_frames_of_a_document_cut_by_a_failed_write(tmp_path, faulty_open):
    faulty_open(5, "full")
    path = tmp_path / "r.json"
    w = JsonWriter(path, {"model": "full"})
    with pytest.raises(OutputWriteError):
        for i in range(6):
            w.write(person_result(1, frame=i))
    w.close(complete=False)
    assert [f["frame_index"] for f in read_document(path)["frames"]] == [0, 1, 2]


def test_a_web_job_on_a_full_disk_serves_no_broken_json_and_shows_no_server_path(small_disk, tmp_path):
    pytest.importorskip("fastapi", reason="the web server needs the optional 'web' extra")
    pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (the 'dev' extra)")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from test_web_api import BASE, squat_clip, wait_job

    from blazepose.apps.web.app import create_app
    from blazepose.apps.web.service import Settings

    clip = squat_clip(tmp_path / "s.mp4", n=12)        # 35 KB: it fits, its results do not
    disk = small_disk("64k")
    app = create_app(Settings(preload=()))
    with TestClient(app, base_url=BASE) as client:
        root = app.state.root
        jobs = root / "jobs"
        jobs.mkdir()
        subprocess.run(["mount", "--bind", str(disk), str(jobs)], check=True)
        try:
            r = client.post("/api/video", files={"file": ("s.mp4", clip.read_bytes(), "video/mp4")})
            assert r.status_code == 202, r.text
            st = wait_job(client, r.json()["job_id"])
            assert st["state"] == "failed" and not st["partial"] and st["downloads"] == {}, st
            assert "s.mp4" in st["error"] and "could not write" in st["error"]
            assert str(root) not in st["error"] and "/tmp" not in st["error"] and str(disk) not in st["error"]
            for kind in ("json", "csv", "video"):
                r = client.get(f"/api/jobs/{st['id']}/{kind}")
                assert r.status_code == 507, (kind, r.status_code, r.text[:200])
                body = r.json()                   # an error answer, never the broken file
                assert "could not write" in json.dumps(body) and str(root) not in r.text
            client.delete(f"/api/jobs/{st['id']}")
        finally:
            subprocess.run(["umount", "-l", str(jobs)], capture_output=True)
