"""The extraction pass: the typed decode and the careful reading (both with the Structs of validator/scale/format.py)
agree on well-formed input, and the careful reading names what is off, annotation by annotation."""
import json

import numpy as np
import pytest

from tests.support.servers import examples_dir
from validator.scale.annotations import extract
from validator.testing.payloads import make_body
from validator.testing import box, cuboid, ellipse, line, point, polygon


def _same(a, b):
    assert a.uuids == b.uuids
    assert a.type_names == b.type_names
    assert a.labels == b.labels
    assert a.attributes == b.attributes
    assert a.request_index == b.request_index
    assert a.uuid_order == b.uuid_order
    np.testing.assert_array_equal(a.edges, b.edges)
    np.testing.assert_array_equal(a.coords, b.coords)
    np.testing.assert_array_equal(a.box, b.box)
    assert a.given_vertices.keys() == b.given_vertices.keys()
    for k in a.given_vertices:
        np.testing.assert_array_equal(a.given_vertices[k], b.given_vertices[k])
    assert a.vertex_descriptions == b.vertex_descriptions
    assert a.cuboid_edges == b.cuboid_edges
    assert a.malformed == b.malformed
    assert a.unlisted == b.unlisted


def _bodies():
    for path in sorted(examples_dir().glob("*.json")):
        yield path.name, json.loads(path.read_text())
    yield "generated-realistic", make_body(500, seed=3)
    yield "generated-boxes", make_body(300, seed=4, mix="boxes")
    anns = [box(1, 2, 3, 4, uuid="b"), box(10, 10, 40, 20, rotation=0.3, uuid="r"), polygon([(0, 0), (5, 0), (2, 4)]),
            line([(0, 0), (3, 3)]), point(7, 8), ellipse(50, 50, 10, 5), cuboid(100, 100, 50, 40), {
                "uuid": "noattr", "type": "point", "label": "head", "x": 1, "y": 2}]
    yield "builders", {"response": {"annotations": [{"uuid": f"u{i}", **a} for i, a in enumerate(anns)]}}


@pytest.mark.parametrize("name,body", list(_bodies()), ids=[n for n, _ in _bodies()])
def test_fast_and_careful_paths_agree_on_well_formed_input(name, body):
    anns = body["response"]["annotations"]
    fast = extract(anns)
    careful = extract(anns, careful=True)
    _same(fast, careful)
    assert not fast.malformed
    assert len(fast) == len(anns)


def test_box_corners_rotate_clockwise_about_the_centre():
    a = extract([box(400, 300, 200, 100, rotation=0.5236, uuid="s")])
    np.testing.assert_allclose(a[0].xy, [[438.4, 256.7], [611.6, 356.7], [561.6, 443.3], [388.4, 343.3]], atol=0.05)


def test_one_bad_annotation_sends_the_request_down_the_careful_path_and_only_it_is_set_aside():
    anns = [box(0, 0, 10, 10, uuid="ok1"), box(0, 0, True, 10, uuid="bad"), point(1, 2, uuid="ok2"),
            polygon([(0, 0), (1, float("nan")), (2, 2)], uuid="nan")]
    a = extract(anns)
    assert a.uuids == ["ok1", "ok2"]
    assert a.request_index == [0, 2]
    assert [(m.uuid, m.kind) for m in a.malformed] == [("bad", "malformed"), ("nan", "non_finite")]
    assert a.uuid_order == {"ok1": 0, "bad": 1, "ok2": 2, "nan": 3}
    np.testing.assert_array_equal(a.by_uuid["ok2"].xy, [[1, 2]])


def test_annotation_views_expose_the_columns():
    a = extract([box(1, 2, 3, 4, uuid="b", attributes={"k": "v"}), cuboid(10, 10, 20, 20, uuid="c")])
    b, c = a
    assert (b.uuid, b.type, b.label, b.attributes, b.index, b.pos) == ("b", "box", "car", {"k": "v"}, 0, 0)
    assert (b.left, b.top, b.width, b.height, b.rotation) == (1, 2, 3, 4, 0.0)
    assert b.given_vertices is None and not b.is_rotated
    assert c.vertex_descriptions[0] == "face-topleft" and len(c.xy) == 6
    assert np.isnan(c.width)
    assert a.by_uuid["c"] == c and "zzz" not in a.by_uuid


# -- the typed fast path (msgspec) gives the same answers as the general path ------------------------------------------
def _forced_general(body_bytes: bytes) -> bytes:
    """The same body with a NaN literal in a task field no rule reads: the typed decode refuses any NaN, so the body
    is parsed generically and its annotations read by the careful path (the production code, nothing patched)."""
    from validator.scale import jsonio

    body = jsonio.loads(body_bytes)
    body["task"]["zz_not_read"] = float("nan")
    return jsonio.encode_body(body)


def _answers_agree(body_bytes: bytes):
    engine = _engine()
    fast = engine.validate_bytes(body_bytes)
    general = engine.validate_bytes(_forced_general(body_bytes))
    assert general.stats.get("fast_path") == 0
    assert fast.answer == general.answer
    assert [(i.instance, i.uuid, i.error_type, i.extra, i.locations) for i in fast.issues] == \
        [(i.instance, i.uuid, i.error_type, i.extra, i.locations) for i in general.issues]
    return fast


_ENGINE = []


def _engine():
    from validator.engine.engine import Engine

    if not _ENGINE:
        _ENGINE.append(Engine.from_config_file(None))
    return _ENGINE[0]


@pytest.mark.parametrize("name,body", list(_bodies()), ids=[n for n, _ in _bodies()])
def test_typed_fast_path_is_taken_and_agrees(name, body):
    import orjson

    if "task" not in body:
        from validator.testing import make_task

        body = {"task": make_task(), **body}
    result = _answers_agree(orjson.dumps(body))
    assert result.stats.get("fast_path") == 1


