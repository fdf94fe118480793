"""The README's Python code blocks run (docs that execute)."""
import os
import re
from pathlib import Path

import pytest

from conftest import ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.parametrize("index", [pytest.param(i, marks=pytest.mark.slow) if "process_video" in block else i
                                   for i, block in enumerate(BLOCKS)])   # a video takes seconds
def test_readme_python_block_runs(index, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code = BLOCKS[index].replace('"out/', f'"{tmp_path}/')
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})


def test_readme_names_the_full_suite_and_the_fast_tier_and_ci_runs_the_full_suite():
    """The set-up block gives both test commands; .ci/run runs the full one, as the README writes it."""
    setup = re.search(r"## Set up\n\n```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    commands = {line.split("#")[0].strip(): line.split("#", 1)[1].strip() for line in setup.splitlines() if "#" in line}
    assert commands[".venv/bin/python -m pytest -m \"not slow\""] == "the fast tier, under a minute"
    full = ".venv/bin/python -m pytest"
    assert full in commands
    assert full in (ROOT / ".ci" / "run").read_text().splitlines()
