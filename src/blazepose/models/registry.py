"""The official BlazePose model files: what they are, where they come from, where they are kept.

Nothing else in the package knows where a model file lives. Sources are tried in order:
an explicit path, the cache, the official download location, then the registry packages that
ship the same files (npm ``@mediapipe/pose``, the PyPI ``mediapipe`` wheel), fetched with the
ordinary package clients (``npm pack``, ``pip download``) and only unpacked, never installed.
Every file is verified by size and sha256 before it is used; downloads go to a temporary file
in the cache folder and are renamed only once the hash matches.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ChecksumError, ModelNotFoundError

log = logging.getLogger(__name__)
#: One INFO line per model file fetched (``fetching NAME (SIZE) from SOURCE``), logged before the
#: download starts so a first run is never silent: the command line shows these on stderr.
fetch_log = logging.getLogger(__name__ + ".fetch")
#: None, or ``factory(description, total_bytes_or_None)`` returning a progress bar (``update(n)``,
#: ``close()``: a tqdm does) for each download; the command line sets it when stderr is a terminal.
download_progress = None

CACHE_ENV = "BLAZEPOSE_CACHE_DIR"
OFFICIAL_URL = "https://storage.googleapis.com/mediapipe-assets/{file}"
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
PYPI_PACKAGE = "mediapipe==0.10.14"
#: Any platform's wheel holds the same model files; one fixed tag lets every platform fetch it.
PYPI_WHEEL_TAGS = ["--python-version", "3.11", "--platform", "manylinux_2_17_x86_64",
                   "--implementation", "cp", "--only-binary=:all:"]


@dataclass(frozen=True)
class Variant:
    """One published byte-exact version of a model file."""

    sha256: str
    size: int
    origin: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    input_size: int
    variants: tuple[Variant, ...]
    #: member path inside the npm package tarball / the PyPI wheel (None: not shipped there)
    npm_member: str | None
    wheel_member: str | None
    license: str = "Apache-2.0"

    def matches(self, size: int, sha256: str | None = None) -> Variant | None:
        for v in self.variants:
            if v.size == size and (sha256 is None or v.sha256 == sha256):
                return v
        return None


MODELS: dict[str, ModelSpec] = {
    "detector": ModelSpec(
        "detector", "pose_detection.tflite", 224,
        (Variant("a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85", 2962288, "npm"),
         Variant("9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 2959046, "pypi")),
        npm_member="package/pose_solution_packed_assets.data",
        wheel_member="mediapipe/modules/pose_detection/pose_detection.tflite"),
}
# The three landmark models: name, sha256, bytes, release(s) it is in; the PyPI wheel has only full.
for _name, _sha, _size, _origin in (
        ("lite", "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2819824, "npm"),
        ("full", "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6440512, "npm+pypi"),
        ("heavy", "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe", 27709200, "npm")):
    _file = f"pose_landmark_{_name}.tflite"
    MODELS[_name] = ModelSpec(_name, _file, 256, (Variant(_sha, _size, _origin),), npm_member=f"package/{_file}",
                              wheel_member=f"mediapipe/modules/pose_landmark/{_file}" if "pypi" in _origin else None)
#: The landmark models, smallest first (the names ``PoseOptions.model`` takes).
LANDMARK_MODELS: tuple[str, ...] = tuple(name for name in MODELS if name != "detector")


def spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None


def cache_dir() -> Path:
    """The user cache folder for model files (``$BLAZEPOSE_CACHE_DIR`` overrides it)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


