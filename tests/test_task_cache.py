"""The per-worker cache of what task params yield (validator/scale/task.py, validator/scale/envelope.py): a task
whose params read the same gets the same spec as without the cache, and params that differ in any byte read get
their own entry."""
from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from validator import params_analysis
from validator.engine.engine import Engine
from validator.scale import envelope, task as task_mod
from validator.scale.envelope import BodyError
from validator.scale.task import PARAMS_CACHE_MAX_KEY, PARAMS_CACHE_SIZE, PARAMS_MEMO_WEIGHT, TaskSpec
from validator.testing.payloads import make_body

BASE = {"geometries": {"box": {"objects_to_annotate": ["car", {"choice": "animal", "subchoices": ["cat", "dog"]}],
                               "min_width": 5, "min_height": 5},
                       "polygon": {"objects_to_annotate": ["road"], "min_vertices": 3}},
        "annotation_attributes": {"n": {"type": "number", "min": 0, "max": 10},
                                  "c": {"type": "category", "choices": ["a", "b"]}},
        "padding": 2, "attachment": "https://example.com/1.jpg"}

VARIANTS = [
    lambda p: p,
    lambda p: {**p, "attachment": "https://example.com/2.jpg"},  # not read: the same entry
    lambda p: {**p, "padding": 2.0},
    lambda p: {**p, "padding": "3"},
    lambda p: {**p, "paddingX": 1},
    lambda p: {k: v for k, v in p.items() if k != "padding"},
    lambda p: {**p, "geometries": {**p["geometries"], "box": {**p["geometries"]["box"], "min_width": 5.5}}},
    lambda p: {**p, "geometries": {**p["geometries"], "box": {**p["geometries"]["box"], "min_width": None}}},
    lambda p: {**p, "geometries": {"polygon": p["geometries"]["polygon"], "box": p["geometries"]["box"]}},
    lambda p: {**p, "geometries": {"box": {"objects_to_annotate": ["car", "cat"]}}},
    lambda p: {**p, "annotation_attributes": {"n": {"type": "number", "min": 0, "max": 11}}},
    lambda p: {**p, "annotation_attributes": None},
    lambda p: {k: v for k, v in p.items() if k != "annotation_attributes"},
]


def _spec(raw_task: dict, cache: bool) -> TaskSpec:
    parsed = orjson.loads(orjson.dumps(raw_task))  # as the typed path reads it
    return TaskSpec.from_task(envelope.load_task(parsed, cache=cache), cache=cache)


def _task(params: dict) -> dict:
    return {"task_id": "t", "type": "imageannotation", "params": params,
            "metadata": {"image_width": 100, "image_height": 80}}


def _same(a: TaskSpec, b: TaskSpec) -> None:
    assert (a.geometries, a.attributes, a.padding_x, a.padding_y, a.params) == \
        (b.geometries, b.attributes, b.padding_x, b.padding_y, b.params)
    assert list(a.geometries) == list(b.geometries) and list(a.attributes) == list(b.attributes)
    assert orjson.dumps(a.params) == orjson.dumps(b.params)


def test_cached_specs_equal_uncached_ones_for_every_variant():
    for _ in range(2):  # the second round reads every variant from the cache
        for make in VARIANTS:
            params = make(copy.deepcopy(BASE))
            _same(_spec(_task(params), cache=True), _spec(_task(params), cache=False))


def test_params_read_the_same_share_an_entry_and_others_do_not():
    task_mod._params_cache.clear()
    a = _spec(_task(BASE), cache=True)
    b = _spec(_task({**BASE, "attachment": "other"}), cache=True)
    assert a.geometries is b.geometries  # the attachment is not read: one entry
    assert b.params["attachment"] == "other"  # (the task's own params are kept)
    box = {**BASE["geometries"]["box"], "min_width": 5.0}  # 5 and 5.0 are different bytes: their own entry
    c = _spec(_task({**BASE, "geometries": {**BASE["geometries"], "box": box}}), cache=True)
    assert c.geometries is not a.geometries and c.geometries["box"].options["min_width"] == 5.0


def test_the_cache_is_bounded():
    for i in range(PARAMS_CACHE_SIZE + 10):
        _spec(_task({**BASE, "padding": i}), cache=True)
    assert len(task_mod._params_cache) <= PARAMS_CACHE_SIZE
    assert len(envelope._checked_params) <= PARAMS_CACHE_SIZE


