"""The whole rule pack on large generated tasks: well-formed tasks give no issue, planted duplicates are found."""
import json
from pathlib import Path

import pytest

from validator.engine.config import load_config
from validator.engine.engine import Engine
from validator.testing.payloads import defects_of, make_body

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json"))
OVERLAP_RULES = ("duplicate_annotation", "forbidden_overlap", "contained_annotation")


@pytest.fixture(scope="module")
def default_engine():
    return Engine.from_config_file(None)


def _engine(tmp_path, text: str) -> Engine:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return Engine(load_config(path))


def _clean(result) -> None:
    assert not result.rule_failures, f"rules raised: {result.rule_failures}"
    assert not result.budget_exhausted


@pytest.mark.parametrize("seed", [0, 11])
def test_2000_separate_boxes_give_no_issue_with_the_default_config(default_engine, seed):
    body = make_body(2000, mix="boxes", seed=seed)
    result = default_engine.validate(body)
    _clean(result)
    assert result.issues == []
    assert result.answer == {"pass": True, "issues": {}, "globalIssues": []}


def test_2000_annotations_of_the_realistic_mix_give_no_issue_with_the_default_config(default_engine):
    result = default_engine.validate(make_body(2000, seed=5))
    _clean(result)
    assert result.issues == []


def test_planted_duplicate_boxes_are_each_reported_once(tmp_path):
    # The generator copies a box 1 px down-right; on its smallest boxes (~27 px) that is an IoU of ~0.86, so this
    # instance uses min_iou = 0.85 to expect every planted copy.
    engine = _engine(tmp_path, '[engine]\nbuiltin_rules = "configured"\n\n[[rule]]\nid = "duplicate_annotation"\n'
                               'options = { min_iou = 0.85 }\n')
    body = make_body(2000, mix="boxes", seed=3, defect_rate=0.02)
    anns = body["response"]["annotations"]
    order = {a["uuid"]: k for k, a in enumerate(anns)}
    planted = [u for u, kind in defects_of(body).items() if kind == "duplicate_box"]
    assert planted
    expected = []
    for u in planted:
        a = anns[order[u]]
        (src,) = [b for b in anns if b["uuid"] != u and b["type"] == "box" and b["label"] == a["label"]
                  and abs(b["left"] + 1 - a["left"]) < 1e-6 and abs(b["top"] + 1 - a["top"]) < 1e-6]
        expected.append(max(u, src["uuid"], key=order.__getitem__))  # reported on the later of the two
    result = engine.validate(body)
    _clean(result)
    got = [i.uuid for i in result.issues if i.rule_id == "duplicate_annotation"]
    assert sorted(got) == sorted(expected)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_pass_with_every_overlap_rule_on(tmp_path, path):
    engine = _engine(tmp_path, """
[[rule]]
id = "forbidden_overlap"
level = "error"
options = { pairs = [["car", "pedestrian"], ["road", "sidewalk"], ["ship", "ship"], ["wheel", "wheel"]] }

[[rule]]
id = "contained_annotation"
level = "error"
""")
    result = engine.validate(json.loads(path.read_text()))
    _clean(result)
    assert [i for i in result.issues if i.rule_id in OVERLAP_RULES] == []
    assert result.passed
