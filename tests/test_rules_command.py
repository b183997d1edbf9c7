"""``validator rules --config FILE`` as a user runs it (a subprocess): the effective instances under a config, and
options validated loudly (ranges; a validator returning False fails with marshmallow 3 and 4 alike)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

PLUGIN = '''
from marshmallow import validate

from validator import Issue, Options, fields, rule


class SliverOptions(Options):
    min_ratio = fields.Float(load_default=1.2, validate=validate.Range(min=1),
                             metadata={"description": "ratio at which a box counts as a sliver"})
    odd_only = fields.Integer(load_default=3, validate=lambda v: v % 2 == 1,  # marshmallow 3 style: returns False
                              metadata={"description": "an odd number"})


@rule(id="sliver", summary="A sliver.", why="Test rule. Example: none.", geometries=("box",), options=SliverOptions)
def sliver(ann, ctx, opts):
    if max(ann.width, ann.height) > opts["min_ratio"] * max(min(ann.width, ann.height), 1e-9):
        yield Issue.on(ann, "sliver")
'''

CONFIG = '''
[engine]
plugins = ["fh_plugin"]
builtin_rules = "configured"

[[rule]]
id = "sliver"
options = { min_ratio = 1.5 }

[[rule]]
id = "sliver"
name = "car_slivers"
level = "warn"
labels = ["car", "truck"]
projects = ["acme", "beta"]
options = { odd_only = 5 }

[[projects."acme".rule]]
id = "sliver"
name = "car_slivers"
level = "error"
options = { min_ratio = 3 }

[[projects."beta".rule]]
id = "box_too_small"
level = "shadow"
geometries = ["box"]
'''


def validator(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VALIDATOR_CONFIG"}
    env["PYTHONPATH"] = str(tmp_path)
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)


@pytest.fixture()
def workdir(tmp_path) -> Path:
    (tmp_path / "fh_plugin.py").write_text(PLUGIN)
    (tmp_path / "validator.toml").write_text(CONFIG)
    return tmp_path


def block(out: str, rule_id: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(rule_id + " "))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    return [ln.strip() for ln in lines[start + 2:end]]


def test_rules_prints_configured_values_defaults_marked_scope_and_project_overrides(workdir):
    proc = validator(workdir, "rules", "--config", "validator.toml")
    assert proc.returncode == 0, proc.stderr
    assert block(proc.stdout, "sliver") == [
        "instance sliver  error  everywhere",
        "min_ratio = 1.5  (Float)",                 # as configured: not the default 1.2
        "odd_only = 3  (Integer, default)",
        "instance car_slivers  warn  labels car, truck; projects acme, beta",
        "min_ratio = 1.2  (Float, default)",
        "odd_only = 5  (Integer)",
        "project acme: instance car_slivers  error  labels car, truck",  # the override, with its own values
        "min_ratio = 3.0  (Float)",
        "odd_only = 5  (Integer)",                  # inherited from the instance it overrides: configured
    ]
    assert block(proc.stdout, "box_too_small") == [
        "project beta: instance box_too_small  shadow  geometries box",  # narrowed from [box, cuboid]
        "min_width = none  (Float, default)", "min_height = none  (Float, default)",
        "use_task_minimums = true  (Boolean, default)"]
    assert "Traceback" not in proc.stderr


def test_rules_format_json_gives_the_same_instances(workdir):
    proc = validator(workdir, "rules", "--config", "validator.toml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"] == "validator.toml"
    sliver = next(r for r in doc["rules"] if r["id"] == "sliver")
    assert [(i["name"], i["project"], i["level"]) for i in sliver["instances"]] == [
        ("sliver", None, "error"), ("car_slivers", None, "warn"), ("car_slivers", "acme", "error")]
    assert sliver["instances"][0]["options"] == {"min_ratio": {"value": 1.5, "configured": True},
                                                 "odd_only": {"value": 3, "configured": False}}
    assert sliver["instances"][1]["labels"] == ["car", "truck"]
    assert sliver["instances"][1]["projects"] == ["acme", "beta"]
    assert next(r for r in doc["rules"] if r["id"] == "t_every" or r["id"] == "malformed_annotation")


def test_markdown_is_the_same_as_format_markdown(workdir):
    a = validator(workdir, "rules", "--markdown")
    b = validator(workdir, "rules", "--format", "markdown")
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout
    assert a.stdout == (REPO / "docs" / "rules.md").read_text()


@pytest.mark.parametrize("options, message", [
    ("{ min_ratio = 0.5 }", "rule[1] (sliver).options.min_ratio: Must be greater than or equal to 1 (given: 0.5)"),
    ("{ odd_only = 4 }", "rule[1] (sliver).options.odd_only: Invalid value (given: 4)"),  # the False validator
    ('{ odd_only = "five" }', "rule[1] (sliver).options.odd_only: Not a valid integer (given: 'five')"),
])
def test_an_option_outside_its_validator_stops_start_up(tmp_path, options, message):
    (tmp_path / "fh_plugin.py").write_text(PLUGIN)
    (tmp_path / "bad.toml").write_text(f'[engine]\nplugins = ["fh_plugin"]\n\n[[rule]]\nid = "sliver"\n'
                                       f'options = {options}\n')
    for command in (["rules"], ["check", "-"]):
        proc = validator(tmp_path, *command, "--config", "bad.toml")
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert proc.stderr.startswith("validator: invalid configuration (1 problem):"), proc.stderr
        assert f"bad.toml: {message}" in proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_false_validator_is_also_applied_to_the_default(tmp_path):
    """A default that its own validator refuses is a bug in the rule: start-up stops, naming the rule."""
    (tmp_path / "fh_plugin.py").write_text(PLUGIN.replace("load_default=3", "load_default=2"))
    (tmp_path / "c.toml").write_text('[engine]\nplugins = ["fh_plugin"]\n')
    proc = validator(tmp_path, "rules", "--config", "c.toml")
    assert proc.returncode == 2
    assert "rule 'sliver': options have no valid defaults: {'odd_only': ['Invalid value.']}" in proc.stderr


def test_a_validator_that_returns_true_or_none_accepts(tmp_path):
    (tmp_path / "fh_plugin.py").write_text(PLUGIN + textwrap.dedent('''
        class NoneOptions(Options):
            n = fields.Integer(load_default=1, validate=lambda v: None,
                               metadata={"description": "anything"})


        @rule(id="none_validator", summary="x.", why="Example: x.", options=NoneOptions)
        def none_validator(ann, ctx, opts):
            return ()
    '''))
    (tmp_path / "ok.toml").write_text('[engine]\nplugins = ["fh_plugin"]\n\n[[rule]]\nid = "sliver"\n'
                                      'options = { odd_only = 7, min_ratio = 1 }\n\n'
                                      '[[rule]]\nid = "none_validator"\noptions = { n = -5 }\n')
    proc = validator(tmp_path, "rules", "--config", "ok.toml")
    assert proc.returncode == 0, proc.stderr
    assert "odd_only = 7  (Integer)" in proc.stdout and "n = -5  (Integer)" in proc.stdout


def test_a_plugin_rule_asked_for_without_its_config_says_why_it_is_unknown(workdir):
    proc = validator(workdir, "rules", "sliver")
    assert proc.returncode == 2
    assert proc.stderr == ("validator: unknown rule 'sliver'; rules of plugin modules are known only with the config "
                           "that names them (--config FILE or $VALIDATOR_CONFIG, engine.plugins)\n")
    documented = validator(workdir, "rules", "sliver", "--config", "validator.toml")
    assert documented.returncode == 0 and "defined in:    fh_plugin (config plugins)" in documented.stdout


def test_one_rule_in_json_and_markdown(workdir):
    proc = validator(workdir, "rules", "sliver", "--config", "validator.toml", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    [rule] = json.loads(proc.stdout)["rules"]
    assert rule["id"] == "sliver" and len(rule["instances"]) == 3
    md = validator(workdir, "rules", "sliver", "--config", "validator.toml", "--format", "markdown")
    assert md.returncode == 0 and md.stdout.startswith("## `sliver`\n\nA sliver.\n")
