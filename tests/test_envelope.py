"""The Task loader (validator/scale/envelope.py ``load_task``), read with the one specification in
validator/scale/format.py, on both ways in (typed decode and generic parse).

The expected outcomes below were the marshmallow schemas' (the specification this replaced) on the same tables and
seeded mutations; the messages keep their wording (a dict entry is named ``geometries.box``, not
``geometries.box.value``). A small oracle written from Scale's Task format checks the seeded mutations.
"""
from __future__ import annotations

import copy
import json
import math
import random

import orjson
import pytest

from tests.support.servers import examples_dir
from validator.scale.envelope import IMAGEANNOTATION, BodyError, decode, load_envelope, load_task
from validator.testing.payloads import make_body


def _outcome(raw):
    try:
        return "ok", load_task(raw)
    except BodyError as exc:
        return "error", str(exc)


def _example_tasks() -> list[dict]:
    tasks = [json.loads(p.read_text())["task"] for p in sorted(examples_dir().glob("*.json"))]
    return tasks + [make_body(20, seed=s)["task"] for s in range(3)]


def test_real_tasks_load_as_received_with_defaults():
    tasks = _example_tasks()
    assert len(tasks) >= 3
    for task in tasks:
        kind, loaded = _outcome(copy.deepcopy(task))
        assert kind == "ok", loaded
        assert {k: v for k, v in loaded.items() if k not in ("params", "metadata")} == \
            {k: v for k, v in task.items() if k not in ("params", "metadata")}
        assert {k: v for k, v in loaded["params"].items() if k in task["params"]} == task["params"]


BASE = {"task_id": "t1", "type": IMAGEANNOTATION, "project": "p", "params": {"geometries": {"box": {}}}}

CASES = [  # (change to BASE, None when it loads, else the message)
    ({}, None),
    ({"extra_scale_field": {"nested": [1, 2]}}, None),
    ({"params": None}, None),
    ({"metadata": None}, None),
    ({"metadata": {"image_width": 100}}, None),
    ({"type": "videoannotation", "params": {"geometries": None}}, None),  # params only checked for images
    ({"task_id": None, "status": None, "batch": None}, None),
    ({"params": {"padding": 3}}, None),  # loaded as 3.0
    ({"params": {"padding": 2.5, "paddingX": None, "paddingY": 0}}, None),
    ({"params": {"annotation_attributes": None}}, None),
    ({"params": {"geometries": {}, "annotation_attributes": {"a": {"type": "number"}}}}, None),
    ({"params": {"layers": {"x": 1}, "instruction": "text"}}, None),
    ({"params": {"padding": "2"}}, None),  # a numeric string is a number (as marshmallow read it)
    ({"task_id": 3}, "task.task_id: Not a valid string."),
    ({"project": ["p"]}, "task.project: Not a valid string."),
    ({"type": True}, "task.type: Not a valid string."),
    ({"params": []}, "task.params: Not a valid mapping type."),
    ({"metadata": "m"}, "task.metadata: Not a valid mapping type."),
    ({"params": {"geometries": None}}, "task.params.geometries: Field may not be null."),
    ({"params": {"geometries": []}}, "task.params.geometries: Not a valid mapping type."),
    ({"params": {"geometries": {"box": None}}}, "task.params.geometries.box: Field may not be null."),
    ({"params": {"geometries": {"box": []}}}, "task.params.geometries.box: Not a valid mapping type."),
    ({"params": {"annotation_attributes": {"a": "number"}}},
     "task.params.annotation_attributes.a: Not a valid mapping type."),
    ({"params": {"annotation_attributes": []}}, "task.params.annotation_attributes: Not a valid mapping type."),
    ({"params": {"padding": True}}, "task.params.padding: Not a valid number."),
    ({"params": {"paddingX": "wide"}}, "task.params.paddingX: Not a valid number."),
    ({"params": {"paddingY": [1]}}, "task.params.paddingY: Not a valid number."),
    ({"params": {"padding": "nan"}},
     "task.params.padding: Special numeric values (nan or infinity) are not permitted."),
    ({"params": {"padding": math.inf}},
     "task.params.padding: Special numeric values (nan or infinity) are not permitted."),
    ({"task_id": 3, "project": 4, "params": {"padding": "x", "geometries": 3}},  # every field at once
     "task.task_id: Not a valid string.; task.project: Not a valid string."),
    ({"params": {"padding": "x", "geometries": 3}},
     "task.params.geometries: Not a valid mapping type.; task.params.padding: Not a valid number."),
]


