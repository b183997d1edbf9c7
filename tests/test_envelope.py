"""The Task loader's shortcut (validator/scale/envelope.py ``_plain_task``) gives exactly what marshmallow loads.

``load_task`` skips the schemas when every checked field already has its loaded type; these tests compare the
shortcut with the schemas themselves on the shared examples, a table of edge cases and seeded mutations, and check
that every task the shortcut declines still gets marshmallow's answer (or its error message).
"""
from __future__ import annotations

import copy
import json
import random

import pytest

from tests.support.servers import examples_dir
from validator.scale.envelope import IMAGEANNOTATION, BodyError, _plain_task, _schema_task, load_task
from validator.testing.payloads import make_body


def _outcome(fn, raw):
    try:
        return "ok", fn(raw)
    except BodyError as exc:
        return "error", str(exc)


def _check(raw: dict) -> bool:
    """The shortcut agrees with the schemas; returns whether the shortcut took the task."""
    expected = _outcome(_schema_task, copy.deepcopy(raw))
    assert _outcome(load_task, copy.deepcopy(raw)) == expected
    plain = _plain_task(copy.deepcopy(raw))
    if plain is not None:
        assert expected == ("ok", plain)
    return plain is not None


def _example_tasks() -> list[dict]:
    tasks = [json.loads(p.read_text())["task"] for p in sorted(examples_dir().glob("*.json"))]
    return tasks + [make_body(20, seed=s)["task"] for s in range(3)]


def test_real_tasks_take_the_shortcut_and_load_the_same():
    tasks = _example_tasks()
    assert len(tasks) >= 3
    for task in tasks:
        assert _check(task), task.get("task_id")


BASE = {"task_id": "t1", "type": IMAGEANNOTATION, "project": "p", "params": {"geometries": {"box": {}}}}

CASES = [  # (change to BASE, whether the shortcut may take it)
    ({}, True),
    ({"extra_scale_field": {"nested": [1, 2]}}, True),
    ({"params": None}, True),
    ({"metadata": None}, True),
    ({"metadata": {"image_width": 100}}, True),
    ({"type": "videoannotation", "params": {"geometries": None}}, True),  # params only checked for images
    ({"task_id": None, "status": None, "batch": None}, True),
    ({"params": {"padding": 3}}, True),  # loaded as 3.0
    ({"params": {"padding": 2.5, "paddingX": None, "paddingY": 0}}, True),
    ({"params": {"annotation_attributes": None}}, True),
    ({"params": {"geometries": {}, "annotation_attributes": {"a": {"type": "number"}}}}, True),
    ({"params": {"layers": {"x": 1}, "instruction": "text"}}, True),
    # anything else: marshmallow decides (and words the error)
    ({"task_id": 3}, False),
    ({"project": ["p"]}, False),
    ({"type": True}, False),
    ({"params": []}, False),
    ({"metadata": "m"}, False),
    ({"params": {"geometries": None}}, False),
    ({"params": {"geometries": []}}, False),
    ({"params": {"geometries": {"box": None}}}, False),
    ({"params": {"geometries": {"box": []}}}, False),
    ({"params": {"annotation_attributes": {"a": "number"}}}, False),
    ({"params": {"padding": True}}, False),
    ({"params": {"padding": "2"}}, False),  # marshmallow converts numeric strings
    ({"params": {"paddingX": "wide"}}, False),
    ({"params": {"paddingY": [1]}}, False),
]


@pytest.mark.parametrize("change, shortcut", CASES, ids=[json.dumps(c)[:60] for c, _ in CASES])
def test_edge_cases(change, shortcut):
    raw = {**BASE, **change}
    assert _check(raw) is shortcut


def test_padding_int_is_loaded_as_float():
    task = load_task({**BASE, "params": {"padding": 3}})
    assert task["params"]["padding"] == 3.0 and type(task["params"]["padding"]) is float


def test_seeded_mutations_agree():
    rng = random.Random(7)
    values = [None, 0, 1, -2.5, True, "", "x", "3", [], [1], {}, {"a": 1}, {"a": None}, {"a": []}]
    keys = ["task_id", "type", "status", "project", "batch", "params", "metadata", "other"]
    param_keys = ["geometries", "annotation_attributes", "padding", "paddingX", "paddingY", "other"]
    tasks = _example_tasks()
    taken = declined = 0
    for _ in range(600):
        raw = copy.deepcopy(rng.choice(tasks))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5 and isinstance(raw.get("params"), dict):
                raw["params"][rng.choice(param_keys)] = copy.deepcopy(rng.choice(values))
            else:
                raw[rng.choice(keys)] = copy.deepcopy(rng.choice(values))
        if _check(raw):
            taken += 1
        else:
            declined += 1
    assert taken > 50 and declined > 50  # both sides exercised
