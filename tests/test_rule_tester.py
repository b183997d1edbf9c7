"""RuleTester's own tests: it passes on exact matches and fails, with a clear message, on every kind of mistake."""
from __future__ import annotations

import math

import pytest

from validator.testing import (RuleTester, box, cuboid, ellipse, error, invalid, line, make_body, make_task, point,
                               polygon, valid)

PLUGINS = ["tests.plugins.engine_rules"]
tester = RuleTester("t_min_size", options={"min_size": 10}, plugins=PLUGINS)


def fails(case, match: str, t: RuleTester = tester) -> str:
    with pytest.raises(AssertionError, match=match) as info:
        t.check(case)
    return str(info.value)


# -- passing ----------------------------------------------------------------------------------------------------
test_exact_matches_pass = tester.pytest(
    valid=[
        valid("big enough", [box(0, 0, 10, 10)]),
        valid("other geometry types are not this rule's", [polygon([(0, 0), (1, 0), (0, 1)]), point(1, 1)]),
        valid("options per case", [box(0, 0, 5, 5)], options={"min_size": 5}),
    ],
    invalid=[
        invalid("too small", [box(3, 4, 5, 5)], errors=[error("a1", at=(3, 4))]),
        invalid("list of locations and message", [box(3, 4, 5, 6)],
                errors=[error("a1", at=[(3, 4)], message="5x6 < 10", error_type="t_min_size")]),
        invalid("several, in any order", [box(0, 0, 5, 50), box(0, 0, 50, 50), box(1, 1, 2, 2, uuid="z")],
                errors=[error("z", at=(1, 1)), error("a1", at=(0, 0))]),
        invalid("tolerance 1e-6", [box(0.1 + 0.2, 0, 1, 1)], errors=[error("a1", at=(0.3, 0))]),
    ],
)


def test_a_global_issue_without_location_needs_at_none():
    t = RuleTester("t_task_summary", plugins=PLUGINS)
    t.check(invalid("global", [point(1, 1)], errors=[error(None, at=None, message="1: a1")]))
    fails(invalid("global, at unspecified", [point(1, 1)], errors=[error(None)]),
          r"expected error on None must say where \(at=\[\.\.\.\], or at=None", t)


# -- table problems (found when the table is built) ---------------------------------------------------------------
def test_duplicate_case_names_fail():
    with pytest.raises(AssertionError, match="duplicate case name 'same'"):
        tester.pytest(valid=[valid("same", [box(0, 0, 10, 10)])],
                      invalid=[invalid("same", [box(0, 0, 1, 1)], errors=[error("a1", at=(0, 0))])])


def test_duplicate_case_bodies_fail():
    with pytest.raises(AssertionError, match="case 'twin' duplicates an earlier case"):
        tester.pytest(valid=[valid("original", [box(0, 0, 10, 10)]), valid("twin", [box(0, 0, 10, 10)])])


def test_same_annotations_with_different_options_are_not_duplicates():
    tester.pytest(valid=[valid("one", [box(0, 0, 10, 10)]), valid("two", [box(0, 0, 10, 10)],
                                                                   options={"min_size": 2})])


def test_invalid_case_without_errors_fails_at_table_time_and_when_run():
    case = invalid("nothing expected", [box(0, 0, 1, 1)], errors=[])
    with pytest.raises(AssertionError, match="invalid case 'nothing expected' must list the errors it expects"):
        tester.pytest(invalid=[case])
    fails(case, "an invalid case must list the errors it expects")


def test_cases_in_the_wrong_list_fail():
    with pytest.raises(AssertionError, match="case 'x' is in valid= but was built with invalid()"):
        tester.pytest(valid=[invalid("x", [box(0, 0, 1, 1)], errors=[error("a1", at=(0, 0))])])
    with pytest.raises(AssertionError, match="case 'y' is in invalid= but was built with valid()"):
        tester.pytest(invalid=[valid("y", [box(0, 0, 1, 1)])])


# -- case problems (found when the case runs) ---------------------------------------------------------------------
def test_expected_error_without_at_fails():
    msg = fails(invalid("no at", [box(0, 0, 1, 1)], errors=[error("a1")]),
                r"expected error on 'a1' must say where \(at=\[\.\.\.\], or at=None when no location is expected\)")
    assert "missing" not in msg and "unexpected" not in msg  # the issue itself matched


def test_at_none_when_the_issue_has_a_location_fails():
    fails(invalid("at None", [box(0, 0, 1, 1)], errors=[error("a1", at=None)]),
          r"missing: t_min_size on 'a1' at None[\s\S]*unexpected: t_min_size on 'a1' at \[\(0\.0, 0\.0\)\]")


def test_missing_expected_error_fails():
    msg = fails(invalid("one missing", [box(0, 0, 1, 1), box(0, 0, 20, 20)],
                        errors=[error("a1", at=(0, 0)), error("a2", at=(0, 0))]),
                r"\[one missing\]\n  missing: t_min_size on 'a2' at \(0, 0\)")
    assert "unexpected" not in msg


def test_unexpected_extra_error_fails():
    msg = fails(invalid("one extra", [box(0, 0, 1, 1), box(5, 6, 2, 2)], errors=[error("a1", at=(0, 0))]),
                r"\[one extra\]\n  unexpected: t_min_size on 'a2' at \[\(5\.0, 6\.0\)\]: '2x2 < 10'")
    assert "missing" not in msg


