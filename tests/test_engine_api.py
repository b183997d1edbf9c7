"""The public helpers rules are written with (validator/engine/context.py): select, Selection arrays, where, report,
pairs, inside, @analysis; checked against shapely (tables and hypothesis-generated shapes) and by work counters."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from validator import Issue, Selection, WorkLimitExceeded, analysis
from validator.engine.context import MAX_CANDIDATES, Context
from validator.scale.annotations import extract
from validator.scale.task import TaskSpec
from validator.testing import box, cuboid, ellipse, line, make_task, point, polygon


def context(anns: list[dict]) -> Context:
    raw = [{"uuid": f"u{k}", **a} if "uuid" not in a else a for k, a in enumerate(anns)]
    annotations = extract(raw)
    return Context(TaskSpec.from_task(make_task()), annotations, {"annotations": raw})


SCENE = [box(0, 0, 10, 10, label="car"), box(5, 5, 10, 10, label="car"), point(1, 1, label="headlight"),
         point(50, 50, label="headlight"), box(10, 0, 5, 5, label="truck"), polygon([(20, 20), (30, 20), (25, 30)],
                                                                                    label="car")]


# -- select, arrays, where --------------------------------------------------------------------------------------------
def test_select_by_type_and_label_from_every_annotation():
    ctx = context(SCENE)
    assert ctx.annotations.select(type="box").uuids == ["u0", "u1", "u4"]
    assert ctx.annotations.select(labels="car").uuids == ["u0", "u1", "u5"]
    assert ctx.select(type=["box", "polygon"], labels=["car", "truck"]).uuids == ["u0", "u1", "u4", "u5"]
    assert ctx.select(labels=["no-such-label"]).uuids == []
    assert len(ctx.select()) == len(SCENE)
    with pytest.raises(ValueError, match="unknown geometry type 'boxes'"):
        ctx.select(type="boxes")


def test_selection_arrays_and_narrowing():
    ctx = context(SCENE)
    boxes = ctx.select(type="box")
    assert boxes.labels == ["car", "car", "truck"]
    assert boxes.bounds.tolist() == [[0, 0, 10, 10], [5, 5, 15, 15], [10, 0, 15, 5]]
    assert boxes.anchors.tolist() == [[0, 0], [5, 5], [10, 0]]
    assert boxes.select(labels="truck").uuids == ["u4"]
    assert boxes.of_type("polygon").uuids == []
    assert boxes.where(np.array([True, False, True])).uuids == ["u0", "u4"]
    assert [a.uuid for a in boxes] == ["u0", "u1", "u4"] and boxes[1].label == "car"
    with pytest.raises(ValueError, match="mask"):
        boxes.where([True])
    assert boxes.box[:, :4].tolist() == [[0, 0, 10, 10], [5, 5, 10, 10], [10, 0, 5, 5]]
    shapes = ctx.select(labels="car")
    xy, starts, counts = shapes.vertices
    assert counts.tolist() == [4, 4, 3] and starts.tolist() == [0, 4, 8]
    assert xy[8:].tolist() == [[20, 20], [30, 20], [25, 30]] and xy[:4].tolist() == [[0, 0], [10, 0], [10, 10], [0, 10]]
    assert shapes.vertices is shapes.vertices  # gathered once


def test_report_one_issue_per_annotation():
    ctx = context(SCENE)
    boxes = ctx.select(type="box")
    assert boxes.report("small") == [Issue("u0", "small", ((0.0, 0.0),)), Issue("u1", "small", ((5.0, 5.0),)),
                                     Issue("u4", "small", ((10.0, 0.0),))]
    assert [i.locations for i in boxes.report("c", at="centre")] == [((5.0, 5.0),), ((10.0, 10.0),), ((12.5, 2.5),)]
    assert [i.locations for i in boxes.report("n", at=None)] == [(), (), ()]
    assert [i.extra for i in boxes.report(["a", "b", "c"], error_type="t")] == ["a", "b", "c"]
    assert {i.error_type for i in boxes.report(["a", "b", "c"], error_type="t")} == {"t"}
    at = np.array([[1, 2], [math.nan, 0], [3, 4]])
    assert [i.locations for i in boxes.report("p", at=at)] == [((1.0, 2.0),), (), ((3.0, 4.0),)]
    assert [i.locations for i in boxes.report("l", at=[[(1, 1), (2, 2)], None, (7, 8)])] == \
        [((1.0, 1.0), (2.0, 2.0)), (), ((7.0, 8.0),)]
    with pytest.raises(ValueError):
        boxes.report(["only one"])
    with pytest.raises(ValueError):
        boxes.report("x", at="middle")
    assert ctx.select(labels="nothing").report("x") == []


# -- pairs ------------------------------------------------------------------------------------------------------------
def test_pairs_within_and_between_selections():
    ctx = context(SCENE)
    cars = ctx.select(type="box", labels="car")
    assert [p.tolist() for p in cars.pairs()] == [[0], [1]]
    lights = ctx.select(labels="headlight")
    assert [p.tolist() for p in lights.pairs(cars)] == [[2], [0]]  # (1, 1) is in car u0 only
    boxes = ctx.select(type="box")
    # both orientations when the selections share annotations; never an annotation with itself
    assert [p.tolist() for p in boxes.pairs(boxes)] == [[0, 0, 1, 1, 4, 4], [1, 4, 0, 4, 0, 1]]
    assert [p.tolist() for p in lights.pairs(cars, grow=10)] == [[2, 2], [0, 1]]  # both sides grow: 20 px apart
    assert len(lights.pairs(ctx.select(labels="none"))) == 0
    assert ctx.geometry.stats["pair_candidates"] > 0


def _brute_pairs(ctx, a: Selection, b: Selection, grow: float) -> set[tuple[int, int]]:
    env = ctx.geometry.envelopes
    out = set()
    for i in a.positions.tolist():
        for j in b.positions.tolist():
            if i == j or not (ctx.geometry.exists[i] and ctx.geometry.exists[j]):
                continue
            ei, ej = env[i] + [-grow, -grow, grow, grow], env[j] + [-grow, -grow, grow, grow]
            if ei[0] <= ej[2] and ej[0] <= ei[2] and ei[1] <= ej[3] and ej[1] <= ei[3]:
                out.add((i, j))
    return out


coordinate = st.integers(0, 60).map(float)
shapes = st.one_of(
    st.builds(lambda x, y, w, h: box(x, y, w, h), coordinate, coordinate, st.integers(0, 20), st.integers(0, 20)),
    st.builds(lambda x, y, w, h, r: box(x, y, w, h, rotation=r), coordinate, coordinate, st.integers(1, 20),
              st.integers(1, 20), st.floats(-3, 3)),
    st.builds(lambda x, y: point(x, y), coordinate, coordinate),
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=7).map(lambda pts: polygon(pts)),
    st.builds(lambda x, y, rx, ry: ellipse(x, y, rx, ry), coordinate, coordinate, st.integers(1, 15),
              st.integers(1, 15)),
    st.builds(lambda x, y: cuboid(x, y, 10, 8), coordinate, coordinate),
    st.lists(st.tuples(coordinate, coordinate), min_size=2, max_size=4).map(lambda pts: line(pts)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(shapes, min_size=0, max_size=25), st.integers(0, 2**31), st.sampled_from([0.0, 2.5]))
def test_pairs_between_agree_with_every_pair_compared(anns, seed, grow):
    ctx = context(anns)
    rnd = np.random.default_rng(seed)
    a = Selection(ctx.annotations, np.flatnonzero(rnd.random(len(anns)) < 0.6))
    b = Selection(ctx.annotations, np.flatnonzero(rnd.random(len(anns)) < 0.6))
    first, second = a.pairs(b, grow=grow)
    got = list(zip(first.tolist(), second.tolist()))
    assert got == sorted(set(got))  # sorted, no repeats
    assert set(got) == _brute_pairs(ctx, a, b, grow)


# -- inside -----------------------------------------------------------------------------------------------------------
def test_points_inside_shapes_table():
    anns = [point(5, 5), point(10, 10), point(100, 100), point(12, 2), point(30, 22), point(56, 47), point(80, 10),
            box(0, 0, 10, 10), box(40, 40, 20, 4, rotation=0.7), polygon([(20, 20), (40, 20), (30, 40)]),
            ellipse(80, 10, 5, 3), line([(100, 0), (100, 200)]), point(12, 2)]
    ctx = context(anns)
    pts = ctx.select(type="point")
    holders = ctx.select(type=["box", "polygon", "ellipse", "line", "point"])
    got = pts.inside(holders).tolist()
    # inside, on the corner, outside (a line holds nothing), a point (holds nothing), polygon, rotated box, ellipse
    assert got == [True, True, False, False, True, True, True, False]
    assert not pts.inside(ctx.select(labels="nothing")).any()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(shapes, min_size=0, max_size=20), st.lists(st.tuples(coordinate, coordinate), max_size=15))
def test_inside_agrees_with_shapely(anns, xys):
    ctx = context([point(x, y) for x, y in xys] + anns)
    pts = ctx.select(type="point")
    holders = ctx.select().where(np.arange(len(ctx.annotations)) >= len(xys))
    got = pts.inside(holders)
    geo = ctx.geometry
    areal = [g for p, g in zip(holders.positions.tolist(), geo.geoms_of(holders.positions))
             if g is not None and ctx.annotations.type_names[p] not in ("line", "point")]
    for k, (x, y) in enumerate(pts.anchors.tolist()):
        expected = any(shapely.intersects(g, shapely.Point(x, y)) for g in areal)
        assert got[k] == expected, (x, y)


def test_identical_points_and_boxes_are_looked_at_once():
    n = 5000
    ctx = context([box(10, 10, 30, 30) for _ in range(n)] + [point(20, 20) for _ in range(n)])
    assert ctx.select(type="point").inside(ctx.select(type="box")).all()
    assert ctx.geometry.stats["point_candidates"] == 1


def test_work_beyond_the_bound_is_a_work_limit_not_an_answer():
    # distinct nested boxes over distinct points: every (point, box) pair meets
    n = int(math.isqrt(MAX_CANDIDATES)) + 50
    ctx = context([box(k * 0.01, k * 0.01, 1000, 1000) for k in range(n)]
                  + [point(100 + k * 0.01, 500) for k in range(n)])
    with pytest.raises(WorkLimitExceeded):
        ctx.select(type="point").inside(ctx.select(type="box"))


# -- analysis ---------------------------------------------------------------------------------------------------------
calls: list[str] = []


@analysis
def label_counts(ctx):
    calls.append("label_counts")
    counts: dict[str, int] = {}
    for label in ctx.annotations.labels:
        counts[label] = counts.get(label, 0) + 1
    return counts


@analysis
def widest(ctx, sel: Selection, minimum: float):
    calls.append("widest")
    b = sel.bounds
    return float(max((b[:, 2] - b[:, 0]).max(initial=0), minimum))


def test_an_analysis_is_computed_once_per_request_and_arguments():
    calls.clear()
    ctx = context(SCENE)
    assert label_counts(ctx) is label_counts(ctx)
    assert label_counts(ctx)["car"] == 3
    boxes = ctx.select(type="box")
    assert widest(ctx, boxes, 0.0) == 10.0
    assert widest(ctx, ctx.select(type="box"), 0.0) == 10.0  # an equal selection: the same analysis
    assert widest(ctx, boxes, 50.0) == 50.0
    assert widest(ctx, ctx.select(labels="headlight"), 0.0) == 0.0
    assert calls == ["label_counts", "widest", "widest", "widest"]
    other = context(SCENE)  # another request: computed again
    label_counts(other)
    assert calls[-1] == "label_counts"


_SHAPES = st.sampled_from(["box", "point", "line", "polygon", "ellipse"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(_SHAPES, min_size=0, max_size=12), picks=st.data())
def test_selection_vertices_match_the_general_gather(kinds, picks):
    """The slice taken for a run of consecutive annotations and the gather give the rows AnnotationSet.rows_of
    names, for every subset (and the empty one)."""
    make = {"box": lambda k: box(k, k, 3, 2), "point": lambda k: point(k, 2 * k),
            "line": lambda k: line([(k, 0), (k + 1, 1), (k + 2, 0)][: 2 + k % 2]),
            "polygon": lambda k: polygon([(k, 0), (k + 4, 0), (k + 2, 3)]), "ellipse": lambda k: ellipse(k, k, 2, 1)}
    ctx = context([make[kind](k) for k, kind in enumerate(kinds)])
    a = ctx.annotations
    chosen = picks.draw(st.lists(st.sampled_from(range(len(kinds))), unique=True) if kinds else st.just([]))
    for positions in (np.array(sorted(chosen), dtype=np.intp), np.arange(len(kinds), dtype=np.intp)):
        xy, starts, counts = Selection(a, positions).vertices
        want_counts = a.counts[positions]
        np.testing.assert_array_equal(counts, want_counts)
        np.testing.assert_array_equal(starts, want_counts.cumsum() - want_counts)
        expected = a.coords[a.rows_of(positions)]
        assert xy.shape == expected.shape and xy.dtype == expected.dtype
        np.testing.assert_array_equal(xy, expected)
        assert xy.flags.writeable and not np.shares_memory(xy, a.coords)
