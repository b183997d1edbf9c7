"""The attribute checks of a task with ``attribute_conditions`` clear annotations in bulk, per group of (label,
answers the conditions name): the findings on every annotation must be exactly those it gets when it is checked
alone (a body holding only it), whatever the mix of right, wrong, unset, boolean and numeric-looking answers."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st

from rules._attributes import GROUP_FROM
from validator.engine.engine import Engine

TASK = {
    "task_id": "t", "type": "imageannotation", "status": "pending",
    "metadata": {"image_width": 1000, "image_height": 1000},
    "params": {
        "geometries": {"box": {"objects_to_annotate": ["car", "pedestrian"]}},
        "annotation_attributes": {
            "occlusion": {"type": "category", "choices": ["0%", "50%", "90%"],
                          "conditions": {"label_condition": {"label": ["car", "pedestrian"]}}},
            "occluder": {"type": "category", "choices": ["car", "tree"], "required": True,
                         "conditions": {"label_condition": {"label": ["car"]},
                                        "attribute_conditions": [{"occlusion": ["50%", "90%"]}]}},
            "people": {"type": "number", "min": 0, "max": 5, "step": 1,
                       "conditions": {"label_condition": {"label": ["car"]}}},
            "moving": {"type": "category", "choices": ["yes", "no"],
                       "conditions": {"attribute_conditions": [{"occlusion": "0%"}]}},
        },
    },
}

VALUES = {
    "occlusion": st.sampled_from(["0%", "50%", "90%", "75%", None, 1, True]),
    "occluder": st.sampled_from(["car", "tree", "bus", None, 0, False, ["car"]]),
    "people": st.sampled_from([0, 1, 2, 5, 6, 1.5, True, False, "2", None, 1.0]),
    "moving": st.sampled_from(["yes", "no", "maybe", None, 1]),
    "colour": st.sampled_from(["red", 1]),
}


@st.composite
def annotations(draw):
    out = []
    for k in range(draw(st.integers(1, 40))):
        keys = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=4))
        attrs = {key: draw(VALUES[key]) for key in keys}
        out.append({"uuid": f"a{k}", "type": "box", "label": draw(st.sampled_from(["car", "pedestrian"])),
                    "left": 10 + k, "top": 10, "width": 20, "height": 20, "attributes": attrs})
    return out


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path = tmp_path_factory.mktemp("groups") / "config.toml"
    path.write_text("[limits]\nmax_issues_per_rule = 100000\nmax_issues_per_task = 100000\n"
                    "max_answer_bytes = 2097152\n")  # every finding listed: nothing summarised
    return Engine.from_config_file(path)


def _findings(engine, anns):
    body = {"task": copy.deepcopy(TASK), "response": {"annotations": anns}}
    return {(i.uuid, i.error_type, i.extra) for i in engine.validate(body).issues if i.rule_id.startswith("attribute")}


@settings(deadline=None, max_examples=100)
@given(annotations(), st.integers(1, 12))
def test_bulk_clearing_under_conditions_finds_what_each_annotation_alone_gets(engine, anns, copies):
    # the same annotations again under other uuids: groups repeat (what the bulk clearing relies on), and bodies
    # are on both sides of GROUP_FROM
    many = [dict(a, uuid=f"{a['uuid']}-{c}", attributes=dict(a["attributes"])) for c in range(copies) for a in anns]
    alone: dict[str, set] = {}
    for a in anns:
        alone[a["uuid"]] = {(t, x) for _, t, x in _findings(engine, [a])}
    want = {(a["uuid"], t, x) for a in many for t, x in alone[a["uuid"].rsplit("-", 1)[0]]}
    assert _findings(engine, many) == want


def test_the_bodies_above_reach_the_grouped_path():
    assert GROUP_FROM <= 12 * 40


def test_a_boolean_is_not_cleared_by_an_equal_number_found_fine_before(engine):
    # True == 1 and hash(True) == hash(1): (key, True) would be "in" a set holding (key, 1)
    car = {"type": "box", "label": "car", "left": 10, "top": 10, "width": 20, "height": 20}
    anns = [dict(car, uuid=f"n{k}", attributes={"occlusion": "0%", "people": 1}) for k in range(GROUP_FROM)]
    anns.append(dict(car, uuid="bool", attributes={"occlusion": "0%", "people": True}))
    found = _findings(engine, anns)
    assert {u for u, _, _ in found} == {"bool"}
    assert _findings(engine, anns[-1:]) == found


@pytest.mark.parametrize("copies", [1, GROUP_FROM])
def test_a_number_does_not_meet_a_condition_that_names_the_same_text(engine, copies):
    """A condition naming "1" holds for the text "1" (or a list holding it), never for the number 1 or a list of
    it; annotations are grouped by what conditions see, so neither may stand in for the other (in one request or,
    through the per-params memo, across requests)."""
    task = copy.deepcopy(TASK)
    task["params"]["annotation_attributes"]["floor"] = {"type": "category", "choices": ["1", "2", "many"]}
    task["params"]["annotation_attributes"]["stairs"] = {
        "type": "category", "choices": ["yes", "no"], "conditions": {"attribute_conditions": [{"floor": ["1"]}]}}
    box = {"type": "box", "label": "pedestrian", "left": 10, "top": 10, "width": 20, "height": 20}
    answers = [("text", "1", False), ("number", 1, True), ("texts", ["1"], False), ("numbers", [1], True)]
    for order in (answers, answers[::-1]):
        anns = [dict(box, uuid=f"{name}-{c}", attributes={"floor": floor, "stairs": "yes"})
                for c in range(copies) for name, floor, _ in order]
        body = {"task": task, "response": {"annotations": anns}}
        found = {(i.uuid.rsplit("-", 1)[0], i.error_type) for i in engine.validate(body).issues
                 if i.error_type == "attribute_not_applicable"}
        assert found == {(name, "attribute_not_applicable") for name, _, refused in answers if refused}