def test_fast_path_with_defects_agrees_with_the_general_path():
    import orjson

    result = _answers_agree(orjson.dumps(make_body(1000, seed=5, defect_rate=0.05)))
    assert result.stats.get("fast_path") == 1
    assert not result.passed


@pytest.mark.parametrize("mutation", [
    lambda a: a.__setitem__("left", True),
    lambda a: a.__setitem__("uuid", ""),
    lambda a: a.pop("label"),
    lambda a: a.__setitem__("type", "circle"),
    lambda a: a.__setitem__("attributes", [1]),
    lambda a: a.__setitem__("top", None),
    lambda a: a.__setitem__("width", "10"),
    lambda a: a.__setitem__("rotation", False),
], ids=["bool", "empty-uuid", "no-label", "unknown-type", "attributes-list", "null", "string-number",
        "bool-rotation"])
def test_a_malformed_annotation_takes_the_general_path_with_the_same_answer(mutation):
    import orjson

    body = make_body(50, seed=6, mix="boxes")
    mutation(body["response"]["annotations"][7])
    result = _answers_agree(orjson.dumps(body))
    assert result.stats.get("fast_path") == 0
    assert not result.passed


def test_nan_and_duplicate_uuids_take_the_general_path():
    import orjson

    body = make_body(20, seed=7, mix="boxes")
    body["response"]["annotations"][3]["uuid"] = body["response"]["annotations"][2]["uuid"]
    assert _answers_agree(orjson.dumps(body)).stats.get("fast_path") == 0
    raw = orjson.dumps(make_body(20, seed=7, mix="boxes")).replace(b'"left":', b'"left":NaN,"x_":', 1)
    assert _answers_agree(raw).stats.get("fast_path") == 0


def test_rules_can_still_read_the_original_dicts_on_the_fast_path():
    import orjson

    body = make_body(30, seed=8)
    body["response"]["annotations"][0]["custom_field"] = {"kept": True}
    body["response"]["links"] = [{"from": "a", "to": "b"}]
    from validator.engine.engine import _LazyBody
    from validator.scale.annotations import from_typed
    from validator.scale.envelope import decode

    raw = orjson.dumps(body)
    _, response = decode(raw)
    lazy = _LazyBody(raw)
    cols = from_typed(response.annotations, lazy.annotations)
    assert cols.raws[0]["custom_field"] == {"kept": True}
    assert lazy.response()["links"] == [{"from": "a", "to": "b"}]


def test_cuboid_edges_are_a_column_on_every_path():
    import orjson

    from validator.engine.engine import _LazyBody
    from validator.scale.annotations import from_typed
    from validator.scale.envelope import decode

    body = {"task": {}, "response": {"annotations": [cuboid(10, 10, 40, 30, uuid="c"), box(0, 0, 5, 5, uuid="b")]}}
    anns = body["response"]["annotations"]
    want = anns[0]["edges"]
    raw = orjson.dumps(body)
    _, response = decode(raw)
    typed = from_typed(response.annotations, _LazyBody(raw).annotations)
    for a in (typed, extract(anns), extract(anns, careful=True)):
        assert a.cuboid_edges == {0: want}
        assert a.by_uuid["c"].edges == want and a.by_uuid["b"].edges is None


def _mutations(seed: int, count: int):
    """Seeded mutations of generated bodies: a value replaced somewhere inside one annotation."""
    import random

    rng = random.Random(seed)
    values = [None, True, False, "x", "", [], {}, 0, -1, 1e300, 2 ** 70, [1, 2], {"x": 1}, 3.5]
    for k in range(count):
        body = make_body(40, seed=k, defect_rate=0.1)
        anns = body["response"]["annotations"]
        target = anns[rng.randrange(len(anns))]
        path = [target]
        node = target
        while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append(key)
            if not isinstance(node[key], (dict, list)):
                break
            node = node[key]
        if len(path) > 1 and isinstance(node, (dict, list)):
            key = path[-1]
            parent = target
            for p in path[1:-1]:
                parent = parent[p]
            try:
                parent[key] = rng.choice(values)
            except (TypeError, IndexError):
                pass
        yield body


@pytest.mark.parametrize("seed", range(4))
def test_fast_and_general_paths_agree_on_mutated_bodies(seed):
    taken = set()
    for body in _mutations(seed, 25):
        result = _answers_agree(json.dumps(body).encode())
        taken.add(result.stats.get("fast_path"))
    assert taken == {0, 1}, "the mutations should exercise both paths"


@pytest.mark.parametrize("seed", range(6))
def test_typed_decode_and_careful_reading_give_the_same_columns_on_mutated_bodies(seed):
    """600 mutated bodies: whenever the typed decode takes a body, the careful reading of the same annotations (with
    the same Structs) gives identical columns; when it refuses one, the careful reading sets something aside."""
    import orjson

    from validator.scale.annotations import from_typed
    from validator.scale.envelope import decode

    typed_taken = refused = 0
    for body in _mutations(100 + seed, 100):
        raw = json.dumps(body).encode()
        anns = body["response"]["annotations"]
        careful = extract(anns)
        _same(careful, extract(anns, careful=True))  # chunked conversion = one by one
        typed = decode(raw)
        cols = from_typed(typed[1].annotations or [], list) if typed is not None else None
        if cols is not None:
            typed_taken += 1
            _same(cols, careful)
            assert not careful.malformed
        else:
            refused += 1
            assert careful.malformed or careful.unlisted, orjson.dumps(anns)[:300]
    assert typed_taken > 10 and refused > 10
