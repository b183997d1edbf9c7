"""The tree passes ruff (pyflakes, pycodestyle and bugbear at 120 columns; config in pyproject.toml's [tool.ruff]),
run as CI would: the venv's ruff, from the repository, on every folder of Python code."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ["validator", "rules", "tests", "bench", "tools"]


def test_the_tree_passes_ruff():
    # the config this test relies on (a ruff run without it would check at 88 columns, or find no config at all)
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff["line-length"] == 120
    assert set(ruff["lint"]["select"]) == {"E", "F", "W", "B"}
    # --no-cache: the test suite writes no .ruff_cache into the repository
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *FOLDERS], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"ruff check {' '.join(FOLDERS)} failed:\n{proc.stdout}{proc.stderr}"
