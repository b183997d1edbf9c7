"""``./dev`` as a user runs it, from a folder of their own: paths and PYTHONPATH they give resolve from that folder,
and any validator subcommand passes through. (The set-up it does first is already done: the suite runs under it.)"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.dev import require_dev_setup

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "dev"


@pytest.fixture(autouse=True, scope="module")
def dev_is_set_up():
    require_dev_setup()


def dev(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items()
            if k not in ("VALIDATOR_CONFIG", "PYTHONPATH", "SCALE_CALLBACK_AUTH_KEY", "PORT")}
    full.update(env or {})
    return subprocess.run(["bash", str(DEV), *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=300)


@pytest.fixture()
def team_folder(tmp_path) -> Path:
    """A folder of the user's own: a config and a rule module, as in docs/writing-rules.md."""
    (tmp_path / "team_rules.py").write_text(
        'from validator import Issue, rule\n\n\n'
        '@rule(id="team_rule", summary="A team rule.", why="Example: none.", level="off")\n'
        'def team_rule(ann, ctx, opts):\n    return ()\n')
    (tmp_path / "validator.toml").write_text('[engine]\nplugins = ["team_rules"]\n\n[[rule]]\nid = "team_rule"\n'
                                             'level = "warn"\n')
    return tmp_path


def test_rules_passes_through_with_the_callers_config_and_pythonpath(team_folder):
    proc = dev("rules", "--config", "validator.toml", cwd=team_folder, env={"PYTHONPATH": "."})
    assert proc.returncode == 0, proc.stderr
    assert "instance team_rule  warn  everywhere" in proc.stdout
    assert "(config: validator.toml)" in proc.stdout


def test_serve_reads_the_callers_config(team_folder):
    """An invalid config in the caller's folder is read (and refused for what is wrong with it, not "not found")."""
    (team_folder / "broken.toml").write_text('[[rule]]\nid = "box_to_small"\n')
    proc = dev("serve", "--config", "broken.toml", cwd=team_folder)
    assert proc.returncode == 2
    assert "validator: refusing to start" in proc.stderr
    assert "broken.toml: rule[1].id: unknown rule 'box_to_small'; did you mean 'box_too_small'?" in proc.stderr
    assert "not found" not in proc.stderr and "Traceback" not in proc.stderr


def test_check_reads_the_callers_files(tmp_path):
    shutil.copy(REPO / "examples" / "failing" / "01_label_not_in_taxonomy.json", tmp_path / "mine.json")
    proc = dev("check", "mine.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("FAIL  mine.json  task example-label-not-in-taxonomy")


def test_a_missing_file_is_named_as_the_caller_gave_it(tmp_path):
    proc = dev("rules", "--config", "nope.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == ("validator: nope.toml: config file not found (check the path given in VALIDATOR_CONFIG "
                           "or --config)\n")


def test_test_takes_paths_relative_to_the_callers_folder():
    proc = dev("test", "--collect-only", "-q", "test_examples.py", cwd=REPO / "tests")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tests/test_examples.py::test_the_well_formed_examples_pass" in proc.stdout


def test_no_command_prints_the_usage_and_an_unknown_one_is_a_usage_error(tmp_path):
    proc = dev(cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("usage: ./dev serve [options] | ./dev test")
    proc = dev("chek", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'chek'" in proc.stderr
