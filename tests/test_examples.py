"""The shipped examples, run as a new user runs them: ``validator check`` in a subprocess.

* examples/*.json pass the built-in rules;
* each examples/failing/NN_<errorType>.json is one common mistake and fails for exactly that errorType, at level
  error (the mistakes are ones a person would block: they must keep failing whatever the calibration of other
  rules' defaults);
* every file the README and the docs name in their commands exists (docs/writing-rules.md writes its own files,
  and tests/test_writing_rules_doc.py runs it).
"""
from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FAILING = sorted((EXAMPLES / "failing").glob("*.json"))


def validator(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VALIDATOR_CONFIG",)}
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def intended(path: Path) -> str:
    return re.sub(r"^\d+_", "", path.stem)


def test_there_is_one_failing_example_per_common_mistake():
    assert [intended(p) for p in FAILING] == ["label_not_in_taxonomy", "outside_image", "geometry_not_requested",
                                              "attribute_missing", "polygon_self_intersection"]
    table = (EXAMPLES / "README.md").read_text()
    for p in FAILING:  # examples/README.md describes each one
        assert f"| `failing/{p.name}` |" in table and f"| `{intended(p)}` |" in table


@pytest.mark.parametrize("path", FAILING, ids=[p.stem for p in FAILING])
def test_each_failing_example_fails_for_its_intended_error_type(path):
    proc = validator("check", "--format", "json", str(path.relative_to(REPO)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    task, summary = (json.loads(line) for line in proc.stdout.splitlines())
    assert task["pass"] is False and task["answer"]["pass"] is False
    returned = [i["errorType"] for issues in task["answer"]["issues"].values() for i in issues]
    returned += [i["errorType"] for i in task["answer"]["globalIssues"]]
    assert returned == [intended(path)], returned  # exactly one issue: the mistake the file is named after
    assert summary["failed"] == 1


def test_the_well_formed_examples_pass():
    files = sorted(str(p.relative_to(REPO)) for p in EXAMPLES.glob("*.json"))
    assert len(files) == 5
    proc = validator("check", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS  ") == len(files)


def test_check_on_the_examples_folder_shows_the_mistakes_being_caught():
    proc = validator("check", "examples/")
    assert proc.returncode == 1
    for p in FAILING:
        assert f"FAIL  examples/failing/{p.name}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_batch_and_config_examples_work():
    proc = validator("check", "examples/batch.jsonl", "--config", "examples/validator.toml")
    assert proc.returncode == 1, proc.stderr
    assert "PASS  examples/batch.jsonl:1" in proc.stdout and "FAIL  examples/batch.jsonl:2" in proc.stdout
    readme = (REPO / "README.md").read_text()
    assert re.findall(r"```toml\n(.*?)```", readme, re.S)[0] == (EXAMPLES / "validator.toml").read_text()


# -- every file a doc names exists -------------------------------------------------------------------------------

DOCS = [REPO / "README.md", EXAMPLES / "README.md", *sorted((REPO / "docs").glob("*.md"))]
OWN_FILES = "<!-- commands on the reader's own files -->"
NOT_INPUTS = {"--json", "-o", "--output", ">"}  # the token after these is a file a command writes
FILE_TOKEN = re.compile(r"^[\w.*/-]+\.(?:json|jsonl|ndjson|toml)$")


def named_files(doc: Path) -> list[str]:
    out = []
    # a block after the marker OWN_FILES shows commands on the reader's own files (their configs, their exports)
    for own, block in re.findall(r"(" + re.escape(OWN_FILES) + r"\n)?```console\n(.*?)```", doc.read_text(), re.S):
        if own:
            continue
        for line in block.splitlines():
            line = line[2:] if line.startswith("$ ") else line
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                tokens = line.split()
            for prev, token in zip(["", *tokens], tokens):
                if FILE_TOKEN.match(token) and not token.startswith("/") and prev not in NOT_INPUTS:
                    out.append(token)
    return out


@pytest.mark.parametrize("doc", [d for d in DOCS if d.name != "writing-rules.md"],
                         ids=lambda d: str(d.relative_to(REPO)))
def test_every_file_named_in_a_command_exists(doc):
    missing = [name for name in named_files(doc) if not glob.glob(str(REPO / name))]
    assert not missing, f"{doc.relative_to(REPO)} names files that do not exist: {missing}"
