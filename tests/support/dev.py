"""Tests that run ``./dev`` itself (as a user does) need its set-up to be current: otherwise ``./dev`` would
reinstall the project into .venv in the middle of the test run. Under ``./dev test`` (and CI) it always is."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def require_dev_setup() -> None:
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    if not (ROOT / ".venv" / f".installed-{stamp}").is_file():
        pytest.skip("./dev's set-up is not current for this pyproject.toml (./dev would reinstall .venv now): "
                    "run the suite with ./dev test")
