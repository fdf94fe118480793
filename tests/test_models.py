"""The model registry: verification, atomic caching, sources in order, offline failure."""
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from blazepose import ChecksumError, ModelNotFoundError
from blazepose.models import prune, registry


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


SESSION_CACHE = registry.cache_dir()   # read before any test changes the environment


def _real(name):
    """The verified file from the session's cache (filled by ./setup.sh)."""
    path = SESSION_CACHE / registry.spec(name).file
    registry.verify(name, path)
    return path


def test_registry_pins_four_files_with_sha_and_size():
    assert set(registry.MODELS) == {"detector", "lite", "full", "heavy"}
    for s in registry.MODELS.values():
        for v in s.variants:
            assert len(v.sha256) == 64 and v.size > 1_000_000


def test_cache_dir_follows_environment(empty_cache):
    assert registry.cache_dir() == empty_cache
    assert registry.cached_path("full") == empty_cache / "pose_landmark_full.tflite"


def test_verify_accepts_the_real_file_and_rejects_a_modified_copy(tmp_path):
    real = _real("lite")
    assert registry.verify("lite", real).sha256 == registry.sha256_of(real)
    bad = tmp_path / "pose_landmark_lite.tflite"
    data = bytearray(real.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="not the official pose_landmark_lite.tflite"):
        registry.verify("lite", bad)
    with pytest.raises(ChecksumError):
        registry.resolve("lite", bad)


def test_explicit_path_is_used_without_touching_the_cache(empty_cache):
    real = _real("full")
    assert registry.resolve("full", real) == real
    assert not empty_cache.exists()


@pytest.mark.slow
def test_offline_failure_lists_every_place_and_where_to_put_the_file(empty_cache, monkeypatch):
    monkeypatch.setattr(registry, "OFFICIAL_URL", "http://127.0.0.1:9/{file}")
    monkeypatch.setattr(registry.shutil, "which", lambda name: None)         # no npm
    monkeypatch.setattr(registry, "PYPI_WHEEL_TAGS", registry.PYPI_WHEEL_TAGS +
                        ["--index-url", "http://127.0.0.1:9/simple", "--retries", "0", "--timeout", "2"])
    with pytest.raises(ModelNotFoundError) as info:
        registry.fetch(["full"], timeout=2)
    msg = str(info.value)
    assert "cache" in msg and "127.0.0.1:9/pose_landmark_full.tflite" in msg
    assert "npm is not installed" in msg and "mediapipe==0.10.14" in msg
    assert str(empty_cache / "pose_landmark_full.tflite") in msg
    assert not list(empty_cache.glob("*.part")), "no temporary file left behind"


def test_a_damaged_cached_file_is_fetched_again_on_load(empty_cache, monkeypatch):
    """A flipped byte in the cache used to stop every PoseLandmarker with ChecksumError, while a
    missing file is fetched; now both are fetched (here the "download" copies the real file)."""
    real = _real("lite")
    empty_cache.mkdir()
    data = bytearray(real.read_bytes())
    data[100_000] ^= 0x01
    cached = registry.cached_path("lite")
    cached.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"not the official pose_landmark_lite.tflite .*"
                                            r"`blazepose models fetch lite` fetches it again"):
        registry.resolve("lite", download=False)
    assert registry.sha256_of(cached) != registry.verify("lite", real).sha256   # left as it was
    with pytest.raises(ChecksumError, match="fetches it again"):
        prune.pruned_path("lite", download=False)
    urls = []
    monkeypatch.setattr(registry, "_download", lambda url, dest, timeout, max_bytes=None: (urls.append(url),
                                                                           shutil.copyfile(real, dest)))
    assert registry.resolve("lite") == cached
    assert urls == [registry.OFFICIAL_URL.format(file="pose_landmark_lite.tflite")]
    assert registry.sha256_of(cached) == registry.verify("lite", real).sha256
    assert sorted(p.name for p in empty_cache.iterdir()) == ["pose_landmark_lite.tflite"]
    # the path PoseLandmarker takes without segmentation: the file without its mask branch
    cached.write_bytes(bytes(data))
    noseg = prune.pruned_path("lite")
    assert len(urls) == 2 and registry.sha256_of(cached) == registry.verify("lite", real).sha256
    rec = json.loads(noseg.with_suffix(".json").read_text())
    assert rec["source_sha256"] == registry.sha256_of(cached) and rec["sha256"] == registry.sha256_of(noseg)


def test_npm_uses_its_cached_package_without_asking_the_registry(empty_cache, monkeypatch):
    """Offline with the package in npm's cache, a plain ``npm pack`` retried the registry for
    about 3.5 minutes per model file before using its cache (measured under ``unshare -n``);
    ``--prefer-offline`` takes the cached tarball at once. The fake npm here packs a real
    tarball only when asked to prefer its cache, as the real one does offline."""
    import subprocess
    import tarfile

    real = _real("lite")
    calls = []

    def fake_run(cmd, cwd, **kw):
        calls.append(cmd)
        if "--prefer-offline" in cmd:
            with tarfile.open(Path(cwd) / "mediapipe-pose-0.5.1675469404.tgz", "w:gz") as tar:
                tar.add(real, arcname="package/pose_landmark_lite.tflite")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, 1, "", "npm error code EAI_AGAIN")

    monkeypatch.setattr(registry, "OFFICIAL_URL", "http://127.0.0.1:9/{file}")
    monkeypatch.setattr(registry.shutil, "which", lambda name: "/usr/bin/npm" if name == "npm" else None)
    monkeypatch.setattr(registry.subprocess, "run", fake_run)
    got = registry.fetch(["lite"], timeout=2)
    assert registry.verify("lite", got["lite"]).sha256 == registry.sha256_of(real)
    assert [c[1:3] for c in calls] == [["pack", registry.NPM_PACKAGE]]