def test_wrong_location_fails():
    fails(invalid("wrong place", [box(0, 0, 1, 1)], errors=[error("a1", at=(0, 1))]),
          r"missing: t_min_size on 'a1' at \(0, 1\)[\s\S]*unexpected: t_min_size on 'a1' at \[\(0\.0, 0\.0\)\]")


def test_wrong_number_of_locations_fails():
    fails(invalid("two places", [box(0, 0, 1, 1)], errors=[error("a1", at=[(0, 0), (1, 1)])]), "missing")


def test_wrong_uuid_error_type_or_message_fails():
    fails(invalid("uuid", [box(0, 0, 1, 1)], errors=[error("a2", at=(0, 0))]), "missing: t_min_size on 'a2'")
    fails(invalid("type", [box(0, 0, 1, 1)], errors=[error("a1", at=(0, 0), error_type="other")]),
          "missing: other on 'a1'")
    fails(invalid("msg", [box(0, 0, 1, 1)], errors=[error("a1", at=(0, 0), message="too big")]),
          "with message ~'too big'")


def test_valid_case_with_an_issue_fails():
    fails(valid("not valid", [box(7, 8, 1, 1)]), r"\[not valid\] expected no issue, got:\nt_min_size on 'a1' at "
                                                 r"\[\(7\.0, 8\.0\)\]: '1x1 < 10'")


def test_a_rule_that_raises_fails_the_case():
    t = RuleTester("t_raises", plugins=PLUGINS)
    fails(valid("raises", [point(1, 1)]), r"\[raises\] the rule raised \(see the log for its traceback\)", t)


def test_a_rule_over_the_time_budget_fails_the_case():
    config = ('[engine]\nbuiltin_rules = "configured"\ntime_budget_ms = 50\nplugins = ["tests.plugins.engine_rules"]'
              '\n\n[[rule]]\nid = "t_sleeps"\noptions = { seconds = 5 }\n')
    fails(valid("slow", [point(1, 1)]), r"\[slow\] the rule did not finish within the time budget \(50 ms\)",
          RuleTester("t_sleeps", config=config))


def test_full_config_text():
    t = RuleTester("t_min_size", config='[engine]\nbuiltin_rules = "configured"\n'
                                        'plugins = ["tests.plugins.engine_rules"]\n'
                                        '[[rule]]\nid = "t_min_size"\noptions = { min_size = 10 }\n')
    t.check(invalid("config= text", [box(0, 0, 1, 1)], errors=[error("a1", at=(0, 0))]))


def test_unknown_rule_id_is_a_config_error_with_did_you_mean():
    from validator.engine.config import ConfigError

    with pytest.raises(ConfigError, match="unknown rule 't_min_siz'; did you mean 't_min_size'"):
        RuleTester("t_min_siz", plugins=PLUGINS).check(valid("x", [box(0, 0, 1, 1)]))


def test_engine_is_built_once_per_distinct_options():
    t = RuleTester("t_min_size", plugins=PLUGINS)
    assert t.engine() is t.engine({})
    assert t.engine({"min_size": 3}) is t.engine({"min_size": 3})
    assert t.engine({"min_size": 3}) is not t.engine()


# -- builders -------------------------------------------------------------------------------------------------------
def test_builders_make_bodies_the_engine_reads():
    t = RuleTester("t_every", plugins=PLUGINS)
    anns = [box(0, 0, 4, 2), box(10, 10, 4, 2, rotation=math.pi / 2), polygon([(0, 0), (4, 0), (0, 4)]),
            line([(0, 0), (3, 4)]), point(5, 6), ellipse(50, 50, 10, 5), cuboid(100, 100, 20, 10)]
    t.check(invalid("every builder", anns, errors=[
        error("a1", at=(0, 0)), error("a2", at=(13, 9)), error("a3", at=(0, 0)), error("a4", at=(0, 0)),
        error("a5", at=(5, 6)), error("a6", at=(50, 45)), error("a7", at=(100, 100))]))


def test_rotated_box_vertices_are_computed():
    b = box(10, 10, 4, 2, rotation=math.pi / 2)
    assert [(round(v["x"], 9), round(v["y"], 9)) for v in b["vertices"]] == [(13, 9), (13, 13), (11, 13), (11, 9)]


def test_make_task_and_make_body():
    task = make_task(width=None, height=None, box={"min_width": 5}, project="p", padding=3)
    assert task["metadata"] == {} and task["project"] == "p" and task["params"]["padding"] == 3
    assert task["params"]["geometries"]["box"]["min_width"] == 5
    assert task["params"]["geometries"]["box"]["objects_to_annotate"][:2] == ["car", "pedestrian"]
    with pytest.raises(TypeError, match="unknown keyword 'boxes'"):
        make_task(boxes={})
    body = make_body([point(1, 1), point(2, 2, uuid="mine")], global_attributes={"weather": "rain"})
    assert [a["uuid"] for a in body["response"]["annotations"]] == ["a1", "mine"]
    assert body["response"]["global_attributes"] == {"weather": "rain"}
    assert body["task"]["status"] == "pending" and body["task"]["type"] == "imageannotation"
