"""The README's Python code blocks run (docs that execute)."""
import os
import re
from pathlib import Path

import pytest

from conftest import ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code = BLOCKS[index].replace('"out/', f'"{tmp_path}/')
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
