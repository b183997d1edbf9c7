"""``iou_upper_bound`` (validator/geometry/pairs.py) never under-estimates shapely's IoU, so pruning candidate pairs
with it before the exact intersection (duplicate_annotation) can never drop a duplicate; and ``shape_overlaps``,
which tests ``intersects`` before computing an intersection, still gives shapely's areas."""
from __future__ import annotations

import numpy as np
import shapely
from hypothesis import assume, given, strategies as st

from validator.geometry.pairs import envelope_overlap_areas, iou_upper_bound, shape_overlaps

from .strategies import KERNEL, points


def _valid(g):
    return shapely.make_valid(g) if not shapely.is_valid(g) else g


def _iou(a, b) -> float:
    inter = shapely.area(shapely.intersection(a, b))
    # GEOS' floating overlay is not robust on every repaired shape: with a repaired bow-tie whose new node lies on
    # the other shape's edge it can return the whole bow-tie as the overlap (585.6, more than the true 1.03 and once
    # more than the other shape's own area). Such an oracle answer says nothing about the bound: inputs where the
    # overlay disagrees with the same overlay on a fine grid (or exceeds an area) are skipped, not trusted.
    scale = max(1.0, *(abs(c) for c in shapely.bounds(shapely.union(a, b)) if c == c))
    try:
        snapped = shapely.area(shapely.intersection(a, b, grid_size=1e-9 * scale))
    except shapely.errors.GEOSException:  # a repaired shape with lines in it: the grid overlay refuses mixed dimensions
        snapped = inter
    assume(abs(inter - snapped) <= 1e-6 * max(shapely.area(a), shapely.area(b), 1e-300))
    assume(inter <= min(shapely.area(a), shapely.area(b)) * (1 + 1e-9) + 1e-9)
    union = shapely.area(a) + shapely.area(b) - inter
    return inter / union if union > 0 else 0.0


def _bound(a, b) -> float:
    env = np.array([shapely.bounds(a)]), np.array([shapely.bounds(b)])
    return float(iou_upper_bound(np.array([shapely.area(a)]), np.array([shapely.area(b)]), *env)[0])


@KERNEL
@given(points(), points(), st.floats(-3, 3), st.floats(-3, 3))
def test_the_bound_is_never_below_shapely_iou(p, q, dx, dy):
    a = _valid(shapely.Polygon(p))
    b = _valid(shapely.Polygon([(x + dx, y + dy) for x, y in q]))
    assert _bound(a, b) >= _iou(a, b) - 1e-9


@KERNEL
@given(points(min_size=3, max_size=8), st.floats(0, 2), st.floats(0, 2))
def test_the_bound_is_never_below_shapely_iou_for_near_copies(p, dx, dy):
    a = _valid(shapely.Polygon(p))
    b = shapely.affinity.translate(a, dx, dy)
    assert _bound(a, b) >= _iou(a, b) - 1e-9


def test_an_impossible_shapely_overlap_is_not_the_oracle():
    """The inputs hypothesis found: GEOS' overlap of a triangle and a repaired bow-tie is the whole bow-tie (once
    more than the triangle's own area); on a fine grid it is 1.03, and the bound holds against that."""
    b = _valid(shapely.Polygon([(3.0, 4.0), (0.0, 5.0), (36.0, 0.0), (36.0, 36.0)]))
    for low in (-25.0, -59.0):
        a = shapely.Polygon([(0.0, 5.0), (36.0, 0.0), (0.0, low)])
        assert abs(shapely.area(shapely.intersection(a, b)) - shapely.area(b)) < 1e-6  # GEOS' answer, wrong
        true = shapely.area(shapely.intersection(a, b, grid_size=1e-9))
        assert true < 1.1
        assert _bound(a, b) >= true / (shapely.area(a) + shapely.area(b) - true)


def test_the_bound_on_a_table():
    box = shapely.box
    # identical boxes: 1; one shifted by half its width: the envelopes share half, IoU 1/3
    assert _bound(box(0, 0, 10, 10), box(0, 0, 10, 10)) == 1.0
    assert abs(_bound(box(0, 0, 10, 10), box(5, 0, 15, 10)) - 1 / 3) < 1e-12
    # a thin diagonal band and a square with the same envelope: the smaller area bounds the overlap
    band = shapely.Polygon([(0, 0), (1, 0), (10, 9), (10, 10), (9, 10), (0, 1)])
    assert abs(_bound(band, box(0, 0, 10, 10)) - shapely.area(band) / 100) < 1e-12
    # touching or apart: 0
    assert _bound(box(0, 0, 10, 10), box(10, 0, 20, 10)) == 0.0
    assert _bound(box(0, 0, 10, 10), box(30, 30, 40, 40)) == 0.0
    # no area at all: 0, as Overlaps.iou
    assert _bound(shapely.Polygon([(0, 0), (1, 1), (2, 2)]), shapely.Polygon([(0, 0), (1, 1), (2, 2)])) == 0.0
    assert envelope_overlap_areas(np.array([[0, 0, 4, 4.0]]), np.array([[2, 1, 9, 3.0]])).tolist() == [4.0]


@KERNEL
@given(st.lists(st.tuples(points(), points()), min_size=1, max_size=6))
def test_shape_overlaps_with_the_meeting_test_first_gives_shapely_areas(pairs):
    gi = np.array([_valid(shapely.Polygon(p)) for p, _ in pairs], dtype=object)
    gj = np.array([_valid(shapely.Polygon([(x + 3.5, y) for x, y in q])) for _, q in pairs], dtype=object)
    ov, shapes = shape_overlaps(gi, gj)
    want = shapely.area(shapely.intersection(gi, gj))
    assert np.allclose(ov.inter, want, rtol=1e-9, atol=1e-9)
    assert np.allclose(ov.area_i, shapely.area(gi)) and np.allclose(ov.area_j, shapely.area(gj))
    assert all(not shapely.is_empty(s) or w == 0 for s, w in zip(shapes, want))
