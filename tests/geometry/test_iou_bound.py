"""``iou_upper_bound`` (validator/geometry/pairs.py) never under-estimates shapely's IoU, so pruning candidate pairs
with it before the exact intersection (duplicate_annotation) can never drop a duplicate, also on the shoelace areas
of outlines proven simple (``Outlines.simple_areas``, within their error bound of shapely's areas); and
``shape_overlaps``, which tests ``intersects`` before computing an intersection, still gives shapely's areas."""
from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import assume, given, strategies as st

from validator.geometry.pairs import envelope_overlap_areas, iou_upper_bound, shape_overlaps
from validator.geometry.polygons import Outlines, self_crossings

from .strategies import KERNEL, points


def _valid(g):
    return shapely.make_valid(g) if not shapely.is_valid(g) else g


def _iou(a, b) -> float:
    inter = shapely.area(shapely.intersection(a, b))
    # GEOS' floating overlay is not robust on every repaired shape: with a repaired bow-tie whose new node lies on
    # the other shape's edge it can return the whole bow-tie as the overlap (585.6, more than the true 1.03 and once
    # more than the other shape's own area). Such an oracle answer says nothing about the bound: inputs where the
    # overlay disagrees with the same overlay on a fine grid (or exceeds an area) are skipped, not trusted.
    scale = max([1.0, *(abs(c) for c in shapely.bounds(shapely.union(a, b)) if c == c)])  # (empty: no bounds)
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


@st.composite
def _stars(draw) -> list[tuple[float, float]]:
    """A star-shaped outline (what ``Outlines.simple_areas`` proves simple): angles in order around a centre, radii
    anything from nearly 0, at any scale and place (tiny, huge, far from the origin), sometimes a vertex
    repeated or the outline closed by repeating its first vertex (not simple for the proof: left to shapely)."""
    k = draw(st.integers(3, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-6, 1e-3, 1.0, 50.0, 1e4, 1e8]))
    cx, cy = draw(st.sampled_from([0.0, 1.0, 1e4, 1e7, -3e5])), draw(st.sampled_from([0.0, 0.5, 1e4, 1e7]))
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = scale * rng.uniform(draw(st.sampled_from([1e-9, 0.01, 0.5, 0.99])), 1.0, k)
    pts = [(float(cx + a * np.cos(b)), float(cy + a * np.sin(b))) for a, b in zip(r, t)]
    if draw(st.integers(0, 9)) == 0:
        pts.append(pts[0])
    if draw(st.integers(0, 9)) == 0:
        pts.insert(k // 2, pts[k // 2])
    return pts


_outlines = st.one_of(_stars(), points(min_size=3, max_size=12))


@KERNEL
@given(st.lists(_outlines, min_size=1, max_size=5))
def test_simple_areas_are_within_their_bound_of_shapely_and_only_for_valid_outlines(polys):
    o = Outlines(np.array([p for poly in polys for p in poly]), np.array([len(p) for p in polys]))
    area, err = o.simple_areas()
    star = o.star_shaped()
    for k, poly in enumerate(polys):
        if math.isnan(area[k]):
            assert math.isnan(err[k])
            continue
        g = shapely.Polygon(poly)
        assert star[k] and shapely.is_valid(g)  # so the exact measure takes this very geometry, unrepaired
        assert 0 <= err[k] < 0.5 * area[k]
        assert abs(shapely.area(g) - area[k]) <= err[k]


def test_simple_areas_on_a_table():
    square, bow_tie = [(0, 0), (4, 0), (4, 4), (0, 4)], [(0, 0), (4, 4), (4, 0), (0, 4)]
    closed = square + [(0, 0)]  # the closing vertex repeated: Outlines drops it, the square is proven
    doubled = [(0, 0), (0, 0), (4, 0), (4, 4), (4, 4), (0, 4)]  # double clicks: the same
    o = Outlines(np.array(square + bow_tie + closed + doubled, dtype=float), np.array([4, 4, 5, 6]))
    area, err = o.simple_areas()
    assert area[[0, 2, 3]].tolist() == [16.0, 16.0, 16.0] and np.isnan(area[1]) and np.isnan(err[1])
    assert 0 < err[0] < err[2] < err[3] < 1e-9  # the bound grows with the vertices as given (GEOS measures those)


@KERNEL
@given(_stars(), _outlines, st.floats(0, 1), st.floats(0, 1), st.floats(0.5, 1.5))
def test_the_bound_with_simple_areas_is_never_below_shapely_iou(p, q, fx, fy, grow):
    """Near-copies (shifted by up to a fraction of the size, grown or shrunk), and any outline paired with a star:
    the bound on shoelace areas and their error never falls below the IoU of the shapes the exact measure uses."""
    a = shapely.Polygon(p)
    x0, y0, x1, y1 = shapely.bounds(a).tolist()
    dx, dy = fx * (x1 - x0) * 0.2, fy * (y1 - y0) * 0.2
    shifted = [(x0 + (x - x0) * grow + dx, y0 + (y - y0) * grow + dy) for x, y in p]
    for other in (shifted, q):
        b = shapely.Polygon(other)
        o = Outlines(np.array(p + other, dtype=float), np.array([len(p), len(other)]))
        area, err = o.simple_areas()
        ga, gb = _valid(a), _valid(b)
        exact = np.array([shapely.area(ga), shapely.area(gb)])
        err = np.where(np.isnan(area), 0.0, err)
        area = np.where(np.isnan(area), exact, area)
        env = np.array([shapely.bounds(ga)]), np.array([shapely.bounds(gb)])
        bound = float(iou_upper_bound(area[:1], area[1:], *env, err[:1], err[1:])[0])
        assert bound >= _iou(ga, gb) * (1 - 1e-9) - 1e-12


@KERNEL
@given(st.lists(st.one_of(_outlines, points(min_size=3, max_size=30)), min_size=1, max_size=5))
def test_searched_simple_areas_are_within_their_bound_of_shapely_and_only_for_valid_outlines(polys):
    """Once the crossing search ran (``self_crossings``), ``simple_areas(searched=True)`` also gives the areas of
    the concave outlines it proves simple: each within its bound of shapely's area of that very (valid) polygon,
    and exactly for the outlines shapely finds simple (3+ distinct corners, area well above rounding)."""
    o = Outlines(np.array([p for poly in polys for p in poly], dtype=float), np.array([len(p) for p in polys]))
    assert o.simple() is None
    self_crossings(o)
    proven = o.simple()
    area, err = o.simple_areas(searched=True)
    star_area = o.simple_areas()[0]
    for k, poly in enumerate(polys):
        g = shapely.Polygon(poly)
        if not math.isnan(star_area[k]):
            assert area[k] == star_area[k]  # what numpy alone proved, unchanged
        if math.isnan(area[k]):
            assert math.isnan(err[k])
            continue
        assert proven[k] and shapely.is_valid(g) and shapely.is_simple(g.exterior)
        assert 0 <= err[k] < 0.5 * area[k]
        assert abs(shapely.area(g) - area[k]) <= err[k]
