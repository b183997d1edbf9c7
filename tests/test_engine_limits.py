"""The verdict is never pass because work was cut: cost order, [limits], issue caps, budget exhaustion.

The silent-pass bodies of issue 10 go through the production path (``Engine.validate_bytes``, and over HTTP with
gunicorn); the budget is spent honestly by a deliberately slow plugin rule (``t_slow_pairs``,
tests/plugins/slow_rules.py: pairs compared in plain Python), never by a mock.
"""
from __future__ import annotations

import random
import warnings

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.servers import start_service
from validator.engine.config import ConfigError, Limits, load_config
from validator.engine.engine import ANNOTATION_LIMIT, INCOMPLETE, VERTEX_LIMIT, Engine
from validator.engine.issues import ANSWER_TRUNCATED, MAX_ANSWER_BYTES
from validator.testing import box, make_body, make_task, point, polygon

PLUGIN = "tests.plugins.engine_rules"
# hypothesis (loaded by other tests) runs Python in a gc callback; a budget alarm landing there cannot interrupt
# the rule (which then finishes and counts as finished) and pytest reports the lost exception as "unraisable"
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
SLOW = "tests.plugins.slow_rules"  # t_slow_pairs: pairs compared in plain Python
TASK = make_task(width=1000, height=800, geometries={"box": {"objects_to_annotate": ["car", "pedestrian"]}})
PLAIN_DEFECTS = [box(10, 10, 50, 50, label="bicycle", uuid="wrong-label"),        # not in the taxonomy
                 box(6000, 10, 50, 50, label="car", uuid="far-outside"),          # 5,000 px outside the image
                 point(100, 100, label="car", uuid="wrong-type")]                 # a geometry not asked for
PLAIN_TYPES = {"wrong-label": ["label_not_in_taxonomy"], "far-outside": ["outside_image"],
               "wrong-type": ["geometry_not_requested"]}


def engine(tmp_path, text: str = "") -> Engine:
    path = tmp_path / "validator.toml"
    path.write_text(text)
    return Engine(load_config(path))


def configured(tmp_path, rules: str, *, limits: str = "", budget_ms: float | None = None, extra: str = "") -> Engine:
    return engine(tmp_path, f'[engine]\nbuiltin_rules = "configured"\nplugins = ["{PLUGIN}", "{SLOW}"]\n'
                            + (f"time_budget_ms = {budget_ms}\n" if budget_ms else "") + extra
                            + (f"\n[limits]\n{limits}\n" if limits else "") + "\n" + rules)


def run(eng: Engine, anns, task=None):
    result = eng.validate_bytes(orjson.dumps(make_body(anns, task)))
    return result, result.answer


def error_types(answer, uuid=None):
    items = answer["globalIssues"] if uuid is None else answer["issues"].get(uuid, [])
    return [i["errorType"] for i in items]


# -- the silent-pass bodies, default rules, production path -----------------------------------------------------------
def test_three_plain_defects_and_1500_identical_boxes_fail_with_the_plain_defects_reported():
    eng = Engine.from_config_file(None)
    copies = [box(300, 300, 40, 40, label="car", uuid=f"copy-{k}") for k in range(1500)]
    result, answer = run(eng, PLAIN_DEFECTS + copies, TASK)
    assert answer["pass"] is False
    for uuid, types in PLAIN_TYPES.items():
        assert error_types(answer, uuid) == types
    # whatever the pairwise rules did: they found the copies, or the answer says what could not be checked
    copies_flagged = any(u.startswith("copy-") for u in answer["issues"])
    assert copies_flagged or INCOMPLETE in error_types(answer)
    assert len(orjson.dumps(answer)) <= MAX_ANSWER_BYTES


@pytest.mark.parametrize("case", ["1000 identical boxes", "one random 1000-vertex polygon"])
def test_adversarial_bodies_never_pass(case):
    eng = Engine.from_config_file(None)
    if case == "1000 identical boxes":
        anns = [box(300, 300, 40, 40, label="car") for _ in range(1000)]
    else:
        rnd = random.Random(1)
        anns = [polygon([(rnd.uniform(0, 900), rnd.uniform(0, 700)) for _ in range(1000)], label="car")]
    result, answer = run(eng, anns, make_task(width=1000, height=800))
    assert answer["pass"] is False
    assert answer["issues"] or INCOMPLETE in error_types(answer)


@pytest.mark.parametrize("junk", [1, {}, {"type": "point", "label": "car", "x": None, "y": 5}],
                         ids=["ones", "empty objects", "x null"])
