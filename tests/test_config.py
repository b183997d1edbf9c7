"""Every configuration error, with the message an operator sees.

A problem stops start-up; the message names the file and the key (``rule[2] (t_min_size).options.min_size``),
says what is allowed, and offers a did-you-mean where a typo is likely. Several problems are reported at once.
"""
from __future__ import annotations

import pytest

from validator.engine.config import ConfigError, load_config

HEAD = '[engine]\nbuiltin_rules = "configured"\nplugins = ["tests.plugins.engine_rules"]\n'


def problems(tmp_path, text: str, *, head: bool = True) -> list[str]:
    """The problem lines of the ConfigError raised for this config text (the file name stripped)."""
    path = tmp_path / "validator.toml"
    path.write_text((HEAD if head else "") + text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message  # every message names the file
    lines = [ln.strip() for ln in message.splitlines()]
    if lines[0].startswith("invalid configuration"):
        lines = lines[1:]
    return [ln.removeprefix("- ").removeprefix(f"{path}: ") for ln in lines]


def only(tmp_path, text: str, **kw) -> str:
    found = problems(tmp_path, text, **kw)
    assert len(found) == 1, found
    return found[0]


def test_valid_config_loads(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(HEAD + '[[rule]]\nid = "t_min_size"\nname = "car"\nlabels = ["car"]\noptions = { min_size = 8 }\n')
    cfg = load_config(path)
    assert [(i.name, i.id, i.options["min_size"]) for i in cfg.instances] == [("car", "t_min_size", 8.0)]


def test_no_file_means_built_in_defaults():
    cfg = load_config(None)
    assert cfg.source == "built-in defaults" and cfg.failure_policy == "open"
    assert {i.id for i in cfg.instances} == {r.id for r in cfg.registry}  # every rule at its default level


# -- rule instances -------------------------------------------------------------------------------------------------
def test_unknown_rule_id_with_did_you_mean(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_min_siz"\n') == \
        "rule[1].id: unknown rule 't_min_siz'; did you mean 't_min_size'?"


def test_unknown_rule_id_without_a_close_match(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "zzzzzz"\n') == "rule[1].id: unknown rule 'zzzzzz'"


def test_missing_rule_id(tmp_path):
    assert only(tmp_path, '[[rule]]\nname = "x"\n') == \
        "rule[1].id: is required: the id of the rule to configure (see `validator rules`)"


def test_unknown_option_lists_the_rules_options(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_min_size"\noptions = { min_sise = 3 }\n') == (
        "rule[1] (t_min_size).options.min_sise: unknown option; did you mean 'min_size'? "
        "(options of t_min_size: min_size; see `validator rules t_min_size`)")


def test_option_given_to_a_rule_without_options(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_every"\noptions = { min_size = 3 }\n') == (
        "rule[1] (t_every).options.min_size: unknown option (options of t_every: none; see `validator rules "
        "t_every`)")


def test_bad_option_value_type(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_min_size"\noptions = { min_size = "eight" }\n') == \
        "rule[1] (t_min_size).options.min_size: Not a valid number (given: 'eight')"


def test_options_not_a_table(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_every"\noptions = 3\n') == "rule[1] (t_every).options: must be a table"


def test_bad_level(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_min_size"\nlevel = "warning"\n') == \
        "rule[1] (t_min_size).level: 'warning' is not one of error, warn, shadow, off"


def test_duplicate_instance_name(tmp_path):
    text = '[[rule]]\nid = "t_min_size"\n\n[[rule]]\nid = "t_every"\n\n[[rule]]\nid = "t_min_size"\n'
    assert only(tmp_path, text) == ("rule[3]: duplicate instance 't_min_size' of 't_min_size' (already defined "
                                    "at rule[1]); give one of them a distinct `name`")


def test_instance_name_colliding_with_another_rules_instance(tmp_path):
    text = '[[rule]]\nid = "t_min_size"\nname = "t_every"\n\n[[rule]]\nid = "t_every"\n'
    assert only(tmp_path, text) == ("rule[2]: instance name 't_every' is already used at rule[1] by an instance "
                                    "of 't_min_size'; instance names are unique across rules: choose another "
                                    "`name`")


def test_instance_name_colliding_with_a_default_instance(tmp_path):
    """With builtin_rules = "defaults" every rule has an instance named after it."""
    text = ('[engine]\nplugins = ["tests.plugins.engine_rules"]\n\n'
            '[[rule]]\nid = "t_min_size"\nname = "t_every"\n')
    assert only(tmp_path, text, head=False) == (
        "rule[1].name: 't_every' is already the name of an instance of 't_every'; instance names are unique "
        "across rules: choose another `name`")


def test_unknown_key_in_a_rule_entry(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_every"\nlables = ["car"]\n') == (
        "rule[1].lables: unknown key; did you mean 'labels'? "
        "(allowed: geometries, id, labels, level, name, options, projects)")


def test_bad_geometries_value(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_every"\ngeometries = ["boxes"]\n') == (
        "rule[1] (t_every).geometries: unknown value 'boxes'; did you mean 'box'? "
        "(known: box, polygon, line, point, cuboid, ellipse)")


def test_geometries_outside_the_rules_own(tmp_path):
    assert only(tmp_path, '[[rule]]\nid = "t_box_or_cuboid"\ngeometries = ["polygon", "box"]\n') == \
        "rule[1] (t_box_or_cuboid).geometries: polygon not checked by t_box_or_cuboid (it applies to box, cuboid)"


@pytest.mark.parametrize("value", ['[]', '[1, 2]', '3'])
def test_scope_lists_must_be_non_empty_lists_of_strings(tmp_path, value):
    assert only(tmp_path, f'[[rule]]\nid = "t_every"\nlabels = {value}\n') == \
        "rule[1] (t_every).labels: must be a non-empty list of strings"


def test_rule_not_an_array_of_tables(tmp_path):
    assert only(tmp_path, '[rule]\nid = "t_every"\n') == "rule: must be an array of tables: write [[rule]]"


# -- top level, [engine], [task] --------------------------------------------------------------------------------------
def test_unknown_top_level_key(tmp_path):
    assert only(tmp_path, '[engin]\nx = 1\n') == \
        "engin: unknown key; did you mean 'engine'? (allowed: engine, limits, projects, rule, task)"


def test_unknown_engine_key(tmp_path):
    assert only(tmp_path, '[engine]\ntime_budget = 3\n', head=False) == (
        "engine.time_budget: unknown key; did you mean 'time_budget_ms'? "
        "(allowed: builtin_rules, failure_policy, plugins, time_budget_ms)")


def test_unknown_task_key(tmp_path):
    assert only(tmp_path, '[task]\nimage_width = "w"\n') == (
        "task.image_width: unknown key; did you mean 'image_width_key'? "
        "(allowed: conditions_mode, image_height_key, image_width_key)")


def test_bad_failure_policy(tmp_path):
    assert only(tmp_path, '[engine]\nfailure_policy = "fail-open"\n', head=False) == \
        "engine.failure_policy: 'fail-open' is not one of open, closed"


@pytest.mark.parametrize("value", ['"fast"', "0", "-5", "600000", "true"])
def test_bad_time_budget(tmp_path, value):
    found = only(tmp_path, f"[engine]\ntime_budget_ms = {value}\n", head=False)
    assert found.startswith("engine.time_budget_ms: must be a number of milliseconds between 1 and 60000, not ")


def test_bad_builtin_rules_and_plugins_and_conditions_mode(tmp_path):
    text = ('[engine]\nbuiltin_rules = "all"\nplugins = "tests.plugins.engine_rules"\n\n'
            '[task]\nconditions_mode = "xor"\n')
    assert problems(tmp_path, text, head=False) == [
        "engine.builtin_rules: 'all' is not one of defaults, configured",
        "engine.plugins: must be a list of module names",
        "task.conditions_mode: 'xor' is not one of and, or",
    ]


def test_invalid_toml_names_line_and_column(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[engine]\nfailure_policy = "open"\n\n[[rule]]\nid = "t_every\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: not valid TOML: Illegal character '\\n' (at line 5, column 14)"


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: config file not found (check the path given in VALIDATOR_CONFIG or --config)"


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)  # a directory
    assert str(info.value).startswith(f"{tmp_path}: cannot read config file: ")


# -- rule discovery -----------------------------------------------------------------------------------------------
def test_plugin_module_that_fails_to_import(tmp_path):
    found = only(tmp_path, '[engine]\nplugins = ["tests.plugins.broken_import"]\n', head=False)
    assert found.startswith("engine.plugins: rule module 'tests.plugins.broken_import' (config plugins) failed to "
                            "import: ImportError: cannot import name 'no_such_name' from 'validator'")


def test_plugin_module_that_does_not_exist(tmp_path):
    assert only(tmp_path, '[engine]\nplugins = ["tests.plugins.nope"]\n', head=False) == (
        "engine.plugins: rule module 'tests.plugins.nope' (config plugins) failed to import: "
        "ModuleNotFoundError: No module named 'tests.plugins.nope'")


def test_rule_id_collision_between_two_plugins(tmp_path):
    text = '[engine]\nplugins = ["tests.plugins.dup_a", "tests.plugins.dup_b"]\n'
    assert only(tmp_path, text, head=False) == (
        "engine.plugins: rule id 't_duplicate' is defined twice: in tests.plugins.dup_a (config plugins) and in "
        "tests.plugins.dup_b (config plugins); rule ids must be unique")


def test_rule_id_collision_with_the_built_in_pack(tmp_path):
    (tmp_path / "shadowing_rules.py").write_text(
        "from validator import Issue, rule\n\n"
        "@rule(id='malformed_annotation', summary='mine', why='mine')\n"
        "def mine(ann, ctx, opts):\n    yield Issue.on(ann)\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        found = only(tmp_path, '[engine]\nplugins = ["shadowing_rules"]\n', head=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shadowing_rules", None)
    assert found == ("engine.plugins: rule id 'malformed_annotation' is defined twice: in "
                     "validator_rules.annotation_format (built-in rule pack) and in shadowing_rules (config plugins); "
                     "rule ids must be unique")


def test_the_same_module_twice_is_not_a_collision(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text('[engine]\nplugins = ["tests.plugins.engine_rules", "tests.plugins.engine_rules"]\n')
    assert load_config(path).registry.get("t_every") is not None


# -- projects -------------------------------------------------------------------------------------------------------
def test_project_image_size_needs_both(tmp_path):
    assert only(tmp_path, '[projects."p"]\nimage_width = 640\n') == \
        "projects.\"p\": image_width and image_height must be given together"


def test_project_image_size_must_be_positive_numbers(tmp_path):
    assert only(tmp_path, '[projects."p"]\nimage_width = -5\nimage_height = "x"\n') == \
        "projects.\"p\": image_width and image_height must be positive numbers (given: -5, 'x')"


def test_unknown_project_key(tmp_path):
    assert only(tmp_path, '[projects."p"]\nimage_widht = 5\n') == \
        "projects.\"p\".image_widht: unknown key; did you mean 'image_width'? " \
        "(allowed: image_height, image_width, rule)"


def test_projects_not_a_table(tmp_path):
    assert only(tmp_path, 'projects = 3\n' + HEAD, head=False) == \
        "projects: must be a table of projects: write [projects.\"name\"]"


def test_project_not_a_table(tmp_path):
    assert only(tmp_path, '[projects]\np = 3\n') == "projects.\"p\": must be a table"


def test_project_rule_errors_name_the_project(tmp_path):
    text = ('[[projects."p".rule]]\nid = "t_min_siz"\n\n[[projects."p".rule]]\nid = "t_every"\nprojects = ["q"]\n'
            '\n[[projects."p".rule]]\nid = "t_every"\n')
    assert problems(tmp_path, text) == [
        "projects.\"p\".rule[1].id: unknown rule 't_min_siz'; did you mean 't_min_size'?",
        "projects.\"p\".rule[2].projects: not allowed here: this override already applies to project 'p' only",
        "projects.\"p\".rule[3]: duplicate instance 't_every' of 't_every' "
        "(already defined at projects.\"p\".rule[2]); give one of them a distinct `name`",
    ]


def test_project_rule_not_an_array(tmp_path):
    assert only(tmp_path, '[projects."p".rule]\nid = "t_every"\n') == \
        "projects.\"p\".rule: must be an array of tables: write [[projects.\"name\".rule]]"


def test_project_override_with_a_bad_inherited_option_override(tmp_path):
    text = ('[[rule]]\nid = "t_min_size"\nname = "car"\noptions = { min_size = 8 }\n\n'
            '[[projects."p".rule]]\nid = "t_min_size"\nname = "car"\noptions = { min_size = "big" }\n')
    assert only(tmp_path, text) == ("projects.\"p\".rule[1] (t_min_size).options.min_size: "
                                    "Not a valid number (given: 'big')")


# -- all at once -----------------------------------------------------------------------------------------------------
def test_several_problems_are_reported_at_once(tmp_path):
    text = ('[engine]\nbuiltin_rules = "configured"\nplugins = ["tests.plugins.engine_rules"]\n'
            'failure_policy = "shut"\ntime_budget_ms = 0\n\n[tsak]\n\n'
            '[[rule]]\nid = "t_min_siz"\n\n'
            '[[rule]]\nid = "t_min_size"\nlevel = "loud"\noptions = { min_size = "x", max = 3 }\n\n'
            '[projects."p"]\nimage_width = 10\n')
    path = tmp_path / "validator.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith("invalid configuration (8 problems):\n")
    for expected in ["tsak: unknown key; did you mean 'task'?",
                     "engine.failure_policy: 'shut' is not one of open, closed",
                     "engine.time_budget_ms: must be a number",
                     "rule[1].id: unknown rule 't_min_siz'; did you mean 't_min_size'?",
                     "rule[2] (t_min_size).level: 'loud' is not one of error, warn, shadow, off",
                     "rule[2] (t_min_size).options.min_size: Not a valid number (given: 'x')",
                     "rule[2] (t_min_size).options.max: unknown option",
                     "projects.\"p\": image_width and image_height must be given together"]:
        assert f"  - {path}: {expected}" in message, expected
