"""What an installation puts into site-packages: a real (non-editable) wheel of this project, built offline and
installed into a fresh temporary venv, then used from a folder outside the repository as a user would.

The built-in rule pack is the repository's top-level ``rules/`` folder, installed as ``validator_rules``: a
top-level ``rules`` package in site-packages would collide with any other distribution's ``rules``.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _can_build_offline() -> bool:
    return importlib.util.find_spec("setuptools") is not None and importlib.util.find_spec("wheel") is not None


def test_every_sub_package_of_validator_is_in_the_package_list():
    """pyproject lists packages explicitly (a renamed folder cannot be found): a new sub-package must be added."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "validator").rglob("__init__.py")}
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert "validator_rules" in listed and "rules" not in listed


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not _can_build_offline():
        pytest.skip("setuptools and wheel (the `test` extra) are needed to build the wheel offline")
    tmp = tmp_path_factory.mktemp("packaging")
    wheels = tmp / "wheels"
    # build from a clean copy: setuptools reuses a build/ folder in the source tree, which can hold modules that
    # have since been renamed or removed
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".pytest_cache", "bench"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--no-index", "--disable-pip-version-check", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=300, cwd=tmp)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("scale_realtime_validator-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # Install the wheel with this venv's pip into the new venv's site-packages (no network, no dependencies) ...
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--disable-pip-version-check", "--target", str(purelib), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert inst.returncode == 0, inst.stdout + inst.stderr
    # ... and let it see the dependencies (flask, shapely, ...) of the test venv, after its own site-packages. A
    # path in a .pth file is not a site directory: the test venv's editable finder is not activated by this.
    (purelib / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = tmp / "elsewhere"  # not the repository: its validator/ and rules/ folders must not be importable
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VALIDATOR_CONFIG")}
    return {"wheel": wheel, "python": python, "purelib": purelib, "work": work, "env": env}


def _run(installed, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["python"]), *args], capture_output=True, text=True, timeout=120,
                          cwd=installed["work"], env=installed["env"])


def test_the_wheel_has_no_top_level_rules_package(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    tops = {n.split("/", 1)[0] for n in names if "/" in n and ".dist-info/" not in n}
    assert tops == {"validator", "validator_rules"}
    assert "validator_rules/box_too_small.py" in names and not any(n.startswith("rules/") for n in names)
    assert not (installed["purelib"] / "rules").exists()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)  # the MIT licence ships with the wheel
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in zipfile.ZipFile(installed["wheel"]).read(metadata).decode()
    assert (installed["purelib"] / "validator_rules" / "__init__.py").is_file()


def test_the_installed_package_loads_the_built_in_rules_under_their_own_name(installed):
    proc = _run(installed, "-c", "import validator, validator_rules; print(validator.__file__); "
                                 "print(validator_rules.__file__)")
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.splitlines():
        assert Path(line).is_relative_to(installed["purelib"]), line  # the installed copy, not the repository's
    proc = _run(installed, "-c", "import rules")
    assert proc.returncode == 1 and "ModuleNotFoundError: No module named 'rules'" in proc.stderr


def test_the_installed_validator_command_lists_and_documents_the_built_in_rules(installed):
    proc = _run(installed, "-m", "validator", "rules", "box_too_small")
    assert proc.returncode == 0, proc.stderr
    assert "defined in:    validator_rules.box_too_small (built-in rule pack)" in proc.stdout
    listing = _run(installed, "-m", "validator", "rules")
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"^\d+ rules \(config: built-in defaults\)", listing.stdout, re.M), listing.stdout
    assert "malformed_annotation" in listing.stdout


def test_a_source_checkout_that_is_not_installed_still_finds_the_built_in_pack(tmp_path):
    """PYTHONPATH=/path/to/repo without an installation: the rules/ folder is loaded as validator_rules.

    ``-S``: no site initialisation, so this venv's editable install of the project is not active; the dependencies
    come from its site-packages as a plain path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VALIDATOR_CONFIG")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), sysconfig.get_path("purelib")])
    code = ("import importlib.util; assert importlib.util.find_spec('validator_rules') is None; "
            "from validator.engine.config import load_config; "
            "print(load_config(None).registry.get('box_too_small').module)")
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "validator_rules.box_too_small"


def test_the_changelog_has_an_unreleased_section_and_the_licence_is_mit():
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(r"^## Unreleased$", changelog, re.M)
    first_release = re.search(r"^## (?!Unreleased)", changelog, re.M)
    assert first_release is None or first_release.start() > changelog.index("## Unreleased")  # newest first
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"] == "MIT"
