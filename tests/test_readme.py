"""The Python code blocks of the README and of the documentation site run (docs that execute).

Every ```python block of README.md and docs/*.md runs, from the repository root, with paths
under "out/" sent to a temporary folder. A block that must not run (it needs a server, a camera,
a cluster, or shows an error on purpose) is preceded by the line ``<!-- no-run -->``, which
Markdown does not render. Two pages have a runner of their own that checks more than "it runs":
docs/migrating.md (tests/test_users.py) and docs/bvh_3d_notebook.md (tests/test_bvh.py)."""
import re
from pathlib import Path

import pytest

from conftest import ROOT

NO_RUN = "<!-- no-run -->"
OWN_RUNNER = {"migrating.md": "tests/test_users.py", "bvh_3d_notebook.md": "tests/test_bvh.py"}


def python_blocks(text: str) -> tuple[list[str], int]:
    """The ```python blocks of a Markdown text that are meant to run, and how many are marked not to."""
    runs, skipped = [], 0
    for m in re.finditer(r"(?:^(?P<mark>" + re.escape(NO_RUN) + r")[ \t]*\n)?^```python\n(?P<code>.*?)^```",
                         text, re.M | re.S):
        if m.group("mark"):
            skipped += 1
        else:
            runs.append(m.group("code"))
    return runs, skipped


def pages() -> list[Path]:
    return [ROOT / "README.md"] + [p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in OWN_RUNNER]


def cases() -> list:
    """(page, index) of every block meant to run; a block that reads a video takes seconds: slow."""
    out = []
    for page in pages():
        for i, code in enumerate(python_blocks(page.read_text("utf-8"))[0]):
            slow = "process_video" in code or "VideoReader" in code
            out.append(pytest.param(page, i, id=f"{page.name}-{i}", marks=[pytest.mark.slow] if slow else []))
    return out


@pytest.mark.parametrize("page, index", cases())
def test_python_block_runs(page, index, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code = python_blocks(page.read_text("utf-8"))[0][index].replace('"out/', f'"{tmp_path}/')
    name = page.relative_to(ROOT)
    exec(compile(code, f"{name} python block {index}", "exec"), {"__name__": "__docs__"})


def test_the_pages_with_code_have_blocks_that_run():
    counts = {p.name: len(python_blocks(p.read_text("utf-8"))[0]) for p in pages()}
    for name in ("README.md", "getting-started.md", "photos.md", "video.md", "people.md", "outputs.md", "batch.md"):
        assert counts.get(name, 0) >= 1, counts


def test_a_marked_block_is_left_out_and_the_others_still_run():
    text = ("Intro.\n\n```python\nx = 1\n```\n\n" + NO_RUN + "\n```python\nraise SystemExit('not run')\n```\n"
            "\n```python\ny = 2\n```\n")
    runs, skipped = python_blocks(text)
    assert runs == ["x = 1\n", "y = 2\n"] and skipped == 1


def test_readme_names_the_full_suite_and_the_fast_tier_and_ci_runs_the_full_suite():
    """The contributors' block gives both test commands; .ci/run runs the full one, as the README writes it."""
    text = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"## Working on blazepose\n\n```sh\n(.*?)```", text, re.S).group(1)
    commands = {line.split("#")[0].strip(): line.split("#", 1)[1].strip() for line in block.splitlines() if "#" in line}
    assert commands[".venv/bin/python -m pytest -m \"not slow\""] == "the fast tier, under a minute"
    full = ".venv/bin/python -m pytest"
    assert full in commands
    assert full in (ROOT / ".ci" / "run").read_text().splitlines()
