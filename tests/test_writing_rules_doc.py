"""docs/writing-rules.md is executable: every code block of the tutorial is run here, in order.

* ```` ```python file=PATH ````, ```` ```toml file=PATH ````, ```` ```json file=PATH ```` blocks are written to PATH
  in a temporary folder (a later block with the same PATH replaces the file, as the tutorial's steps do).
* ```` ```console ```` blocks: each ``$ command`` runs there with bash (``validator`` and ``python`` are this
  venv's; the folder and the repository are on PYTHONPATH) and must exit 0. The lines after it are the expected
  output, compared after collapsing runs of spaces: exactly, unless the block uses ``...``, in which case the
  expected lines must appear in this order (``...`` inside a line matches anything).
* Then every file is checked for what the text claims: JSON parses, TOML configs load, the package's entry points
  use the documented group and name modules of the tutorial.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from validator.engine.config import ConfigError, load_config
from validator.engine.registry import ENTRY_POINT_GROUP

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "writing-rules.md"
FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    line: int
    lang: str
    file: str | None
    text: str

    @property
    def where(self) -> str:
        return f"docs/writing-rules.md:{self.line} ({self.lang}{' ' + self.file if self.file else ''})"


def blocks() -> list[Block]:
    text = DOC.read_text()
    out = []
    for m in FENCE.finditer(text):
        info = dict(kv.split("=", 1) for kv in m.group(2).split() if "=" in kv)
        out.append(Block(text.count("\n", 0, m.start()) + 1, m.group(1), info.get("file"), m.group(3)))
    return out


def _norm(line: str) -> str:
    return " ".join(line.split())


def _commands(block: Block) -> list[tuple[str, list[str]]]:
    cmds: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            cmds.append((line[2:], []))
        else:
            assert cmds, f"{block.where}: output before the first `$ command`"
            cmds[-1][1].append(line)
    return cmds


def _compare(where: str, cmd: str, expected: list[str], actual: str) -> None:
    got = [_norm(ln) for ln in actual.splitlines()]
    want = [_norm(ln) for ln in expected]
    if not any("..." in ln for ln in want):
        while got and not got[-1]:
            got.pop()
        assert got == want, f"{where}: `{cmd}` printed:\n{actual}"
        return
    pos = 0
    for w in (w for w in want if w and w != "..."):
        pattern = re.compile(".*".join(re.escape(part) for part in w.split("...")) + "$")
        while pos < len(got) and not pattern.match(got[pos]):
            pos += 1
        assert pos < len(got), f"{where}: `{cmd}`: expected line {w!r} not found (in order) in:\n{actual}"
        pos += 1


@pytest.fixture(scope="module")
def tutorial_files(tmp_path_factory):
    """Every file of the tutorial (last version of each) in a folder on sys.path, for in-process checks."""
    d = tmp_path_factory.mktemp("tutorial_files")
    for b in blocks():
        if b.file:
            (d / b.file).parent.mkdir(parents=True, exist_ok=True)
            (d / b.file).write_text(b.text)
    sys.path.insert(0, str(d))
    yield d
    sys.path.remove(str(d))
    for mod in [m for m in sys.modules if m == "acme_rules" or m.startswith("acme_rules.")]:
        del sys.modules[mod]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tutorial")
    shims = d / ".bin"
    shims.mkdir()
    for name, target in (("validator", f"{shlex.quote(sys.executable)} -m validator"),
                         ("python", shlex.quote(sys.executable))):
        (shims / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (shims / name).chmod(0o755)
    return d


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VALIDATOR_CONFIG", "PYTHONPATH")}
    env["PATH"] = f"{workdir / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{workdir}{os.pathsep}{REPO}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_every_block_is_of_a_kind_this_test_runs():
    found = blocks()
    assert len(found) >= 10
    for b in found:
        assert (b.lang in ("python", "toml", "json") and b.file) or (b.lang == "console" and not b.file), \
            f"{b.where}: every code block must be a file (```python file=...) or a ```console session"


def test_the_tutorial_runs_as_written(workdir, tutorial_files):
    written: dict[str, Block] = {}
    ran = 0
    for b in blocks():
        if b.file:
            path = workdir / b.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(b.text)
            written[b.file] = b
            continue
        for cmd, expected in _commands(b):
            proc = subprocess.run(["bash", "-c", cmd], cwd=workdir, env=_env(workdir), capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0, f"{b.where}: `{cmd}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            _compare(b.where, cmd, expected, proc.stdout + proc.stderr)
            ran += 1
    assert ran >= 6
    # the files the commands did not read themselves
    for name, b in written.items():
        if b.lang == "json":
            json.loads((workdir / name).read_text())
    settings = load_config(workdir / "engine-settings.toml")
    assert (settings.failure_policy, settings.time_budget_ms) == ("open", 800.0)
    assert (workdir / "validator.toml").read_text() == (tutorial_files / "validator.toml").read_text()
    final = load_config(tutorial_files / "validator.toml")  # the promoted config: error for one project only
    levels = {p: [(i.name, i.level) for i in insts] for p, insts in final.project_instances.items()}
    assert ("thin_box", "error") in levels["acme-street-scenes"]
    assert ("thin_box", "off") in [(i.name, i.level) for i in final.instances]
    pyproject = tomllib.loads((workdir / "acme-validator-rules" / "pyproject.toml").read_text())
    eps = pyproject["project"]["entry-points"][ENTRY_POINT_GROUP]
    for module in eps.values():
        assert f"{module.replace('.', '/')}.py" in written, f"entry point module {module} is not in the tutorial"


def test_the_config_error_quoted_in_step_3(tutorial_files, tmp_path):
    """The tutorial quotes an error message; it must be the real one."""
    quoted = re.search(r"For example, `(rule\[2\] \(thin_box\)[^`]*)`", DOC.read_text()).group(1)
    config = tmp_path / "typo.toml"
    config.write_text('[engine]\nplugins = ["acme_rules.thin_box"]\n\n[[rule]]\nid = "thin_box"\nname = "strict"\n\n'
                      '[[rule]]\nid = "thin_box"\nname = "loose"\noptions = { max_raito = 20 }\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert f"{config}: {quoted} (options of thin_box" in str(info.value)


@pytest.fixture()
def validator_logs_propagate():
    """`validator check` run in-process stops the ``validator`` logger from propagating; undo it for this test
    (before the test body runs, so that pytest does not also attach its capture handler to that logger)."""
    logger = logging.getLogger("validator")
    old, logger.propagate = logger.propagate, True
    yield
    logger.propagate = old


def test_the_shadow_counters_quoted_in_step_5(tutorial_files, validator_logs_propagate, caplog):
    """Shadow issues are counted under the names the tutorial gives (log by_rule key, metrics counter)."""
    from validator.engine.engine import Engine
    from validator.service.metrics import Metrics

    shadow = next(b.text for b in blocks() if b.file == "validator.toml" and 'level = "shadow"' in b.text)
    (tutorial_files / "shadow.toml").write_text(shadow)
    engine = Engine(load_config(tutorial_files / "shadow.toml"))
    with caplog.at_level(logging.INFO, logger="validator.engine"):
        result = engine.validate(json.loads((tutorial_files / "saved" / "street-0001.json").read_text()))
    [record] = [r for r in caplog.records if r.getMessage() == "shadow issues"]
    assert (record.task_id, record.project) == ("street-0001", "acme-street-scenes")
    assert record.shadow == [{"rule": "thin_box", "uuid": "car-2", "errorType": "thin_box"}]
    assert result.answer["pass"] is True and result.answer["issues"] == {}
    assert result.counts()["by_rule"] == {"thin_box:shadow": 1}
    metrics = Metrics()
    metrics.observe_validation(result, 1.0)
    assert 'validator_issues_total{level="shadow",rule="thin_box",' in metrics.render()
    doc = DOC.read_text()
    assert '`{"rule": "thin_box", "uuid": "car-2", "errorType": "thin_box"}`' in doc
    assert '`"thin_box:shadow": 1`' in doc and '`validator_issues_total{level="shadow",rule="thin_box"}`' in doc


def _headlight_scene(cars: int) -> dict:
    """``cars`` car boxes on a grid, two headlights in each, and a stray headlight outside every car."""
    from validator.testing import box, make_body, make_task, point

    anns = []
    side = int(cars ** 0.5) + 1
    for k in range(cars):
        x, y = (k % side) * 100.0, (k // side) * 60.0
        anns += [box(x, y, 80, 40, label="car"), point(x + 5, y + 30, label="headlight"),
                 point(x + 75, y + 30, label="headlight")]
    anns.append(point(-50, -50, label="headlight", uuid="stray"))
    task = make_task(width=side * 100, height=side * 60,
                     geometries={"box": {"objects_to_annotate": ["car"]}, "point": {"objects_to_annotate":
                                                                                    ["headlight"]}})
    return make_body(anns, task)


def test_the_headlight_rule_stays_near_linear(tutorial_files):
    """The tutorial's two-label rule, scoped to headlights: its work (candidate point-in-box pairs, counted by the
    engine) grows with the number of headlights, from 1,000 to 10,000 annotations; no pairwise blow-up."""
    import orjson

    from validator.engine.engine import Engine

    (tutorial_files / "headlights.toml").write_text(
        '[engine]\nbuiltin_rules = "configured"\nplugins = ["acme_rules.headlights"]\n\n'
        '[[rule]]\nid = "headlight_outside_car"\nlevel = "error"\nlabels = ["headlight"]\n')
    engine = Engine(load_config(tutorial_files / "headlights.toml"))
    work = {}
    for cars in (333, 3333):  # ~1,000 and ~10,000 annotations
        result = engine.validate_bytes(orjson.dumps(_headlight_scene(cars)))
        assert not result.rule_failures and not result.budget_exhausted
        assert [i.uuid for i in result.issues] == ["stray"]  # scoped to headlights, yet it sees every car
        headlights = 2 * cars + 1
        work[cars] = result.stats["point_candidates"]
        assert work[cars] <= 2 * headlights, work  # about one candidate car per headlight
    assert work[3333] <= 12 * work[333]


def test_the_shared_analysis_of_the_reference_is_computed_once(tutorial_files):
    from acme_rules.label_counts import label_counts

    from validator.engine.context import Context
    from validator.scale.annotations import extract
    from validator.scale.task import TaskSpec
    from validator.testing import box, make_task, point

    raw = [{"uuid": "a", **box(0, 0, 5, 5, label="car")}, {"uuid": "b", **point(1, 1, label="headlight")}]
    ctx = Context(TaskSpec.from_task(make_task()), extract(raw), {"annotations": raw})
    assert label_counts(ctx) is label_counts(ctx)
    assert label_counts(ctx) == {"car": 1, "headlight": 1}
