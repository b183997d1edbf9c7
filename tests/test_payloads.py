"""The seeded payload generator used by the benchmark and by large-task tests."""

from collections import Counter

import numpy as np
import orjson
import pytest
import shapely
from shapely import STRtree

from validator.testing.payloads import DEFECT_KINDS, TAXONOMY, default_image_size, defects_of, make_body


def _geom(a):
    t = a["type"]
    if t == "box":
        return shapely.box(a["left"], a["top"], a["left"] + a["width"], a["top"] + a["height"])
    if t == "polygon":
        return shapely.Polygon([(v["x"], v["y"]) for v in a["vertices"]])
    if t == "line":
        return shapely.LineString([(v["x"], v["y"]) for v in a["vertices"]])
    return shapely.Point(a["x"], a["y"])


def _anns(body):
    return body["response"]["annotations"]


def test_deterministic_for_a_seed():
    assert (orjson.dumps(make_body(500, seed=7, defect_rate=0.05))
            == orjson.dumps(make_body(500, seed=7, defect_rate=0.05)))
    assert orjson.dumps(make_body(500, seed=7)) != orjson.dumps(make_body(500, seed=8))


@pytest.mark.parametrize("n", [0, 1, 10, 100, 1000])
def test_sizes_and_unique_uuids(n):
    body = make_body(n, seed=3, defect_rate=0.03)
    anns = _anns(body)
    assert len(anns) == n
    uuids = [a["uuid"] for a in anns]
    assert len(set(uuids)) == n
    for u in uuids:
        assert len(u) == 36 and u[14] == "4"


def test_task_envelope():
    body = make_body(50, seed=1)
    task = body["task"]
    assert task["type"] == "imageannotation" and task["status"] == "pending"
    assert len(task["task_id"]) == 24 and int(task["task_id"], 16) >= 0
    assert task["project"]
    assert (task["metadata"]["image_width"], task["metadata"]["image_height"]) == default_image_size(50)
    geoms = task["params"]["geometries"]
    assert set(geoms) == {"box", "polygon", "line", "point"}
    assert geoms["box"]["min_width"] > 0 and geoms["box"]["min_height"] > 0
    assert geoms["polygon"]["min_vertices"] <= 6 and geoms["polygon"]["max_vertices"] >= 10
    assert geoms["line"]["min_vertices"] >= 2
    attrs = task["params"]["annotation_attributes"]
    assert attrs["occlusion"]["type"] == "category" and "label_condition" in attrs["occlusion"]["conditions"]
    assert attrs["num_occupants"]["type"] == "number"


def test_realistic_mix():
    counts = Counter(a["type"] for a in _anns(make_body(1200, seed=2)))
    assert counts["box"] == 600 and counts["polygon"] == 400 and counts["line"] + counts["point"] == 200
    assert counts["line"] > 0 and counts["point"] > 0
    for a in _anns(make_body(300, seed=2)):
        if a["type"] == "polygon":
            assert 6 <= len(a["vertices"]) <= 10


def test_boxes_mix():
    assert {a["type"] for a in _anns(make_body(100, mix="boxes"))} == {"box"}


def test_image_size_from_n():
    assert default_image_size(100) == (1920, 1080)
    assert default_image_size(10_000) == (8000, 8000)
    body = make_body(10, image_size=(640, 480))
    assert (body["task"]["metadata"]["image_width"], body["task"]["metadata"]["image_height"]) == (640, 480)
    with pytest.raises(ValueError):
        make_body(10_000, image_size=(640, 480))


@pytest.mark.parametrize("n,mix", [(1000, "realistic"), (2000, "boxes"), (10_000, "realistic")])
def test_well_formed_shapes_inside_and_not_overlapping(n, mix):
    body = make_body(n, seed=11, mix=mix, defect_rate=0.03)
    w, h = body["task"]["metadata"]["image_width"], body["task"]["metadata"]["image_height"]
    bad = defects_of(body)
    good = [a for a in _anns(body) if a["uuid"] not in bad]
    geoms = np.array([_geom(a) for a in good])
    assert shapely.is_valid(geoms).all() and shapely.is_simple(geoms).all()
    b = shapely.bounds(geoms)
    assert (b[:, 0] > 0).all() and (b[:, 1] > 0).all() and (b[:, 2] < w).all() and (b[:, 3] < h).all()
    pairs = STRtree(geoms).query(geoms, predicate="intersects")
    assert (pairs[0] == pairs[1]).all(), "two well-formed shapes touch or overlap"
    assert pairs.shape[1] == len(good)


def test_labels_and_attributes_valid():
    body = make_body(2000, seed=5)
    spec = body["task"]["params"]["annotation_attributes"]
    for a in _anns(body):
        assert a["label"] in {label for label, _ in TAXONOMY[a["type"]]}
        expected = {k for k, s in spec.items()
                    if a["label"] in s["conditions"].get("label_condition", {}).get("label", [])}
        assert set(a["attributes"]) == expected
        for k, v in a["attributes"].items():
            if spec[k]["type"] == "category":
                assert v in spec[k]["choices"]
            else:
                assert spec[k]["min"] <= v <= spec[k]["max"] and v == int(v)
        if a["type"] == "box":
            assert a["width"] >= 8 and a["height"] >= 8
    assert body["response"]["global_attributes"]["time_of_day"] in spec["time_of_day"]["choices"]


def test_defects_planted_as_listed():
    body = make_body(1000, seed=4, defect_rate=0.03)
    w = body["task"]["metadata"]["image_width"]
    bad = defects_of(body)
    assert len(bad) == 30
    assert Counter(bad.values()) == {k: 5 for k in DEFECT_KINDS}
    by_uuid = {a["uuid"]: a for a in _anns(body)}
    for u, kind in bad.items():
        a = by_uuid[u]
        g = _geom(a)
        if kind == "box_too_small":
            assert a["type"] == "box" and a["width"] < 8
        elif kind == "label_not_in_taxonomy":
            assert a["label"] not in {label for label, _ in TAXONOMY[a["type"]]}
        elif kind == "self_intersecting_polygon":
            assert a["type"] == "polygon" and not g.is_valid
        elif kind == "vertex_outside_image":
            assert g.bounds[0] < 0 and g.bounds[2] < w
            if a["type"] in ("polygon", "line"):
                assert g.is_simple
        elif kind == "duplicate_box":
            twins = [b for b in _anns(body) if b["type"] == "box" and b["uuid"] != u and b["label"] == a["label"]
                     and abs(b["left"] + 1 - a["left"]) < 1e-6 and abs(b["top"] + 1 - a["top"]) < 1e-6]
            assert len(twins) == 1 and twins[0]["uuid"] not in bad
        else:
            assert any(v in ("90%", "invisible") for v in a["attributes"].values())
    assert not defects_of(make_body(1000, seed=4))


def test_json_round_trip():
    body = make_body(300, seed=9, defect_rate=0.05)
    assert orjson.loads(orjson.dumps(body)) == body