@pytest.mark.parametrize("change, message", CASES, ids=[json.dumps(c, default=str)[:60] for c, _ in CASES])
def test_edge_cases(change, message):
    kind, got = _outcome(copy.deepcopy({**BASE, **change}))
    if message is None:
        assert kind == "ok", got
    else:
        assert (kind, got) == ("error", message)


def test_padding_int_and_numeric_string_are_loaded_as_float():
    for value in (3, "3"):
        task = load_task({**BASE, "params": {"padding": value}})
        assert task["params"]["padding"] == 3.0 and type(task["params"]["padding"]) is float


def test_defaults_are_filled_in():
    task = load_task({"type": IMAGEANNOTATION})
    assert task["params"] == {"geometries": {}, "annotation_attributes": {}} and task["metadata"] == {}
    assert load_task({**BASE, "params": {"annotation_attributes": None}})["params"]["annotation_attributes"] is None
    assert load_task({"type": "videoannotation", "params": None}) == {"type": "videoannotation", "params": {},
                                                                     "metadata": {}}


def _oracle(raw: dict) -> str | None:
    """Scale's Task format, read by hand: the first field (in the order the loader checks them) that is wrong."""
    for key in ("task_id", "type", "status", "project", "batch"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            return f"task.{key}"
    for key in ("params", "metadata"):
        if raw.get(key) is not None and not isinstance(raw[key], dict):
            return f"task.{key}"
    if raw.get("type") != IMAGEANNOTATION:
        return None
    params = raw.get("params") or {}
    if "geometries" in params:
        g = params["geometries"]
        if not isinstance(g, dict) or not all(isinstance(v, dict) for v in g.values()):
            return "task.params.geometries"
    a = params.get("annotation_attributes")
    if a is not None and (not isinstance(a, dict) or not all(isinstance(v, dict) for v in a.values())):
        return "task.params.annotation_attributes"
    for key in ("padding", "paddingX", "paddingY"):
        v = params.get(key)
        if v is None:
            continue
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                return f"task.params.{key}"
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return f"task.params.{key}"
    return None


def test_seeded_mutations_agree_with_the_oracle():
    rng = random.Random(7)
    values = [None, 0, 1, -2.5, True, "", "x", "3", [], [1], {}, {"a": 1}, {"a": None}, {"a": []}]
    keys = ["task_id", "type", "status", "project", "batch", "params", "metadata", "other"]
    param_keys = ["geometries", "annotation_attributes", "padding", "paddingX", "paddingY", "other"]
    tasks = _example_tasks()
    loaded = refused = 0
    for _ in range(600):
        raw = copy.deepcopy(rng.choice(tasks))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5 and isinstance(raw.get("params"), dict):
                raw["params"][rng.choice(param_keys)] = copy.deepcopy(rng.choice(values))
            else:
                raw[rng.choice(keys)] = copy.deepcopy(rng.choice(values))
        wrong = _oracle(raw)
        kind, got = _outcome(copy.deepcopy(raw))
        if wrong is None:
            assert kind == "ok", (raw, got)
            loaded += 1
        else:
            assert kind == "error" and got.split("; ")[0].startswith((wrong + ":", wrong + ".")), (raw, got)
            refused += 1
    assert loaded > 50 and refused > 50  # both sides exercised


def test_both_ways_in_read_the_task_alike():
    """The typed decode hands the task to the same loader as the generic parse: same task, same message."""
    for change, _ in CASES:
        body = {"task": {**BASE, **change}, "response": {"annotations": []}}
        if change.get("params") and math.inf in getattr(change["params"], "values", list)():
            continue  # not JSON
        raw = orjson.dumps(body)
        typed = decode(raw)
        assert typed is not None
        try:
            generic = "ok", load_envelope(json.loads(raw))[0]
        except BodyError as exc:
            generic = "error", str(exc)
        assert _outcome(typed[0]) == generic