def default_cache_dir() -> Path:
    """The platform's user cache folder for blazepose, whatever ``$BLAZEPOSE_CACHE_DIR`` says.

    Derived files (``models.prune``) go here when the configured cache folder is read-only.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "blazepose" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "blazepose"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "blazepose"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(name: str, path: str | Path) -> Variant:
    """Check a file against the registry; return the matching variant or raise ChecksumError."""
    s = spec(name)
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such model file")
    size = path.stat().st_size
    digest = sha256_of(path)
    v = s.matches(size, digest)
    if v is None:
        expected = "; ".join(f"{x.size} bytes sha256 {x.sha256}" for x in s.variants)
        raise ChecksumError(f"{path}: not the official {s.file} ({size} bytes, sha256 {digest}); "
                            f"expected {expected}")
    return v


def cached_path(name: str) -> Path:
    return cache_dir() / spec(name).file


def _install_verified(name: str, source: Path, origin: str) -> Path:
    """Copy ``source`` into the cache through a temp file; rename only if it verifies."""
    dest = cached_path(name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        verify(name, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("model %s fetched from %s into %s", name, origin, dest)
    return dest


#: A download may exceed the largest published size of its file by this much before it is cut off.
DOWNLOAD_MARGIN = 64 * 1024


def _download(url: str, dest: Path, timeout: float, max_bytes: int | None = None) -> None:
    """``url`` into ``dest``; more than ``max_bytes`` (announced or received) raises ChecksumError
    at once, so a server sending 300 MB for a 6.4 MB model fills neither the disk nor the wait."""
    with urllib.request.urlopen(url, timeout=timeout) as r, open(dest, "wb") as f:  # noqa: S310
        announced = r.headers.get("Content-Length") if getattr(r, "headers", None) else None
        if max_bytes is not None and announced and announced.isdigit() and int(announced) > max_bytes:
            raise ChecksumError(f"{url}: announces {int(announced)} bytes, more than the {max_bytes} "
                                "the file can have; not downloaded")
        total = int(announced) if announced and announced.isdigit() and int(announced) > 0 else None
        bar = download_progress(url.rsplit("/", 1)[-1], total) if download_progress is not None else None
        got = 0
        try:
            while True:
                chunk = r.read(1 << 16)
                if not chunk:
                    return
                got += len(chunk)
                if max_bytes is not None and got > max_bytes:
                    raise ChecksumError(f"{url}: more than the {max_bytes} bytes the file can have; "
                                        "download stopped")
                f.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()


def _announce(name: str, source: str) -> None:
    """The line a user sees when a model file is fetched: its name, size and where from."""
    s = spec(name)
    fetch_log.info("fetching model %s (%s, %.1f MiB) from %s", name, s.file, s.variants[0].size / 2**20, source)


class _Fetcher:
    """Fetches missing model files, downloading each package at most once per run."""

    def __init__(self, timeout: float = 15.0):
        self.timeout = timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="blazepose-fetch-"))
        self.tried: dict[str, list[str]] = {}
        self._npm: Path | None | bool = False
        self._wheel: Path | None | bool = False
        self._official_ok = True

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def note(self, name: str, where: str) -> None:
        self.tried.setdefault(name, []).append(where)

    def official(self, name: str) -> Path | None:
        s = spec(name)
        url = OFFICIAL_URL.format(file=s.file)
        if not self._official_ok:
            self.note(name, f"{url} (skipped: unreachable earlier in this run)")
            return None
        tmp = self.tmp / ("official-" + s.file)
        _announce(name, url)
        try:
            _download(url, tmp, self.timeout, max(v.size for v in s.variants) + DOWNLOAD_MARGIN)
            return _install_verified(name, tmp, url)
        except ChecksumError as exc:
            self.note(name, f"{url} ({exc})")
            fetch_log.info("  not the official file there; trying the next source")
        except OSError as exc:
            self._official_ok = False
            self.note(name, f"{url} ({exc.__class__.__name__}: {exc})")
            fetch_log.info("  not reachable (%s); trying the next source", exc.__class__.__name__)
        return None

    def _fetch_package(self, cmd: list[str], pattern: str, last_error) -> tuple[Path | None, str | None]:
        """Run a package client that drops one archive in the temporary folder: (archive, error)."""
        try:
            out = subprocess.run(cmd, cwd=self.tmp, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
        found = sorted(self.tmp.glob(pattern))
        if out.returncode != 0 or not found:
            return None, last_error(out)
        return found[0], None

    def _npm_tarball(self) -> Path | None:
        if self._npm is False:
            npm = shutil.which("npm")
            self._npm, self._npm_error = (None, "npm is not installed") if npm is None else self._fetch_package(
                # --prefer-offline: a tarball already in npm's cache is used without asking the
                # registry (the version is pinned and the file is verified by sha256); offline,
                # npm otherwise retries for minutes before it falls back to its cache
                [npm, "pack", NPM_PACKAGE, "--silent", "--prefer-offline"], "mediapipe-pose-*.tgz",
                lambda out: ((out.stderr or out.stdout).strip().splitlines()[-1:] or ["npm pack failed"])[0])
        return self._npm or None

    def _wheel_file(self) -> Path | None:
        if self._wheel is False:
            self._wheel, self._wheel_error = self._fetch_package(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(self.tmp),
                 *PYPI_WHEEL_TAGS, PYPI_PACKAGE], "mediapipe-*.whl",
                lambda out: ([ln for ln in (out.stderr or "").splitlines() if ln.startswith("ERROR")]
                             or ["pip download failed"])[-1])
        return self._wheel or None

    def _from_archive(self, name: str, where: str, archive: Path | None, error: str | None, prefix: str,
                      extract) -> Path | None:
        """Copy one model file out of a package archive (``extract(archive, out)``) and verify it."""
        if archive is None:
            self.note(name, f"{where}: {error or 'unavailable'}")
            return None
        out = self.tmp / (prefix + spec(name).file)
        try:
            extract(archive, out)
            return _install_verified(name, out, where)
        except (KeyError, tarfile.TarError, zipfile.BadZipFile, ChecksumError, OSError) as exc:
            self.note(name, f"{where}: {exc}")
            return None

    def npm(self, name: str) -> Path | None:
        member = spec(name).npm_member
        if member is None:
            return None

        def extract(tgz: Path, out: Path) -> None:
            with tarfile.open(tgz) as tar:
                src = tar.extractfile(member)
                if src is None:
                    raise KeyError(member)
                with open(out, "wb") as f:
                    shutil.copyfileobj(src, f)

        _announce(name, f"the npm package {NPM_PACKAGE}")
        tgz = self._npm_tarball()
        return self._from_archive(name, f"npm package {NPM_PACKAGE} (npm pack)", tgz,
                                  getattr(self, "_npm_error", None), "npm-", extract)

    def pypi(self, name: str) -> Path | None:
        member = spec(name).wheel_member
        if member is None:
            return None

        def extract(whl: Path, out: Path) -> None:
            with zipfile.ZipFile(whl) as z, z.open(member) as src, open(out, "wb") as f:
                shutil.copyfileobj(src, f)

        _announce(name, f"the PyPI wheel {PYPI_PACKAGE}")
        whl = self._wheel_file()
        return self._from_archive(name, f"PyPI wheel {PYPI_PACKAGE} (pip download)", whl,
                                  getattr(self, "_wheel_error", None), "pypi-", extract)


def _not_found(name: str, tried: list[str]) -> ModelNotFoundError:
    s = spec(name)
    lines = "\n".join(f"  - {t}" for t in tried)
    return ModelNotFoundError(
        f"model {name!r} ({s.file}) could not be found or fetched. Looked at:\n{lines}\n"
        f"Put the official file by hand at {cached_path(name)} (or set ${CACHE_ENV}), "
        f"or pass its path explicitly; `blazepose models verify` checks it.")


def fetch(names: Iterable[str], *, use_official: bool = True, timeout: float = 15.0) -> dict[str, Path]:
    """Make sure each model is in the cache, fetching what is missing; return their paths."""
    names = list(names)
    result: dict[str, Path] = {}
    fetcher = _Fetcher(timeout=timeout)
    try:
        for name in names:
            p = cached_path(name)
            try:
                if p.exists():
                    verify(name, p)
                    result[name] = p
                    continue
            except ChecksumError as exc:
                log.warning("%s; fetching it again", exc)
                fetcher.note(name, f"cache {p} ({exc})")
            else:
                fetcher.note(name, f"cache {p} (missing)")
            steps = ([fetcher.official] if use_official else []) + [fetcher.npm, fetcher.pypi]
            for step in steps:
                got = step(name)
                if got is not None:
                    result[name] = got
                    break
            else:
                raise _not_found(name, fetcher.tried.get(name, []))
    finally:
        fetcher.close()
    return result


def resolve(name: str, path: str | Path | None = None, *, download: bool = True) -> Path:
    """The verified path of a model: ``path`` if given, else the cache, else fetched.

    A cached file that fails verification (damaged on disk) is fetched again, as a missing one
    is; with ``download=False`` it raises ``ChecksumError`` saying how to fetch it again.
    """
    if path is not None:
        verify(name, path)
        return Path(path)
    p = cached_path(name)
    if p.exists():
        try:
            verify(name, p)
            return p
        except ChecksumError as exc:
            if not download:
                raise ChecksumError(f"{exc}; `blazepose models fetch {name}` fetches it again") from None
    elif not download:
        raise _not_found(name, [f"cache {p} (missing; downloading disabled)"])
    return fetch([name])[name]


def status() -> list[dict]:
    """One row per model: name, file, size, sha256 (first variant), cached path and state."""
    rows = []
    for s in MODELS.values():
        p = cached_path(s.name)
        state = "missing"
        if p.exists():
            try:
                verify(s.name, p)
                state = "ok"
            except ChecksumError:
                state = "corrupt"
        rows.append({"name": s.name, "file": s.file, "size": s.variants[0].size,
                     "sha256": s.variants[0].sha256, "path": str(p), "state": state,
                     "license": s.license})
    return rows
