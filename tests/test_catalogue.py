"""The rule catalogue: ``validator rules [ID]`` and the generated docs/rules.md (which must not go stale)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from validator.engine.catalogue import catalogue_markdown
from validator.cli.main import main
from validator.engine.config import load_config

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
REGENERATE = ".venv/bin/python -m validator rules --markdown > docs/rules.md"
PLUGIN_CONFIG = """
[engine]
plugins = ["tests.plugins.engine_rules"]
builtin_rules = "configured"

[[rule]]
id = "t_min_size"
name = "car_min_size"
labels = ["car"]
options = { min_size = 8 }

[[rule]]
id = "t_min_size"
name = "pedestrian_min_size"
level = "warn"
options = { min_size = 4 }

[[rule]]
id = "t_every"
level = "shadow"
"""


@pytest.fixture(autouse=True)
def no_env_config(monkeypatch):
    monkeypatch.delenv("VALIDATOR_CONFIG", raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["rules", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def plugin_config(tmp_path) -> str:
    path = tmp_path / "validator.toml"
    path.write_text(PLUGIN_CONFIG)
    return str(path)


def test_docs_rules_md_is_up_to_date(capsys):
    code, generated, _ = run(capsys, "--markdown")
    assert code == 0
    assert generated == catalogue_markdown(load_config(None).registry)
    committed = DOC.read_text() if DOC.exists() else ""
    assert committed == generated, f"docs/rules.md is stale: regenerate it with `{REGENERATE}` and commit it"


def test_catalogue_lists_every_rule_with_its_documentation(capsys):
    _, text, _ = run(capsys, "--markdown")
    registry = load_config(None).registry
    assert len(registry) > 0
    for r in registry:
        assert f"| [`{r.id}`](#{r.id}) | {r.level} |" in text
        assert f"## `{r.id}`\n\n{r.summary}\n" in text
        assert r.why in text
        for name, _, _, desc in r.option_fields():
            assert f"| `{name}` |" in text and desc in text
    headings = re.findall(r"^## `(\w+)`$", text, re.M)
    assert headings == sorted(headings)  # deterministic: by id


def test_every_rule_documents_itself():
    """What the catalogue is made of: a one-line summary, a why-text with an example, described options."""
    problems = []
    for r in load_config(None).registry:
        if "\n" in r.summary or not r.summary.endswith("."):
            problems.append(f"{r.id}: the summary must be one sentence on one line")
        if "example" not in r.why.lower():
            problems.append(f"{r.id}: the why-text must give an example")
        problems += [f"{r.id}: option {name} has no description (metadata={{'description': ...}})"
                     for name, _, _, desc in r.option_fields() if not desc]
    assert not problems, "\n".join(problems)


def test_rules_lists_id_level_geometries_summary_and_options(capsys, plugin_config):
    code, out, err = run(capsys, "--config", plugin_config)
    assert code == 0, err
    lines = out.splitlines()
    i = lines.index(next(ln for ln in lines if ln.startswith("t_min_size ")))
    assert lines[i].split() == ["t_min_size", "car_min_size=error,", "pedestrian_min_size=warn", "[box]"]
    assert lines[i + 1].strip() == "Box smaller than min_size."
    assert lines[i + 2].strip() == "instance car_min_size  error  labels car"
    assert lines[i + 3].strip() == "min_size = 8.0  (Float)"  # as configured, not the default 0.0
    assert lines[i + 4].strip() == "instance pedestrian_min_size  warn  everywhere"
    assert lines[i + 5].strip() == "min_size = 4.0  (Float)"
    every = next(ln for ln in lines if ln.startswith("t_every "))
    assert every.split() == ["t_every", "shadow", "[all]"]
    raises = next(ln for ln in lines if ln.startswith("t_raises "))
    assert raises.split() == ["t_raises", "off", "[all]"]  # registered, but no instance in this config
    n = len(load_config(plugin_config).registry)
    assert n == sum(1 for ln in lines[:-2] if ln and not ln.startswith(" "))  # one entry per rule
    assert lines[-1] == (f"{n} rules (config: {plugin_config}). Defaults are marked \"default\"; `validator rules ID` "
                         "shows one rule's documentation.")


def test_rules_with_the_default_config(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    for r in load_config(None).registry:
        assert re.search(rf"^{r.id} +{r.level} +\[", out, re.M), r.id
    assert out.rstrip().endswith("(config: built-in defaults). Defaults are marked \"default\"; `validator rules ID` "
                                 "shows one rule's documentation.")


def test_rules_id_shows_one_rules_full_documentation(capsys, plugin_config):
    code, out, _ = run(capsys, "t_min_size", "--config", plugin_config)
    assert code == 0
    assert out == """\
