"""validator.geometry.pairs against shapely.

``meeting_envelopes`` finds exactly the pairs an STRtree query of the same envelopes finds: the overlap rules and
the polygon crossing search trust it to miss nothing (and to invent nothing), on each of its paths (every pair for
small sets, in plain Python for a few envelopes, the strip sweep for larger ones), touching envelopes included.
``shape_overlaps`` gives shapely's areas (invalid shapes repaired), ``overlap_point`` a point inside the overlap.
"""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from hypothesis import given, strategies as st

from validator.geometry.pairs import (ALL_PAIRS_UP_TO, PAIRS_IN_PYTHON_UP_TO, _all_pairs, _bounded, envelope_pairs_upto,
                                      meeting_envelopes, overlap_point, shape_overlaps)

from .strategies import KERNEL, envelopes, points


def _by_strtree(env: np.ndarray) -> set[tuple[int, int]]:
    boxes = shapely.box(env[:, 0], env[:, 1], env[:, 2], env[:, 3])
    tree = shapely.STRtree(boxes)
    a, b = tree.query(boxes)  # envelope query: bounding boxes that meet, touching included
    return {(int(i), int(j)) for i, j in zip(a, b) if i < j}


def _found(env: np.ndarray) -> set[tuple[int, int]]:
    i, j = meeting_envelopes(env)
    assert (i < j).all()
    pairs = set(zip(i.tolist(), j.tolist()))
    assert len(pairs) == len(i), "each pair once"
    return pairs


def _random_envelopes(rng: np.random.Generator, m: int, size: float, grid: bool) -> np.ndarray:
    x0 = rng.uniform(0, 2000, m)
    y0 = rng.uniform(0, 1000, m)
    w = rng.uniform(0, size, m)
    h = rng.uniform(0, size, m)
    if grid:  # integer corners: many exactly touching edges and corners, zero-size envelopes, exact copies
        x0, y0, w, h = np.round(x0 / 50) * 50, np.round(y0 / 50) * 50, np.round(w / 50) * 50, np.round(h / 50) * 50
    return np.stack([x0, y0, x0 + w, y0 + h], axis=1)


# both sides of PAIRS_IN_PYTHON_UP_TO (plain Python at or below it) and of ALL_PAIRS_UP_TO (every pair at or below
# it, the sweep above it)
SIZES = [2, 3, 10, PAIRS_IN_PYTHON_UP_TO, PAIRS_IN_PYTHON_UP_TO + 1, 63, 64, 65, ALL_PAIRS_UP_TO - 1, ALL_PAIRS_UP_TO,
         ALL_PAIRS_UP_TO + 1, 200, 1000]


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("grid", [False, True], ids=["random", "grid"])
def test_same_pairs_as_an_strtree_query(m, grid):
    rng = np.random.default_rng(m)
    for size in (20.0, 150.0, 900.0):
        env = _random_envelopes(rng, m, size, grid)
        assert _found(env) == _by_strtree(env)


def test_tall_and_wide_outliers():
    """One envelope spanning every strip, one spanning everything in x, a far-away one."""
    rng = np.random.default_rng(5)
    env = _random_envelopes(rng, 300, 40.0, grid=False)
    env[0] = [0, -1e6, 5, 1e6]
    env[1] = [-1e6, 500, 1e6, 501]
    env[2] = [1e7, 1e7, 1e7 + 1, 1e7 + 1]
    assert _found(env) == _by_strtree(env)


def test_absurd_coordinates_stay_exact():
    env = np.array([[0, 0, 1, 1], [1, 1, 2, 2], [1e300, 1e300, 1.5e300, 1.5e300], [1.2e300, 1.2e300, 1.3e300, 1.3e300],
                    [-1e300, 0, 1e300, 1]] * 30, dtype=float)
    assert _found(env) == _by_strtree(env)


@KERNEL
@given(envelopes())
def test_same_pairs_as_an_strtree_query_on_generated_envelopes(env):
    if len(env) < 2:
        assert _found(env) == set()
    else:
        assert _found(env) == _by_strtree(env)


# -- overlap areas ------------------------------------------------------------------------------------------------
TABLE = [  # (a, b, shared area, where the overlap is)
    (shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15), 25.0, (7.5, 7.5)),
    (shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10), 0.0, None),  # touching: no area
    (shapely.box(0, 0, 10, 10), shapely.box(0, 0, 10, 10), 100.0, (5.0, 5.0)),
    (shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]), shapely.box(0, 0, 10, 10), 50.0, None),  # bow-tie
    (shapely.Polygon([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)]),
     shapely.box(8, 20, 22, 30), 40.0, None),  # a U: the overlap's centroid falls between the arms
]