def test_floods_of_malformed_annotations_fail_with_a_bounded_answer(junk):
    eng = Engine.from_config_file(None)
    result, answer = run(eng, [junk] * 30_000)
    assert answer["pass"] is False
    assert ANNOTATION_LIMIT in error_types(answer)  # 30,000 > 20,000: the labeler is told why
    listed = sum(len(v) for v in answer["issues"].values()) + len(answer["globalIssues"])
    limits = Limits()
    assert listed <= limits.max_issues_per_task + 1
    assert len(orjson.dumps(answer)) <= MAX_ANSWER_BYTES
    # one summary says how many more (the engine's cap, or the format rule's own count of what it did not list)
    assert any(f"{30_000 - 100:,} more" in i.get("extra", "") for i in answer["globalIssues"])


# -- cost order -------------------------------------------------------------------------------------------------------
def test_linear_instances_run_before_pairwise_ones_and_error_before_warn_before_shadow(tmp_path):
    eng = configured(tmp_path, """
[[rule]]
id = "t_slow_pairs"
[[rule]]
id = "t_every"
level = "shadow"
[[rule]]
id = "t_task_summary"
level = "warn"
[[rule]]
id = "t_linear_task"
level = "warn"
[[rule]]
id = "t_min_size"
options = { min_size = 10 }
""")
    result, _ = run(eng, [box(0, 0, 5, 5), box(1, 1, 5, 5)])
    order = [k.removeprefix("rule:") for k in result.stages_ms if k.startswith("rule:")]
    # t_task_summary is a per-task rule that does not declare its cost: pairwise by default
    assert order == ["t_min_size", "t_linear_task", "t_every", "t_slow_pairs", "t_task_summary"]


