"""The engine end to end, with real geometry and the tiny rules of tests/plugins/engine_rules.py.

Covers levels, scope (labels, geometry types, projects), per-project overrides, per-annotation vs per-task rules,
failure isolation under both failure policies, the time budget, bad rule output, determinism and the image size.
"""
from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from validator.engine.config import load_config
from validator.engine.engine import INCOMPLETE, INCOMPLETE_TEXT, Engine
from validator.testing import box, cuboid, ellipse, line, make_body, make_task, point, polygon

PLUGIN = "tests.plugins.engine_rules"
# hypothesis (loaded by other tests) runs Python in a gc callback; a budget alarm landing there cannot interrupt
# the rule (which then finishes and counts as finished) and pytest reports the lost exception as "unraisable"
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def engine(tmp_path, rules: str = "", *, policy: str = "open", budget_ms: float | None = None,
           extra: str = "") -> Engine:
    text = (f'[engine]\nbuiltin_rules = "configured"\nfailure_policy = "{policy}"\nplugins = ["{PLUGIN}"]\n'
            + (f"time_budget_ms = {budget_ms}\n" if budget_ms is not None else "") + extra + "\n" + rules)
    path = tmp_path / "validator.toml"
    path.write_text(text)
    return Engine(load_config(path))


def issues_of(result, level=None):
    return [(i.instance, i.uuid, i.level) for i in result.issues if level is None or i.level == level]


@pytest.fixture()
def engine_logs(caplog):
    """Engine log records, even when another test silenced the ``validator`` logger (validator check does)."""
    logger = logging.getLogger("validator")
    old = logger.propagate
    logger.propagate = True
    caplog.set_level(logging.DEBUG, logger="validator")
    yield caplog
    logger.propagate = old


# -- levels ------------------------------------------------------------------------------------------------------
LEVELS = """
[[rule]]
id = "t_min_size"
name = "small_error"
level = "error"
options = { min_size = 10 }

[[rule]]
id = "t_min_size"
name = "small_warn"
level = "warn"
options = { min_size = 20 }

[[rule]]
id = "t_min_size"
name = "small_shadow"
level = "shadow"
options = { min_size = 30 }

[[rule]]
id = "t_every"
name = "every_off"
level = "off"
"""


def test_levels_error_warn_shadow_off(tmp_path):
    eng = engine(tmp_path, LEVELS)
    # 25 px: only the shadow instance (min 30) flags it -> nothing returned, pass
    r = eng.validate(make_body([box(0, 0, 25, 25)]))
    assert r.answer == {"pass": True, "issues": {}, "globalIssues": []}
    assert issues_of(r) == [("small_shadow", "a1", "shadow")]  # computed and kept for logs/metrics
    assert r.counts()["by_level"] == {"shadow": 1}
    assert r.counts()["by_rule"] == {"small_shadow:shadow": 1}
    # 15 px: warn (min 20) is returned, pass stays true
    r = eng.validate(make_body([box(0, 0, 15, 15)]))
    assert r.answer["pass"] is True
    assert [i["errorType"] for i in r.answer["issues"]["a1"]] == ["t_min_size"]
    assert r.answer["issues"]["a1"][0]["extra"] == "15x15 < 20"
    assert sorted(issues_of(r)) == [("small_shadow", "a1", "shadow"), ("small_warn", "a1", "warn")]
    # 5 px: error (blocks) and warn are returned; shadow is not
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert r.answer["pass"] is False
    assert [i["extra"] for i in r.answer["issues"]["a1"]] == ["5x5 < 10", "5x5 < 20"]
    assert r.counts()["by_level"] == {"error": 1, "warn": 1, "shadow": 1}
    # off: never run
    assert all(i.instance != "every_off" for i in r.issues)
    assert "rule:every_off" not in r.stages_ms
    assert "rule:small_shadow" in r.stages_ms


