"""A rule shipped in its own installed distribution is discovered, configured and enforced.

tests/plugin_pkg is a real distribution (pyproject.toml declaring ``[project.entry-points."scale_validator.rules"]``).
It is installed with pip into a temporary ``--target`` directory, and the ``validator`` command runs in a
subprocess with that directory on PYTHONPATH, exactly as an installed rule pack would be seen in production.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from validator.testing import box, make_body

REPO = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent / "plugin_pkg"
GROUP = "scale_validator.rules"


def _can_build_offline() -> bool:
    """setuptools builds wheels by itself from 70.1 on; before that it needs the ``wheel`` package."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    from importlib.metadata import version

    major, minor, *_ = (int(p) if p.isdigit() else 0 for p in version("setuptools").split("."))
    return (major, minor) >= (70, 1)


def _pip_install(source: Path, target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
           "--target", str(target), str(source)]
    if _can_build_offline():
        cmd[4:4] = ["--no-build-isolation", "--no-index"]  # no network at all
    # otherwise pip fetches the build backend (setuptools) from the package index into an isolated environment
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        out = proc.stdout + proc.stderr
        if re.search(r"(?i)could not find a version|connection|network|temporary failure|name resolution", out):
            pytest.skip("cannot build the test rule pack: the build backend is not installed offline and the "
                        f"package index is unreachable:\n{out[-1500:]}")
        raise AssertionError(f"pip could not install {source}:\n{out}")


def _fork(tmp: Path) -> Path:
    """A second distribution whose rule id collides with the first one's (a fork of the same rule pack)."""
    fork = tmp / "fork_src"
    shutil.copytree(PACKAGE, fork, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    (fork / "acme_validator_rules").rename(fork / "acme_fork_rules")
    pyproject = (fork / "pyproject.toml").read_text()
    pyproject = (pyproject.replace('name = "acme-validator-rules"', 'name = "acme-fork-rules"')
                 .replace('acme = "acme_validator_rules.rules"', 'acme_fork = "acme_fork_rules.rules"')
                 .replace('packages = ["acme_validator_rules"]', 'packages = ["acme_fork_rules"]'))
    (fork / "pyproject.toml").write_text(pyproject)
    return fork


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("rule_packs")
    src = tmp / "acme_src"  # build from a copy: the build leaves build/ and *.egg-info beside the sources
    shutil.copytree(PACKAGE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    fork = _fork(tmp)
    targets = {"acme": tmp / "site_acme", "fork": tmp / "site_fork"}
    with ThreadPoolExecutor(2) as pool:  # two independent pip runs, one per core
        list(pool.map(lambda args: _pip_install(*args), [(src, targets["acme"]), (fork, targets["fork"])]))
    assert (targets["acme"] / "acme_validator_rules" / "rules.py").is_file()
    assert list(targets["acme"].glob("acme_validator_rules-1.0.0.dist-info/entry_points.txt"))
    return targets


def validator(args: list[str], *paths: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VALIDATOR_CONFIG", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(REPO)])
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, text=True,
                          env=env, cwd=cwd or REPO, timeout=120)


def test_rule_pack_is_discovered(installed):
    proc = validator(["rules", "acme_wide_box"], installed["acme"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("acme_wide_box\n  Box much wider than it is tall.\n")
    assert f"defined in:    acme_validator_rules.rules (entry point 'acme' in group '{GROUP}')" in proc.stdout
    assert "max_ratio (Float, default 4.0): largest allowed width / height" in proc.stdout
    listing = validator(["rules"], installed["acme"])
    assert re.search(r"^acme_wide_box +warn +\[box\]$", listing.stdout, re.M), listing.stdout


def test_not_installed_means_not_discovered():
    proc = validator(["rules", "acme_wide_box"])
    assert proc.returncode == 2 and "unknown rule 'acme_wide_box'" in proc.stderr


def test_rule_pack_is_configured_and_enforced(installed, tmp_path):
    config = tmp_path / "validator.toml"
    config.write_text('[engine]\nbuiltin_rules = "configured"\n\n'
                      '[[rule]]\nid = "acme_wide_box"\nname = "acme_wide_cars"\nlevel = "error"\nlabels = ["car"]\n'
                      'options = { max_ratio = 3 }\n')
    bodies = tmp_path / "bodies"
    bodies.mkdir()
    (bodies / "wide.json").write_text(json.dumps(make_body([box(10, 20, 400, 50), box(0, 0, 400, 50, label="bus"),
                                                            box(0, 0, 100, 50)])))
    (bodies / "fine.json").write_text(json.dumps(make_body([box(0, 0, 140, 50)])))
    proc = validator(["check", "--jobs", "1", "--config", str(config), str(bodies)], installed["acme"])
    assert proc.returncode == 1, proc.stdout + proc.stderr  # a task failed
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("PASS  ") and lines[0].split()[1].endswith("fine.json")
    assert lines[1].startswith("FAIL  ") and lines[1].split()[1].endswith("wide.json")
    assert " ".join(lines[2].split()) == ("[error] annotation a1 acme_wide_box at (10, 20): This box is 8.0 times "
                                         "wider than tall; the limit is 3.")
    assert not lines[3].startswith("    ")  # the bus (not in scope) and the 2:1 car are not flagged
    assert re.search(r"^acme_wide_cars \(acme_wide_box\) +error +1 +1 +1$", proc.stdout, re.M), proc.stdout


def test_rule_id_collision_between_installed_packages_stops_start_up(installed, tmp_path):
    config = tmp_path / "validator.toml"
    config.write_text('[engine]\nplugins = ["tests.plugins.engine_rules"]\n')
    proc = validator(["rules", "--config", str(config)], installed["acme"], installed["fork"])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "engine.plugins" not in proc.stderr  # the configured plugins are not to blame
    assert (f"{config}: rule id 'acme_wide_box' is defined twice: in acme_validator_rules.rules "
            f"(entry point 'acme' in group '{GROUP}') and in acme_fork_rules.rules (entry point 'acme_fork' in group "
            f"'{GROUP}'); rule ids must be unique") in proc.stderr
    assert "Traceback" not in proc.stderr