def test_large_params_are_not_kept():
    """The cache's memory is bounded, not only its entries: params too large to key are read afresh each time."""
    task_mod._params_cache.clear(), envelope._checked_params.clear()
    choices = [f"choice-{k}" for k in range(PARAMS_CACHE_MAX_KEY // 8)]
    big = {**BASE, "annotation_attributes": {"c": {"type": "category", "choices": choices}}}
    assert len(orjson.dumps(big["annotation_attributes"])) > PARAMS_CACHE_MAX_KEY
    for _ in range(2):
        _same(_spec(_task(big), cache=True), _spec(_task(big), cache=False))
    assert not task_mod._params_cache and not envelope._checked_params
    _spec(_task(BASE), cache=True)  # small params still are
    assert len(task_mod._params_cache) == len(envelope._checked_params) == 1


def test_an_invalid_params_is_refused_every_time():
    bad = {**BASE, "padding": "wide"}
    for _ in range(3):
        with pytest.raises(BodyError, match="task.params.padding"):
            _spec(_task(bad), cache=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(range(len(VARIANTS))), min_size=1, max_size=12),
       st.floats(min_value=0, max_value=50, allow_nan=False))
def test_engine_answers_equal_a_fresh_engine_answers(order, min_width):
    """Bodies whose params differ, in any order: each answer is that of an engine that saw no other task."""
    warm = Engine.from_config_file(None)
    for k in order:
        body = make_body(12, seed=k, defect_rate=0.3)
        params = VARIANTS[k](copy.deepcopy(BASE))
        params["geometries"] = {**params["geometries"], "box": {**params["geometries"].get("box", {}),
                                                                "min_width": min_width}}
        body["task"]["params"] = {**body["task"]["params"], **params}
        raw = orjson.dumps(body)
        task_mod._params_cache.clear(), envelope._checked_params.clear()
        fresh = Engine.from_config_file(None).validate_bytes(raw).answer
        assert warm.validate_bytes(raw).answer == fresh


# -- params analyses: derived from the params alone, kept with them ---------------------------------------------------
calls: list[tuple] = []


@params_analysis
def box_labels(task, upper: bool):
    calls.append((task.task_id, upper))
    labels = sorted(task.geometries["box"].labels) if "box" in task.geometries else []
    return [label.upper() for label in labels] if upper else labels


@params_analysis(weight=len)
def heavy(task, n: int):
    calls.append(("heavy", n))
    return list(range(n))


def test_a_params_analysis_is_computed_once_per_params_and_arguments():
    task_mod._params_cache.clear(), envelope._checked_params.clear(), calls.clear()
    first = _spec({**_task(BASE), "task_id": "t1"}, cache=True)
    assert box_labels(first, False) == ["car", "cat", "dog"]
    second = _spec({**_task({**BASE, "attachment": "https://example.com/9.jpg"}), "task_id": "t2"}, cache=True)
    assert box_labels(second, False) == ["car", "cat", "dog"] and box_labels(second, True) == ["CAR", "CAT", "DOG"]
    assert calls == [("t1", False), ("t2", True)]  # the second task reads the first one's value: same params
    other = _spec(_task({**BASE, "geometries": {"box": {"objects_to_annotate": ["bus"]}}}), cache=True)
    assert box_labels(other, False) == ["bus"] and len(calls) == 3  # other params: computed for them
    uncached = _spec(_task(BASE), cache=False)  # the careful path: a memo of its own, per request
    assert box_labels(uncached, False) == ["car", "cat", "dog"] and len(calls) == 4


def test_the_conditions_mode_is_part_of_the_key():
    task_mod._params_cache.clear(), envelope._checked_params.clear(), calls.clear()
    parsed = envelope.load_task(orjson.loads(orjson.dumps(_task(BASE))), cache=True)
    specs = [TaskSpec.from_task(parsed, cache=True, conditions_mode=mode) for mode in ("and", "or", "and")]
    assert specs[0].params_memo is specs[1].params_memo  # one memo per params ...
    for spec in specs:
        box_labels(spec, False)
    assert len(calls) == 2  # ... and one value per mode


def test_what_a_params_memo_keeps_is_bounded():
    task_mod._params_cache.clear(), envelope._checked_params.clear(), calls.clear()
    spec = _spec(_task(BASE), cache=True)
    big = PARAMS_MEMO_WEIGHT // 2 + 1
    for _ in range(2):
        assert heavy(spec, big) == list(range(big))  # fits: kept
    assert calls == [("heavy", big)]
    for _ in range(2):
        assert heavy(spec, big + 1) == list(range(big + 1))  # would pass the bound: computed every time
    assert calls[1:] == [("heavy", big + 1)] * 2
    assert len(spec.params_memo) == 1


def test_the_key_of_the_raw_params_given_once_gives_the_same_specs():
    """The engine encodes the key once per request, from the params as received (``envelope.task_params_key``),
    and gives it to both caches: every variant's spec equals the uncached one, and tasks whose params read the
    same (another attachment) share one entry."""
    task_mod._params_cache.clear(), envelope._checked_params.clear()

    def keyed(raw_task: dict) -> TaskSpec:
        parsed = orjson.loads(orjson.dumps(raw_task))
        key = envelope.task_params_key(parsed)
        return TaskSpec.from_task(envelope.load_task(parsed, cache=True, key=key), cache=True, key=key)

    for variant in VARIANTS:
        raw = _task(variant(copy.deepcopy(BASE)))
        for _ in range(2):  # the second time from the cache
            _same(keyed(raw), _spec(raw, cache=False))
    a = keyed(_task(BASE))
    b = keyed(_task({**BASE, "attachment": "https://example.com/elsewhere.jpg"}))
    assert a.geometries is b.geometries and b.params["attachment"] == "https://example.com/elsewhere.jpg"
    assert envelope.task_params_key(["not", "a", "task"]) is None
    assert envelope.task_params_key({"params": None}) == envelope.task_params_key({}) == b"{}"
    # a key given as None (params too big to cache) is taken as it is: not encoded again, nothing cached
    task_mod._params_cache.clear(), envelope._checked_params.clear()
    parsed = orjson.loads(orjson.dumps(_task(BASE)))
    _same(TaskSpec.from_task(envelope.load_task(parsed, cache=True, key=None), cache=True, key=None),
          _spec(_task(BASE), cache=False))
    assert not task_mod._params_cache and not envelope._checked_params