def test_shadow_issues_are_logged_without_labeler_text(tmp_path, engine_logs):
    eng = engine(tmp_path, LEVELS)
    eng.validate(make_body([box(0, 0, 25, 25), box(0, 0, 50, 50), box(0, 0, 1, 1, uuid="tiny")],
                           make_task(project="trial")))
    [rec] = [r for r in engine_logs.records if r.getMessage() == "shadow issues"]
    assert (rec.task_id, rec.project, rec.count) == ("0123456789abcdef01234567", "trial", 2)
    # enough to find each finding again (instance, rule, uuid, errorType, locations); never the labeler text
    assert rec.shadow == [{"instance": "small_shadow", "rule": "t_min_size", "uuid": "a1", "errorType": "t_min_size",
                           "locations": [{"x": 0.0, "y": 0.0}]},
                          {"instance": "small_shadow", "rule": "t_min_size", "uuid": "tiny",
                           "errorType": "t_min_size", "locations": [{"x": 0.0, "y": 0.0}]}]
    assert "25x25" not in repr(rec.__dict__)
    engine_logs.clear()
    eng.validate(make_body([box(0, 0, 50, 50)]))
    assert not [r for r in engine_logs.records if r.getMessage() == "shadow issues"]


def test_default_level_comes_from_the_rule(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_min_size"\noptions = { min_size = 10 }\n')
    assert eng.config.instances[0].level == "error"
    assert eng.validate(make_body([box(0, 0, 5, 5)])).answer["pass"] is False


# -- scope --------------------------------------------------------------------------------------------------------
TWO_INSTANCES = """
[[rule]]
id = "t_min_size"
name = "car_min_size"
labels = ["car"]
options = { min_size = 8 }

[[rule]]
id = "t_min_size"
name = "pedestrian_min_size"
labels = ["pedestrian"]
options = { min_size = 4 }
"""


def test_two_instances_of_one_rule_with_different_labels_and_options(tmp_path):
    eng = engine(tmp_path, TWO_INSTANCES)
    body = make_body([
        box(0, 0, 6, 6, label="car"),         # a1: < 8 -> flagged by car_min_size
        box(10, 10, 6, 6, label="pedestrian"),  # a2: >= 4 -> fine
        box(20, 20, 3, 9, label="pedestrian"),  # a3: < 4 -> flagged by pedestrian_min_size
        box(30, 30, 9, 9, label="car"),        # a4: fine
        box(40, 40, 1, 1, label="truck"),      # a5: no instance applies to trucks
    ])
    r = eng.validate(body)
    assert issues_of(r) == [("car_min_size", "a1", "error"), ("pedestrian_min_size", "a3", "error")]
    assert r.answer == {
        "pass": False,
        "issues": {
            "a1": [{"errorType": "t_min_size", "locations": [{"x": 0.0, "y": 0.0}], "extra": "6x6 < 8"}],
            "a3": [{"errorType": "t_min_size", "locations": [{"x": 20.0, "y": 20.0}], "extra": "3x9 < 4"}],
        },
        "globalIssues": [],
    }


MIXED = [box(0, 0, 10, 10), polygon([(0, 0), (10, 0), (5, 5)]), line([(0, 0), (3, 3)]), point(1, 2),
         cuboid(50, 50, 20, 20)]


def test_geometry_scope_narrows_a_rule_for_all_types(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_every"\ngeometries = ["polygon", "point"]\n')
    r = eng.validate(make_body(MIXED))
    assert issues_of(r) == [("t_every", "a2", "error"), ("t_every", "a4", "error")]
    assert eng.config.instances[0].geometries == ("polygon", "point")


def test_geometry_scope_narrows_a_rule_with_its_own_types(tmp_path):
    wide = engine(tmp_path, '[[rule]]\nid = "t_box_or_cuboid"\n')
    assert [u for _, u, _ in issues_of(wide.validate(make_body(MIXED)))] == ["a1", "a5"]
    narrow = engine(tmp_path, '[[rule]]\nid = "t_box_or_cuboid"\ngeometries = ["cuboid"]\n')
    assert [u for _, u, _ in issues_of(narrow.validate(make_body(MIXED)))] == ["a5"]


def test_labels_and_geometries_combine(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_every"\ngeometries = ["box"]\nlabels = ["car"]\n')
    body = make_body([box(0, 0, 5, 5, label="car"), box(0, 0, 5, 5, label="bus"), polygon(
        [(0, 0), (4, 0), (0, 4)], label="car")])
    assert [u for _, u, _ in issues_of(eng.validate(body))] == ["a1"]


def test_project_scope_of_an_instance(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_every"\nprojects = ["p1", "p2"]\n')
    assert issues_of(eng.validate(make_body([point(1, 1)], make_task(project="p2"))))
    assert not issues_of(eng.validate(make_body([point(1, 1)], make_task(project="other"))))


# -- per-project overrides --------------------------------------------------------------------------------------
OVERRIDES = TWO_INSTANCES + """
[[projects."lenient".rule]]
id = "t_min_size"
name = "car_min_size"
level = "warn"

[[projects."strict".rule]]
id = "t_min_size"
name = "car_min_size"
options = { min_size = 20 }

[[projects."strict".rule]]
id = "t_every"
name = "strict_points"
geometries = ["point"]

[[projects."quiet".rule]]
id = "t_min_size"
name = "pedestrian_min_size"
level = "off"
"""


def test_per_project_overrides(tmp_path):
    eng = engine(tmp_path, OVERRIDES)
    anns = [box(0, 0, 6, 6, label="car"), box(0, 0, 10, 10, label="car"), box(0, 0, 3, 3, label="pedestrian"),
            point(1, 1)]

    def run(project):
        return eng.validate(make_body(anns, make_task(project=project)))

    # no override: the base instances
    r = run("anything")
    assert issues_of(r) == [("car_min_size", "a1", "error"), ("pedestrian_min_size", "a3", "error")]
    # lenient: car_min_size becomes warn, keeping its labels and options (only the level was overridden)
    r = run("lenient")
    assert issues_of(r) == [("car_min_size", "a1", "warn"), ("pedestrian_min_size", "a3", "error")]
    # strict: car_min_size keeps level and labels, its min_size becomes 20; a project-only instance is added
    r = run("strict")
    assert issues_of(r) == [("car_min_size", "a1", "error"), ("car_min_size", "a2", "error"),
                            ("pedestrian_min_size", "a3", "error"), ("strict_points", "a4", "error")]
    assert "10x10 < 20" in [i.extra for i in r.issues]
    # quiet: an instance turned off for one project only
    r = run("quiet")
    assert issues_of(r) == [("car_min_size", "a1", "error")]
    # the project-only instance does not leak into other projects
    assert all(i.instance != "strict_points" for i in run("lenient").issues)


# -- granularity ------------------------------------------------------------------------------------------------
def test_task_rule_sees_the_whole_selection_once(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_task_summary"\ngeometries = ["box", "point"]\n')
    r = eng.validate(make_body([box(0, 0, 5, 5), line([(0, 0), (1, 1)]), point(3, 3), box(1, 1, 2, 2)]))
    assert [(i.uuid, i.extra) for i in r.issues] == [(None, "3: a1,a3,a4 positions=[0, 2, 3]")]
    assert r.answer["globalIssues"] == [{"errorType": "t_task_summary", "extra": "3: a1,a3,a4 positions=[0, 2, 3]"}]


def test_task_rule_runs_on_an_empty_selection(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_task_summary"\ngeometries = ["ellipse"]\n')
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert [i.extra for i in r.issues] == ["0:  positions=[]"]


def test_annotation_rule_is_called_per_matching_annotation(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_every"\n')
    r = eng.validate(make_body(MIXED))
    assert [i.uuid for i in r.issues] == ["a1", "a2", "a3", "a4", "a5"]
    assert [i.extra for i in r.issues] == ["box", "polygon", "line", "point", "cuboid"]


# -- failures -----------------------------------------------------------------------------------------------------
FAILING = """
[[rule]]
id = "t_raises"

[[rule]]
id = "t_min_size"
level = "warn"
options = { min_size = 10 }
"""


def test_rule_that_raises_open_policy(tmp_path, engine_logs):
    eng = engine(tmp_path, FAILING, policy="open")
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert r.rule_failures == ["t_raises"]
    assert r.answer["pass"] is True  # the crashed rule is skipped
    assert issues_of(r) == [("t_min_size", "a1", "warn")]  # the others are still reported
    assert all("partial" not in (i.extra or "") for i in r.issues)  # a crashed rule's partial output is dropped
    failures = [rec for rec in engine_logs.records if rec.getMessage() == "rule failed"]
    assert len(failures) == 1 and failures[0].exc_info is not None  # logged with its traceback, server-side
    assert failures[0].rule == "t_raises"


def test_rule_that_raises_closed_policy(tmp_path):
    eng = engine(tmp_path, FAILING, policy="closed")
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert r.rule_failures == ["t_raises"]
    answer = r.answer
    assert answer["pass"] is False
    assert answer["globalIssues"] == [{"errorType": INCOMPLETE, "extra": INCOMPLETE_TEXT}]
    assert answer["issues"]["a1"][0]["errorType"] == "t_min_size"  # other rules still reported
    text = json.dumps(answer)
    for internal in ("secret", "/srv", "RuntimeError", "Traceback", "t_raises", "partial"):
        assert internal not in text


@pytest.mark.parametrize("level", ["warn", "shadow"])
def test_closed_policy_ignores_failures_of_non_blocking_instances(tmp_path, level):
    """A warn or shadow rule can never block a task, so its crash must not block one either (shadow mode is for
    trying a rule on live traffic safely)."""
    eng = engine(tmp_path, f'[[rule]]\nid = "t_raises"\nlevel = "{level}"\n', policy="closed")
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert r.rule_failures == ["t_raises"]  # still counted
    assert r.answer == {"pass": True, "issues": {}, "globalIssues": []}


def test_rule_yielding_a_non_issue_is_a_rule_failure(tmp_path, engine_logs):
    rules = '[[rule]]\nid = "t_not_issue"\n\n[[rule]]\nid = "t_every"\n'
    r = engine(tmp_path, rules).validate(make_body([point(1, 1)]))
    assert r.rule_failures == ["t_not_issue"]
    assert issues_of(r) == [("t_every", "a1", "error")]
    assert any("not an Issue" in str(rec.exc_info[1]) for rec in engine_logs.records if rec.exc_info)
    r = engine(tmp_path, rules, policy="closed").validate(make_body([point(1, 1)]))
    assert r.answer["globalIssues"] == [{"errorType": INCOMPLETE, "extra": INCOMPLETE_TEXT}]
    assert "dict_instead_of_issue" not in json.dumps(r.answer)


def test_issue_on_a_uuid_not_in_the_request_becomes_global(tmp_path):
    r = engine(tmp_path, '[[rule]]\nid = "t_foreign_uuid"\n').validate(make_body([point(1, 1)]))
    assert r.answer == {"pass": False, "issues": {}, "globalIssues": [
        {"errorType": "t_foreign_uuid", "locations": [{"x": 3.0, "y": 4.0}], "extra": "foreign"}]}


# -- time budget ---------------------------------------------------------------------------------------------------
SLOW = """
[[rule]]
id = "t_sleeps"
options = { seconds = 5 }

[[rule]]
id = "t_min_size"
options = { min_size = 10 }
"""


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_rule_sleeping_past_the_budget_never_gives_a_pass(tmp_path, engine_logs, policy):
    """Work cut by the budget is not a rule bug: whatever the failure policy, the task does not pass while an
    error-level instance did not finish, and a neutral global issue names what could not be checked."""
    eng = engine(tmp_path, SLOW, budget_ms=200, policy=policy)
    t0 = time.monotonic()
    r = eng.validate(make_body([box(0, 0, 5, 5), box(0, 0, 50, 50)]))
    elapsed = time.monotonic() - t0
    assert elapsed < 2.5, "the sleeping rule was not interrupted"  # the sleep alone would take 5 s
    assert r.budget_exhausted
    # the cheap (per-annotation) rule ran first, although configured second; the slow one did not finish
    assert r.skipped == ["t_sleeps: time budget exhausted"]
    answer = r.answer
    assert answer["pass"] is False
    assert answer["issues"] == {"a1": [{"errorType": "t_min_size", "locations": [{"x": 0.0, "y": 0.0}],
                                        "extra": "5x5 < 10"}]}
    [incomplete] = answer["globalIssues"]
    assert incomplete["errorType"] == INCOMPLETE
    assert "could not be completed" in incomplete["extra"] and "t_sleeps" in incomplete["extra"]
    assert "Traceback" not in incomplete["extra"] and "budget" not in incomplete["extra"]
    assert any(rec.getMessage() == "time budget exhausted; rules not completed" for rec in engine_logs.records)


def test_budget_spent_between_rules_skips_the_later_ones(tmp_path):
    """Off the main thread no alarm can interrupt a rule: the budget is then checked between rules."""
    rules = SLOW.replace("seconds = 5", "seconds = 0.3") + '\n[[rule]]\nid = "t_task_summary"\n'
    eng = engine(tmp_path, rules, budget_ms=100, policy="open")
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", eng.validate(make_body([box(0, 0, 5, 5)]))))
    t.start()
    t.join(10)
    r = out["r"]
    assert r.budget_exhausted
    assert r.skipped == ["t_task_summary: time budget exhausted"]  # the slow rule finished, the next did not run
    assert sorted(i.extra.split(" ")[0] for i in r.issues if i.error_type != INCOMPLETE) == ["5x5", "slept"]
    assert r.answer["pass"] is False and INCOMPLETE in [i["errorType"] for i in r.answer["globalIssues"]]
    # the same slow rule, with a generous budget: everything runs
    eng = engine(tmp_path, rules, budget_ms=5000)
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert not r.budget_exhausted and len(r.issues) == 3


def test_the_alarm_is_disarmed_and_the_handler_restored(tmp_path):
    import signal

    before = signal.getsignal(signal.SIGALRM)
    eng = engine(tmp_path, SLOW, budget_ms=100)
    eng.validate(make_body([box(0, 0, 5, 5)]))
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# -- determinism --------------------------------------------------------------------------------------------------
def test_same_input_same_answer_and_request_order(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_reverse"\n\n[[rule]]\nid = "t_foreign_uuid"\n\n'
                           '[[rule]]\nid = "t_every"\n')
    anns = [point(5, 5, uuid="zz"), point(1, 1, uuid="aa"), box(0, 0, 3, 3, uuid="mm")]
    first = eng.validate(make_body(anns))
    second = eng.validate(make_body(anns))
    assert json.dumps(first.answer) == json.dumps(second.answer)
    answer = first.answer
    assert list(answer["issues"]) == ["zz", "aa", "mm"]  # request order, not the order rules yielded them
    assert [i["errorType"] for i in answer["issues"]["aa"]] == ["t_every", "t_reverse_a", "t_reverse_b"]
    assert answer["issues"]["aa"][2]["locations"] == [{"x": 2.0, "y": 2.0}, {"x": 1.0, "y": 1.0}]  # kept as given
    assert [(i.uuid, i.error_type) for i in first.issues] == [(i.uuid, i.error_type) for i in second.issues]


# -- image size ------------------------------------------------------------------------------------------------------
def test_unknown_image_size_skips_rules_that_need_it(tmp_path, engine_logs):
    eng = engine(tmp_path, '[[rule]]\nid = "t_image_size"\n\n[[rule]]\nid = "t_every"\n')
    r = eng.validate(make_body([point(1, 1)], make_task(width=None, height=None)))
    assert issues_of(r) == [("t_every", "a1", "error")]
    assert r.skipped == ["t_image_size: image size unknown"]
    assert any(rec.getMessage().startswith("image size unknown") for rec in engine_logs.records)
    r = eng.validate(make_body([point(1, 1)], make_task(width=640, height=480)))
    assert [i.extra for i in r.issues if i.uuid is None] == ["640x480"]


# -- attributes --------------------------------------------------------------------------------------------------------
def test_rules_of_attributes_run_only_when_attributes_are_in_play(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_attributes"\n')
    plain = make_task()
    plain["params"].pop("annotation_attributes", None)
    declared = make_task()
    declared["params"]["annotation_attributes"] = {"occluded": {"type": "category", "choices": ["yes", "no"]}}
    texts = lambda r: [i.extra for i in r.issues if i.rule_id == "t_attributes"]  # noqa: E731
    assert texts(eng.validate(make_body([point(1, 1)], plain))) == []  # nothing to check: not called
    assert texts(eng.validate(make_body([point(1, 1)], declared))) == ["0 with attributes"]  # declared by the task
    given = point(1, 1)
    given["attributes"] = {"occluded": "yes"}
    assert texts(eng.validate(make_body([point(2, 2), given], plain))) == ["1 with attributes"]  # on an annotation
    body = make_body([point(1, 1)], plain)
    body["response"]["global_attributes"] = {"weather": "rain"}
    assert texts(eng.validate(body)) == ["0 with attributes"]  # on the image


def test_image_size_from_the_project_config(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_image_size"\n\n[projects."cam"]\nimage_width = 1920\n'
                           'image_height = 1080\n')
    r = eng.validate(make_body([point(1, 1)], make_task(width=None, height=None, project="cam")))
    assert [i.extra for i in r.issues] == ["1920x1080"]
    r = eng.validate(make_body([point(1, 1)], make_task(width=800, height=600, project="cam")))
    assert [i.extra for i in r.issues] == ["800x600"]  # the task's own metadata wins
    r = eng.validate(make_body([point(1, 1)], make_task(width=None, height=None, project="other")))
    assert not r.issues and r.skipped == ["t_image_size: image size unknown"]


def test_other_task_types_are_not_validated(tmp_path):
    eng = engine(tmp_path, '[[rule]]\nid = "t_every"\n')
    body = make_body([point(1, 1)])
    body["task"]["type"] = "videoannotation"
    r = eng.validate(body)
    assert r.answer == {"pass": True, "issues": {}, "globalIssues": []}


def test_named_instances_run_beside_the_default_instance_unless_it_is_turned_off(tmp_path):
    """builtin_rules = "defaults": the instance named after the rule keeps running beside named ones."""
    base = f'[engine]\nplugins = ["{PLUGIN}"]\n\n' + TWO_INSTANCES
    (tmp_path / "a.toml").write_text(base)
    names = [i.name for i in Engine(load_config(tmp_path / "a.toml")).config.instances if i.id == "t_min_size"]
    assert names == ["t_min_size", "car_min_size", "pedestrian_min_size"]
    (tmp_path / "b.toml").write_text(base + '\n[[rule]]\nid = "t_min_size"\nlevel = "off"\n')
    eng = Engine(load_config(tmp_path / "b.toml"))
    running = [i.name for i in eng.config.instances_for("any") if i.id == "t_min_size"]
    assert running == ["car_min_size", "pedestrian_min_size"]


def test_closed_policy_budget_overrun_of_only_non_blocking_instances_does_not_fail(tmp_path):
    rules = ('[[rule]]\nid = "t_min_size"\noptions = { min_size = 1 }\n\n'
             '[[rule]]\nid = "t_sleeps"\nlevel = "shadow"\noptions = { seconds = 5 }\n\n'
             '[[rule]]\nid = "t_every"\nlevel = "warn"\n\n'
             '[[rule]]\nid = "t_task_summary"\nlevel = "warn"\n')
    eng = engine(tmp_path, rules, budget_ms=200, policy="closed")
    t0 = time.monotonic()
    r = eng.validate(make_body([box(0, 0, 5, 5)]))
    assert time.monotonic() - t0 < 2.5
    # cheapest first, then error before warn before shadow: the shadow rule on trial runs last
    assert r.budget_exhausted and r.skipped == ["t_sleeps: time budget exhausted"]
    assert [i.instance for i in r.issues] == ["t_every", "t_task_summary"]
    assert r.answer["pass"] is True  # the error-level rule did finish: no issue for the shadow rule


# -- the two entry points agree ------------------------------------------------------------------------------------
PATH_CASES = [
    (LEVELS, [box(0, 0, 5, 5), box(0, 0, 25, 25)], "p"),
    (TWO_INSTANCES, [box(0, 0, 6, 6, label="car"), box(20, 20, 3, 9, label="pedestrian")], "p"),
    (OVERRIDES, [box(0, 0, 6, 6, label="car"), box(0, 0, 10, 10, label="car"), point(1, 1)], "strict"),
    ('[[rule]]\nid = "t_every"\n', MIXED + [ellipse(50, 50, 10, 5), box(5, 5, 8, 4, rotation=0.3)], "p"),
    ('[[rule]]\nid = "t_task_summary"\ngeometries = ["box", "point"]\n', MIXED, "p"),
    ('[[rule]]\nid = "t_reverse"\n\n[[rule]]\nid = "t_foreign_uuid"\n', MIXED, "p"),
    (FAILING, [box(0, 0, 5, 5)], "p"),
    ('[[rule]]\nid = "t_every"\n', [box(0, 0, "x", 5), point(1, 1), {"type": "point"}], "p"),
]


@pytest.mark.parametrize("rules, anns, project", PATH_CASES, ids=[f"case{i}" for i in range(len(PATH_CASES))])
def test_validate_bytes_and_validate_give_the_same_result(tmp_path, rules, anns, project):
    """The service reads bytes (typed fast path when it can); tools and tests pass parsed bodies."""
    eng = engine(tmp_path, rules)
    body = make_body(anns, make_task(project=project))
    from_dict = eng.validate(json.loads(json.dumps(body)))
    from_bytes = eng.validate_bytes(json.dumps(body).encode())
    assert json.dumps(from_bytes.answer) == json.dumps(from_dict.answer)
    assert from_bytes.issues == from_dict.issues
    assert from_bytes.rule_failures == from_dict.rule_failures and from_bytes.skipped == from_dict.skipped
    assert from_dict.stats.get("fast_path") == from_bytes.stats.get("fast_path")  # validate(dict) reads the bytes


def test_well_formed_bodies_take_the_fast_path(tmp_path):
    """So that the comparison above really compares two paths."""
    eng = engine(tmp_path, '[[rule]]\nid = "t_every"\n')
    assert eng.validate_bytes(json.dumps(make_body(MIXED)).encode()).stats.get("fast_path") == 1
