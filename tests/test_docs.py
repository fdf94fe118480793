"""The documentation: the README is a front page, the MkDocs site builds with --strict (so a broken
link, a missing anchor, a page left out of the nav or a stale API name in a ``:::`` block fails),
and no page talks about the project's internal history."""
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MKDOCS_TOOLS = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
MISSING = [m for m in MKDOCS_TOOLS if importlib.util.find_spec(m.split(".")[0]) is None]
needs_mkdocs = pytest.mark.skipif(bool(MISSING), reason=f"the 'docs' extra is not installed (missing {MISSING})")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "--site-dir", str(site)],
                          capture_output=True, text=True, cwd=config.parent, env=env, timeout=600)


def test_readme_is_a_front_page():
    lines = README.read_text("utf-8").splitlines()
    assert len(lines) <= 200, len(lines)
    first = "\n".join(lines[:40])
    assert re.search(r"!\[[^\]]+\]\(docs/images/[\w.-]+\.(png|jpg)\)", first), "no picture in the first 40 lines"
    assert "pip install ." in first and '".[web' in first, "no pip install in the first 40 lines"
    for extra in ("web", "openvino", "ray", "plot", "plot3d", "eval", "notebook", "docs", "dev"):
        assert re.search(rf"^\| `{extra}` \|", "\n".join(lines), re.M), f"extra {extra} missing from the table"
    text = "\n".join(lines)
    assert ".venv/bin/blazepose image tests/data/reference/pose.jpg --annotate out/pose.png --json out/pose.json" in text
    assert './setup.sh' in text and '-m "not slow"' in text and "chromium" in text


def test_every_extra_in_the_readme_is_in_pyproject():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["optional-dependencies"]
    named = set(re.findall(r"^\| `([\w-]+)` \|", README.read_text("utf-8"), re.M))
    assert named <= set(extras), named - set(extras)
    assert set(extras) <= named, f"extras the README does not describe: {set(extras) - named}"
    docs_tools = {re.split(r"[<>=\[]", r)[0] for r in extras["docs"]}
    dev = {re.split(r"[<>=\[]", r)[0] for r in extras["dev"]}
    assert docs_tools <= dev, "the dev extra must bring the tools the docs test needs"


HISTORY = [r"\bissues?\b", r"\bcommit\b", r"hardening", r"open issue", r"--image-base", r"(?-i:\bA/B\b)",
           r"\bbefore this\b"]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_talks_about_internal_history(page):
    text = page.read_text("utf-8")
    for pattern in HISTORY:
        m = re.search(pattern, text, re.I)
        assert m is None, f"{page.name}: {text[max(0, m.start() - 60):m.end() + 60]!r}"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text("utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert re.search(rf":\s*{re.escape(page.name)}\s*$", nav, re.M), f"{page.name} is not in mkdocs.yml's nav"


@needs_mkdocs
@pytest.mark.slow
def test_the_site_builds_with_strict(tmp_path):
    t = time.perf_counter()
    r = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert r.returncode == 0, r.stderr[-4000:]
    site = tmp_path / "site"
    html = (site / "reference" / "index.html").read_text("utf-8")
    for name in ("PoseLandmarker", "PoseLandmarker.process_image", "PoseLandmarker.process_batch",
                 "PoseLandmarker.session", "PoseOptions", "VideoSession.process_frame", "PoseResult", "draw_pose", "errors.BlazePoseError"):
        assert f'id="blazepose.{name}"' in html, f"{name} has no entry in the API reference"
    assert (site / "images" / "people.jpg").stat().st_size > 10_000
    print(f"mkdocs build --strict: {time.perf_counter() - t:.1f} s")


@needs_mkdocs
@pytest.mark.slow
def test_a_broken_link_or_anchor_fails_the_strict_build(tmp_path):
    """The validation settings of mkdocs.yml turn a bad link into a failed build (checked on a
    two-page site with the same settings, without the API reference, so it is quick)."""
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8").split("\nplugins:")[0].replace("!!", ""))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n## Part\n\nSee [the other](other.md#part).\n")
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Part\n")
    site = {"site_name": "t", "docs_dir": "docs", "validation": config["validation"],
            "markdown_extensions": ["toc"], "nav": [{"Home": "index.md"}, {"Other": "other.md"}]}
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(site))
    assert mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site").returncode == 0
    for bad in ("[x](missing.md)", "[x](other.md#no-such-part)", "[x](../src/file.py)"):
        (tmp_path / "docs" / "index.md").write_text(f"# Home\n\nSee {bad}.\n")
        r = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
        assert r.returncode != 0 and "WARNING" in r.stderr, (bad, r.stderr[-2000:])