t_min_size
  Box smaller than min_size.

  default level: error   configured level: car_min_size=error, pedestrian_min_size=warn
  geometries:    box
  granularity:   per annotation
  needs image size: no
  defined in:    tests.plugins.engine_rules (config plugins)

  Why
    Test rule: flags small boxes.

  Options
    min_size (Float, default 0.0): smallest allowed width and height, px
"""


def test_rules_id_of_a_built_in_rule(capsys):
    code, out, _ = run(capsys, "malformed_annotation")
    assert code == 0
    assert out.startswith("malformed_annotation\n  An annotation that is not in Scale's format")
    assert "defined in:    validator_rules.annotation_format (built-in rule pack)" in out
    assert "max_listed (Integer, default 100)" in out
    code, out, _ = run(capsys, "attribute_wrong_type")
    assert code == 0 and "Options: none" in out


def test_unknown_rule_id_exits_2_with_did_you_mean(capsys):
    code, out, err = run(capsys, "malformed_anotation")
    assert code == 2 and out == ""
    assert err == "validator: unknown rule 'malformed_anotation'; did you mean 'malformed_annotation'?\n"


def test_unknown_rule_id_without_a_close_match(capsys):
    code, _, err = run(capsys, "qqqqqqqq")
    assert code == 2 and err == ("validator: unknown rule 'qqqqqqqq'; rules of plugin modules are known only with "
                                 "the config that names them (--config FILE or $VALIDATOR_CONFIG, engine.plugins)\n")


def test_rules_with_a_bad_config_exits_2_naming_the_problem(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "malformed_anotation"\n')
    code, out, err = run(capsys, "--config", str(bad))
    assert code == 2 and out == ""
    assert err.startswith("validator: invalid configuration (1 problem):\n")
    assert "rule[1].id: unknown rule 'malformed_anotation'; did you mean 'malformed_annotation'?" in err


def test_rules_reads_validator_config_from_the_environment(capsys, monkeypatch, plugin_config):
    monkeypatch.setenv("VALIDATOR_CONFIG", plugin_config)
    code, out, _ = run(capsys, "t_every")
    assert code == 0 and "configured level: shadow" in out


def test_rules_shows_the_levels_of_per_project_overrides(capsys, tmp_path):
    path = tmp_path / "projects.toml"
    path.write_text(PLUGIN_CONFIG + '\n[[projects."acme".rule]]\nid = "t_min_size"\nname = "car_min_size"\n'
                                    'level = "shadow"\n\n[[projects."acme".rule]]\nid = "t_raises"\nlevel = "warn"\n'
                                    '\n[[projects."beta".rule]]\nid = "t_min_size"\nname = "car_min_size"\n'
                                    'options = { min_size = 2 }\n')
    code, out, _ = run(capsys, "--config", str(path))
    assert code == 0
    lines = out.splitlines()
    assert next(ln for ln in lines if ln.startswith("t_min_size ")).split() == [
        "t_min_size", "car_min_size=error,", "pedestrian_min_size=warn;", "acme:", "car_min_size=shadow", "[box]"]
    assert next(ln for ln in lines if ln.startswith("t_raises ")).split() == ["t_raises", "off;", "acme:", "warn",
                                                                             "[all]"]
    code, out, _ = run(capsys, "t_raises", "--config", str(path))
    assert "default level: error   configured level: off; acme: warn" in out