def test_corrupt_download_is_never_renamed_into_place(empty_cache, tmp_path):
    src = tmp_path / "fake.tflite"
    src.write_bytes(b"\0" * 2819824)
    with pytest.raises(ChecksumError):
        registry._install_verified("lite", src, "test")
    assert not registry.cached_path("lite").exists()
    assert not list(empty_cache.glob("*"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_fetch_from_the_npm_package_when_the_official_site_is_unreachable(empty_cache, monkeypatch):
    """The firewall case: only package registries reachable. Uses the real npm registry."""
    monkeypatch.setattr(registry, "OFFICIAL_URL", "http://127.0.0.1:9/{file}")
    got = registry.fetch(["lite", "detector"], timeout=2)
    assert got["lite"] == empty_cache / "pose_landmark_lite.tflite"
    assert registry.verify("detector", got["detector"]).origin == "npm"


@pytest.mark.slow
def test_fetch_from_the_pypi_wheel_when_npm_is_missing(empty_cache, monkeypatch):
    """The PyPI route alone (detector and full ship in the mediapipe wheel), real registry."""
    monkeypatch.setattr(registry, "OFFICIAL_URL", "http://127.0.0.1:9/{file}")
    monkeypatch.setattr(registry.shutil, "which", lambda name: None)
    got = registry.fetch(["full", "detector"], timeout=2)
    assert registry.verify("full", got["full"]).size == 6440512
    assert registry.verify("detector", got["detector"]).origin == "pypi"
    with pytest.raises(ModelNotFoundError, match="heavy"):   # heavy is not in the wheel
        registry.fetch(["heavy"], timeout=2)


def test_models_verify_checks_what_was_fetched(empty_cache, capsys):
    """`blazepose models verify` after the default `models fetch` (detector and full): exit 0,
    lite and heavy listed as not fetched; a damaged file, a named missing one or none: exit 1."""
    from blazepose.apps.cli import main

    empty_cache.mkdir(parents=True)
    for name in ("detector", "full"):
        shutil.copy(_real(name), empty_cache / registry.spec(name).file)
    assert main(["models", "verify"]) == 0
    out = capsys.readouterr().out
    assert "full: ok" in out and "detector: ok" in out
    assert "lite: not fetched (`blazepose models fetch lite` fetches it)" in out
    assert main(["models", "verify", "lite"]) == 1               # named: it must be there
    full = empty_cache / registry.spec("full").file
    data = bytearray(full.read_bytes())
    data[1000] ^= 0xFF
    full.write_bytes(bytes(data))
    assert main(["models", "verify"]) == 1
    full.unlink()
    (empty_cache / registry.spec("detector").file).unlink()
    assert main(["models", "verify"]) == 1                       # nothing fetched, nothing verified


@pytest.mark.parametrize("announce", [True, False])
def test_an_oversized_download_is_cut_off_at_the_expected_size(empty_cache, tmp_path, monkeypatch, announce):
    """A server sending 300 MB for the 6.4 MB full model: refused at its Content-Length, or cut off
    just past the largest published size (plus DOWNLOAD_MARGIN) when the length is not announced;
    the cache is left empty and the next source is tried (issue 22, not-promised item 3)."""
    import http.server
    import threading

    sent = []

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            if announce:
                self.send_header("Content-Length", str(300 << 20))
            self.end_headers()
            block = b"\0" * (1 << 20)
            try:
                for _ in range(300):
                    self.wfile.write(block)
                    sent.append(len(block))
            except OSError:   # the client hung up
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/pose_landmark_full.tflite"
        limit = registry.spec("full").variants[0].size + registry.DOWNLOAD_MARGIN
        dest = tmp_path / "dl"
        with pytest.raises(ChecksumError, match=("announces 314572800 bytes" if announce else
                                                 f"more than the {limit} bytes")):
            registry._download(url, dest, 15.0, limit)
        assert dest.stat().st_size <= limit
        # through the fetcher: the official source fails, npm and PyPI are next, nothing is cached
        monkeypatch.setattr(registry, "OFFICIAL_URL", f"http://127.0.0.1:{server.server_port}/{{file}}")
        fetcher = registry._Fetcher(timeout=15.0)
        try:
            assert fetcher.official("full") is None
            assert "bytes" in fetcher.tried["full"][0] and fetcher._official_ok
        finally:
            fetcher.close()
        assert not empty_cache.exists() or not list(empty_cache.iterdir())
    finally:
        server.shutdown()
        server.server_close()
    assert sum(sent) < 100 << 20   # the server was not made to send anything like 300 MB