def test_a_slow_pairwise_rule_cannot_starve_the_cheap_checks(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_slow_pairs"\n\n[[rule]]\nid = "t_min_size"\n'
                               'options = { min_size = 10 }\n', budget_ms=200)
    boxes = [box(k % 60 * 15, k // 60 * 15, 12, 12) for k in range(3000)] + [box(2000, 2000, 5, 5, uuid="small")]
    result, answer = run(eng, boxes, make_task(width=None, height=None))
    assert result.budget_exhausted
    assert error_types(answer, "small") == ["t_min_size"]
    assert answer["pass"] is False
    [incomplete] = [i for i in answer["globalIssues"] if i["errorType"] == INCOMPLETE]
    assert "t_slow_pairs" in incomplete["extra"]
    assert result.skipped == ["t_slow_pairs: time budget exhausted"]


@pytest.mark.parametrize("level", ["warn", "shadow"])
def test_an_unfinished_non_blocking_rule_does_not_fail_the_task(tmp_path, level):
    eng = configured(tmp_path, f'[[rule]]\nid = "t_slow_pairs"\nlevel = "{level}"\n', budget_ms=100)
    boxes = [box(k % 60 * 15, k // 60 * 15, 12, 12) for k in range(3000)]
    result, answer = run(eng, boxes, make_task(width=None, height=None))
    assert result.budget_exhausted and answer == {"pass": True, "issues": {}, "globalIssues": []}


def test_a_crashing_rule_keeps_the_failure_policy(tmp_path):
    for policy, passed in (("open", True), ("closed", False)):
        eng = configured(tmp_path, '[[rule]]\nid = "t_raises"\n', extra=f'failure_policy = "{policy}"\n')
        result, answer = run(eng, [box(0, 0, 5, 5)])
        assert result.rule_failures == ["t_raises"] and answer["pass"] is passed


def test_numeric_warnings_are_the_engines_business(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_overflow"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping the engine would make the rule raise
        result, answer = run(eng, [box(1e10, 1e10, 1e10, 1e10), box(0, 0, 0, 0)])
    assert not result.rule_failures
    assert error_types(answer, "a1") == ["t_overflow"] and "a2" not in answer["issues"]


# -- [limits] ---------------------------------------------------------------------------------------------------------
def test_too_many_annotations_is_an_issue_and_no_pairwise_rule_runs(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_slow_pairs"\n\n[[rule]]\nid = "t_min_size"\n'
                               'options = { min_size = 10 }\n', limits="max_annotations = 5")
    result, answer = run(eng, [box(k * 20, 0, 12, 12) for k in range(5)])
    assert answer["pass"] is True  # at the limit: fine
    result, answer = run(eng, [box(k * 20, 0, 12, 12) for k in range(6)] + [box(0, 100, 3, 3, uuid="small")])
    assert answer["pass"] is False
    [limit] = [i for i in answer["globalIssues"] if i["errorType"] == ANNOTATION_LIMIT]
    assert limit["extra"].startswith("This task has 7 annotations; at most 5 are allowed in one task.")
    assert error_types(answer, "small") == ["t_min_size"]  # the cheap checks still ran
    assert result.skipped == ["t_slow_pairs: not run, the task is over a limit"]


def test_too_many_vertices_is_an_issue_on_that_annotation(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_slow_pairs"\n\n[[rule]]\nid = "t_every"\nlevel = "warn"\n',
                     limits="max_vertices = 10")
    ring = [(100 + 50 * c, 100 + 50 * s) for c, s in ((1, 0), (0.8, 0.6), (0.6, 0.8), (0, 1), (-0.6, 0.8),
                                                         (-0.8, 0.6), (-1, 0), (-0.8, -0.6), (-0.6, -0.8), (0, -1),
                                                         (0.6, -0.8), (0.8, -0.6))]
    result, answer = run(eng, [polygon(ring, uuid="long"), polygon(ring[:10], uuid="ok"), box(0, 0, 5, 5)])
    assert answer["pass"] is False
    [limit] = [i for i in answer["issues"]["long"] if i["errorType"] == VERTEX_LIMIT]
    assert limit == {"errorType": VERTEX_LIMIT, "locations": [{"x": 150.0, "y": 100.0}],
                     "extra": "This polygon has 12 vertices; at most 10 are allowed. Simplify its outline, then "
                              "submit again."}
    assert VERTEX_LIMIT not in error_types(answer, "ok")
    assert result.skipped == ["t_slow_pairs: not run, the task is over a limit"]
    assert error_types(answer, "ok") == ["t_every"]  # linear rules still judge every annotation


def _problems(tmp_path, limits: str) -> str:
    with pytest.raises(ConfigError) as info:
        engine(tmp_path, f"[limits]\n{limits}\n")
    return str(info.value)


def test_limits_are_validated_at_start_up_with_a_did_you_mean(tmp_path):
    text = _problems(tmp_path, 'max_annotation = 10\nmax_vertices = 0\nmax_answer_bytes = 99999999\n'
                               'max_issues_per_rule = "5"')
    assert "invalid configuration (4 problems)" in text
    assert "limits.max_annotation: unknown key; did you mean 'max_annotations'?" in text
    assert "limits.max_vertices: must be a whole number between 4 and 10000000, not 0" in text
    assert "limits.max_answer_bytes: must be a whole number between 16384 and 2097152, not 99999999" in text
    assert "limits.max_issues_per_rule: must be a whole number between 1 and 100000, not '5'" in text
    path = tmp_path / "v.toml"
    path.write_text("limits = 3\n")
    with pytest.raises(ConfigError, match="limits: must be a table"):
        load_config(path)


def test_default_limits():
    assert load_config(None).limits == Limits(max_annotations=20_000, max_vertices=10_000, max_issues_per_rule=100,
                                              max_issues_per_task=1_000, max_answer_bytes=2 * 1024 * 1024)


# -- issue caps -------------------------------------------------------------------------------------------------------
def test_issues_per_rule_instance_are_capped_with_a_summary(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_copies"\noptions = { copies = 3 }\n',
                     limits="max_issues_per_rule = 20")
    result, answer = run(eng, [box(k * 20, 0, 12, 12) for k in range(50)])
    listed = [i for v in answer["issues"].values() for i in v]
    assert len(listed) == 20
    assert list(answer["issues"]) == [f"a{k}" for k in range(1, 8)]  # the first ones in request order
    [summary] = answer["globalIssues"]
    assert summary["extra"].startswith("130 more issues of this kind are not listed.")
    assert result.suppressed == {"t_copies": 130}
    assert answer["pass"] is False


def test_issues_per_task_are_capped_errors_first(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_copies"\nname = "warned"\nlevel = "warn"\n\n'
                               '[[rule]]\nid = "t_min_size"\noptions = { min_size = 10 }\n',
                     limits="max_issues_per_task = 10")
    result, answer = run(eng, [box(k * 20, 0, 12, 12) for k in range(30)] + [box(900, 0, 5, 5, uuid="small")])
    assert error_types(answer, "small") == ["t_min_size"]  # the error is listed, warnings are dropped first
    assert sum(len(v) for v in answer["issues"].values()) == 10
    [summary] = answer["globalIssues"]
    assert summary["errorType"] == ANSWER_TRUNCATED and summary["extra"].startswith("22 more issues found")
    assert answer["pass"] is False


def test_the_answer_stays_under_its_size_limit_and_keeps_the_verdict(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_copies"\noptions = { copies = 2, text = "' + "x" * 900 + '" }\n',
                     limits="max_answer_bytes = 16384")
    result, answer = run(eng, [box(k * 20, 0, 12, 12) for k in range(40)])
    size = len(orjson.dumps(answer))
    assert size <= 16384
    assert answer["pass"] is False
    assert [i["errorType"] for i in answer["globalIssues"]][-1] == ANSWER_TRUNCATED
    assert 10 <= sum(len(v) for v in answer["issues"].values()) < 80


def test_long_texts_and_many_locations_are_cut(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_copies"\noptions = { text = "' + "y" * 5000 + '" }\n')
    result, answer = run(eng, [box(0, 0, 12, 12)])
    [issue] = answer["issues"]["a1"]
    assert len(issue["extra"]) == 1000 and issue["extra"].endswith("\u2026")


# -- over HTTP (gunicorn from the Procfile) ----------------------------------------------------------------------------
HTTP_CONFIG = f"""
[engine]
plugins = ["{SLOW}"]
time_budget_ms = 300

[[rule]]
id = "t_slow_pairs"
projects = ["slow"]
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = start_service(tmp_path_factory.mktemp("limits"), config_text=HTTP_CONFIG)
    yield svc
    svc.stop()


def test_http_plain_defects_among_1500_identical_boxes(service):
    copies = [box(300, 300, 40, 40, label="car", uuid=f"copy-{k}") for k in range(1500)]
    response = service.post(make_body(PLAIN_DEFECTS + copies, TASK))
    assert response.status_code == 200
    answer = response.json()
    assert answer["pass"] is False
    for uuid, types in PLAIN_TYPES.items():
        assert error_types(answer, uuid) == types


def test_http_budget_exhaustion_is_never_a_pass(service):
    task = make_task(width=1000, height=800, project="slow",
                     geometries={"box": {"objects_to_annotate": ["car"]}})
    boxes = [box(k % 60 * 15, k // 60 * 15, 12, 12, label="car") for k in range(3000)]
    response = service.post(make_body(boxes, task))
    answer = response.json()
    assert response.status_code == 200 and answer["pass"] is False
    [incomplete] = answer["globalIssues"]
    assert incomplete["errorType"] == INCOMPLETE and "t_slow_pairs" in incomplete["extra"]
    # the service is fine afterwards
    assert service.post(make_body([box(10, 10, 20, 20, label="car")], task)).json()["pass"] is True


def test_the_documented_defaults_are_the_real_ones():
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    block = re.search(r"^\[limits\][^\n]*\n((?:max_\w+ = \d+[^\n]*\n)+)", doc, re.M).group(1)
    assert Limits(**tomllib.loads(block)) == Limits()
    table = dict(re.findall(r"^\| `(max_\w+)` \| `(\d+)` \|", doc, re.M))
    assert {k: int(v) for k, v in table.items()} == Limits().__dict__


# -- no body can pass with an unrun error-level rule (hypothesis) ------------------------------------------------------
_coord = st.floats(-2000, 3000, allow_nan=False, width=32)
_shape = st.one_of(
    st.builds(lambda x, y, w, h, label: box(x, y, w, h, label=label), _coord, _coord, st.floats(0, 400),
              st.floats(0, 400), st.sampled_from(["car", "pedestrian", "bicycle"])),
    st.builds(lambda pts, label: polygon(pts, label=label), st.lists(st.tuples(_coord, _coord), min_size=1,
                                                                      max_size=40), st.sampled_from(["car", "tree"])),
    st.builds(lambda x, y: point(x, y, label="car"), _coord, _coord),
    st.sampled_from([1, {}, {"type": "box"}, {"type": "point", "label": "car", "x": None, "y": 1}, "x"]),
)
_flood = st.tuples(_shape, st.integers(1, 150))  # one shape, repeated: identical copies


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_flood, min_size=1, max_size=4), st.sampled_from([5, 50]))
def test_no_body_passes_with_an_unfinished_error_level_rule(tmp_path_factory, floods, budget_ms):
    path = tmp_path_factory.mktemp("flood") / "validator.toml"
    path.write_text(f"[engine]\ntime_budget_ms = {budget_ms}\n\n[limits]\nmax_annotations = 1200\n"
                    "max_vertices = 30\n")
    eng = Engine(load_config(path))
    anns = [shape for shape, copies in floods for _ in range(copies)]
    result, answer = run(eng, anns, TASK)
    error_level = {i.name for i in eng.config.instances if i.level == "error"}
    unfinished = {s.split(":")[0] for s in result.skipped
                  if s.endswith(("time budget exhausted", "work limit reached"))}
    if unfinished & error_level:
        assert answer["pass"] is False
        assert INCOMPLETE in error_types(answer)
    if answer["pass"]:
        assert not (unfinished & error_level) and not result.rule_failures
    assert len(orjson.dumps(answer)) <= MAX_ANSWER_BYTES



def test_a_rule_reporting_a_flood_is_held_in_bounded_memory_and_counted(tmp_path):
    eng = configured(tmp_path, '[[rule]]\nid = "t_copies"\noptions = { copies = 400 }\n')
    result, answer = run(eng, [box(k * 20, 0, 12, 12) for k in range(50)])
    assert sum(len(v) for v in answer["issues"].values()) == 100
    assert result.suppressed == {"t_copies": 20_000 - 100}  # all counted, only the first 1,000 held
    [summary] = answer["globalIssues"]
    assert summary["errorType"] == "t_copies" and summary["extra"].startswith("19,900 more issues")