@pytest.mark.parametrize("a, b, shared, at", TABLE)
def test_overlap_areas_on_a_table(a, b, shared, at):
    ov, shapes = shape_overlaps(np.array([a], dtype=object), np.array([b], dtype=object))
    assert ov.inter[0] == pytest.approx(shared)
    assert ov.area_i[0] == pytest.approx(shapely.make_valid(a).area)
    assert ov.area_j[0] == pytest.approx(b.area)
    point = overlap_point(shapes[0])
    if shared == 0:
        assert point is None or shapely.Point(point).distance(shapes[0]) < 1e-9
    else:
        assert point is not None and shapely.intersects(shapes[0], shapely.Point(point))
        if at is not None:
            assert point == pytest.approx(at)


@KERNEL
@given(points(min_size=3), points(min_size=3))
def test_overlap_areas_are_shapelys_on_generated_polygons(p, q):
    a, b = shapely.Polygon(p), shapely.Polygon(q)
    ov, shapes = shape_overlaps(np.array([a], dtype=object), np.array([b], dtype=object))
    va, vb = shapely.make_valid(a), shapely.make_valid(b)
    scale = max(1.0, va.area, vb.area)
    assert abs(ov.area_i[0] - va.area) <= 1e-9 * scale
    assert abs(ov.area_j[0] - vb.area) <= 1e-9 * scale
    try:
        want = shapely.intersection(va, vb).area
    except shapely.errors.GEOSException:
        want = 0.0
    assert abs(ov.inter[0] - want) <= 1e-9 * scale
    iou, frac = ov.iou()[0], ov.of_smaller()[0]
    assert 0.0 <= iou <= 1.0 + 1e-9 and 0.0 <= frac <= 1.0 + 1e-9
    if ov.inter[0] > 1e-9 * scale:
        point = overlap_point(shapes[0])
        assert point is not None and shapely.Point(point).distance(shapes[0]) <= 1e-6 * max(1.0, *map(abs, point))


@given(st.lists(st.floats(0, 100), min_size=4, max_size=4))
@KERNEL
def test_an_empty_shape_overlaps_nothing_and_its_neighbour_pair_is_measured(xs):
    x0, y0, w, h = xs
    good = shapely.box(x0, y0, x0 + w + 1, y0 + h + 1)
    ov, _ = shape_overlaps(np.array([good, good], dtype=object), np.array([good, shapely.Polygon()], dtype=object))
    assert ov.inter[0] == pytest.approx(good.area) and ov.inter[1] == 0.0


# -- a few envelopes in plain Python --------------------------------------------------------------------------------
# values a person would not think of: touching and identical edges (the grid), zero and negative zero, huge and tiny
# magnitudes, infinities, NaN (a NaN side meets nothing, on either path)
_EDGE = st.one_of(st.integers(0, 4).map(float), st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300,
                                                                 1.7976931348623157e308, np.inf, -np.inf, np.nan]),
                  st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def _few_envelopes(draw) -> np.ndarray:
    m = draw(st.integers(0, PAIRS_IN_PYTHON_UP_TO + 2))
    env = np.array(draw(st.lists(st.tuples(_EDGE, _EDGE, _EDGE, _EDGE), min_size=m, max_size=m)),
                   dtype=float).reshape(m, 4)
    lo = draw(st.lists(st.booleans(), min_size=m, max_size=m))  # mostly proper envelopes (min <= max), not always
    for k, proper in enumerate(lo):
        if proper:
            env[k] = [min(env[k, 0], env[k, 2]), min(env[k, 1], env[k, 3]),
                      max(env[k, 0], env[k, 2]), max(env[k, 1], env[k, 3])]
    copies = draw(st.integers(0, m))  # a pile of exact copies
    if copies:
        env[:copies] = env[0]
    return env


@KERNEL
@given(_few_envelopes(), st.one_of(st.none(), st.integers(0, 8)))
def test_a_few_envelopes_give_the_same_pairs_order_and_counters_as_the_numpy_path(env, limit):
    m = len(env)
    found = envelope_pairs_upto(env, limit)
    if m < 2:
        assert len(found.i) == 0 and found.complete
        return
    general = _bounded(env, *_all_pairs(env), limit, True, m * (m - 1) // 2)  # what every m <= 120 envelopes take
    if m <= PAIRS_IN_PYTHON_UP_TO:
        assert found.i.dtype == general.i.dtype == np.int64 and found.j.dtype == np.int64
    assert found.i.tolist() == general.i.tolist() and found.j.tolist() == general.j.tolist()
    assert found[2:] == general[2:]  # complete, busiest, crowd, work
