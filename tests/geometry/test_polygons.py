"""validator.geometry.polygons against shapely: width bounds, the star-shaped proof, exact orientation, and where
outlines meet themselves (both code paths of ``self_crossings``: a handful of vertices in plain Python, more with
shapely), on tables and on generated outlines."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import shapely
from hypothesis import given, strategies as st

from validator.geometry.polygons import Outlines, flatness, orientation, self_crossings

from .strategies import KERNEL, coord, points

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
CONCAVE = [(0, 0), (20, 0), (20, 20), (10, 5), (0, 20)]
BOW_TIE = [(0, 0), (10, 10), (10, 0), (0, 10)]
FIGURE_EIGHT_TOUCH = [(0, 0), (10, 0), (5, 5), (10, 10), (0, 10), (5, 5)]  # touches itself at (5, 5)
SPIKE_BACK = [(0, 0), (10, 0), (10, 10), (10, 5), (0, 10)]  # runs back along its own edge
FLAT = [(0, 0), (10, 10), (20, 20)]


def outlines_of(*polys) -> Outlines:
    return Outlines(np.array([p for poly in polys for p in poly], dtype=float), np.array([len(p) for p in polys]))


def _shapely_meetings(outline: list) -> list[tuple[float, float]]:
    """Reference: where an outline meets itself, edge pair by edge pair with shapely (GEOS), in outline order:
    a crossing or touching point, or the middle of a shared stretch; neighbours only when they share a stretch."""
    pts = outline[:1] + [q for p, q in zip(outline, outline[1:]) if q != p]
    if len(pts) > 1 and pts[-1] == pts[0]:
        pts.pop()
    n = len(pts)
    found: list[tuple[float, float]] = []
    for e in range(n):
        for f in range(e + 1, n):
            a = shapely.LineString([pts[e], pts[(e + 1) % n]])
            b = shapely.LineString([pts[f], pts[(f + 1) % n]])
            inter = shapely.intersection(a, b)
            if inter.is_empty:
                continue
            adjacent = f == e + 1 or (e == 0 and f == n - 1)
            if adjacent and inter.length == 0:
                continue
            xy = shapely.get_coordinates(inter)
            x, y = xy.mean(axis=0) if inter.length > 0 else xy[0]
            if (round(x, 6), round(y, 6)) not in {(round(u, 6), round(v, 6)) for u, v in found}:
                found.append((float(x), float(y)))
    return found


def _hull_width(pts: np.ndarray) -> float:
    """Reference width: the smallest extent over the directions of the convex hull's edges (brute force)."""
    hull = shapely.convex_hull(shapely.multipoints(pts))
    if not isinstance(hull, shapely.Polygon):
        return 0.0
    ring = shapely.get_coordinates(hull)
    best = np.inf
    for p, q in zip(ring[:-1], ring[1:]):
        d = q - p
        length = np.hypot(*d)
        if length == 0:
            continue
        best = min(best, float(np.abs(d[0] * (pts[:, 1] - p[1]) - d[1] * (pts[:, 0] - p[0])).max() / length))
    return best


def _is_flat(poly) -> bool:
    distinct, width = flatness(np.array(poly, dtype=float))
    return distinct < 3 or width <= 1e-6


@pytest.mark.parametrize("poly, simple, places", [
    (SQUARE, True, []), (CONCAVE, True, []), (BOW_TIE, False, [(5, 5)]),
    (FIGURE_EIGHT_TOUCH, False, [(5, 5)]),
    (SPIKE_BACK, False, [(10, 7.5), (10, 5)]),  # along its own edge, then back onto it
])
def test_self_crossings_on_a_table(poly, simple, places):
    found = self_crossings(outlines_of(poly))
    assert (not found) == simple == shapely.is_simple(shapely.Polygon(poly))
    if found:
        assert found[0].points == places
        assert found[0].touches == (poly is not BOW_TIE)


def test_both_paths_find_the_same_places_on_a_table():
    polys = [SQUARE, BOW_TIE, CONCAVE, FIGURE_EIGHT_TOUCH, SPIKE_BACK] * 6  # > 64 vertices: the shapely path
    found = {c.outline: c for c in self_crossings(outlines_of(*polys))}
    for k, poly in enumerate(polys):
        alone = self_crossings(outlines_of(poly))
        assert (k in found) == bool(alone)
        if alone:
            assert found[k].points == alone[0].points and found[k].touches == alone[0].touches


def test_flat_outlines_and_width_bounds_on_a_table():
    o = outlines_of(SQUARE, FLAT, [(0, 0), (100, 0), (50, 0.05)], [(7, 7), (7, 7), (7, 7)], BOW_TIE)
    assert o.thin(0.1).tolist() == [False, True, True, True, False]
    assert o.flat(np.arange(5)).tolist() == [False, True, False, True, False]
    assert o.star_shaped().tolist() == [True, False, True, False, False]
    assert flatness(np.array([(0, 0), (100, 0), (50, 0.05)]))[1] == pytest.approx(0.05, rel=1e-6)


@KERNEL
@given(st.lists(points(min_size=3, max_size=10), min_size=1, max_size=12))
def test_self_crossings_agree_with_shapely(polys):
    """Verdicts are shapely.is_simple's (flat outlines aside: they cross themselves everywhere and are reported as
    flat instead); the places are GEOS's edge intersections, on both paths."""
    o = outlines_of(*polys)
    found = {c.outline: c for c in self_crossings(o)}
    star = o.star_shaped()
    for k, poly in enumerate(polys):
        simple = shapely.is_simple(shapely.Polygon(poly))
        if star[k]:
            assert simple, poly  # the numpy proof is sound
        if _is_flat(poly):
            continue
        assert (k not in found) == simple, poly
        if k in found:
            want = _shapely_meetings([list(p) for p in poly])
            got = found[k].points
            assert len(got) == len(want), (poly, got, want)
            scale = max(1.0, *(abs(c) for p in poly for c in p))
            for (x, y), (u, v) in zip(got, want):
                assert abs(x - u) <= 1e-9 * scale and abs(y - v) <= 1e-9 * scale, (poly, got, want)


@KERNEL
@given(points(min_size=3, max_size=12), st.sampled_from([0.0, 1e-6, 0.05, 0.1, 2.0]))
def test_thin_never_misses_an_outline_that_narrow(poly, tol):
    o = outlines_of(poly)
    distinct, width = flatness(np.array(poly, dtype=float))
    if distinct >= 3:
        reference = _hull_width(np.unique(np.array(poly, dtype=float), axis=0))
        assert width == pytest.approx(reference, rel=1e-6, abs=1e-9 * max(1.0, *(abs(c) for p in poly for c in p)))
    if distinct < 3 or width <= tol:
        assert o.thin(tol)[0], (poly, width)


@KERNEL
@given(coord, coord, coord, coord, coord, coord)
def test_orientation_is_exact(ax, ay, bx, by, cx, cy):
    F = Fraction
    exact = (F(ax) - F(cx)) * (F(by) - F(cy)) - (F(ay) - F(cy)) * (F(bx) - F(cx))
    assert orientation(ax, ay, bx, by, cx, cy) == (exact > 0) - (exact < 0)


def test_orientation_of_nearly_collinear_and_absurd_points():
    assert orientation(0.1, 0.1, 0.2, 0.2, 0.30000000000000004, 0.30000000000000004) == 0
    assert orientation(0, 0, 1e300, 1e300, 1e300, 1.0000000000000002e300) == 1
    assert orientation(0, 0, 1e-300, 1e-300, 2e-300, 1.9999999999999998e-300) == -1


def test_crossing_of_nearly_collinear_edges_in_underflow_is_exact():
    """Found by hypothesis: two edges leaning by 5.6e-222 px cross at y = 1/3 exactly (x = 2/3 of the lean). GEOS
    puts the point at y = 0.4167 (its arithmetic underflows); the kernel decides and places it exactly."""
    eps = 5.626074729994591e-222
    poly = [(0.0, 1.0), (eps, 0.0), (1.0, 0.0), (0.0, 3.0), (eps, -1.0)]
    (found,) = self_crossings(outlines_of(poly))
    ((x, y),) = found.points
    assert y == pytest.approx(1 / 3, rel=1e-15) and x == pytest.approx(2 * eps / 3, rel=1e-12)


@KERNEL
@given(st.lists(points(min_size=3, max_size=30), min_size=1, max_size=6), st.integers(0, 8))
def test_max_places_only_says_whether_there_are_more(polys, most):
    o = outlines_of(*polys)
    full = {c.outline: c for c in self_crossings(o)}
    short = {c.outline: c for c in self_crossings(o, max_places=most)}
    assert short.keys() == full.keys()
    for k, c in short.items():
        if c.complete:
            assert c == full[k]
        else:
            assert len(full[k].points) > 0 and (not full[k].complete or len(full[k].points) > 0)


# -inf and inf together: the sweep takes their sum for a NaN, and answers every pair as when there is one
_box_coord = st.one_of(st.sampled_from([0.0, 1.0, 2.0, float("nan"), float("inf"), -float("inf")]), st.floats(-10, 10))


@given(st.lists(st.tuples(_box_coord, _box_coord, _box_coord, _box_coord), max_size=12))
def test_the_sweep_finds_the_same_pairs_of_meeting_boxes_as_every_pair(raw):
    from validator.geometry.polygons import _meeting_boxes

    box = [(min(a, c), min(b, d), max(a, c), max(b, d)) for a, b, c, d in raw]
    every = [(e, f) for e in range(len(box)) for f in range(e + 1, len(box))
             if box[e][0] <= box[f][2] and box[f][0] <= box[e][2] and box[e][1] <= box[f][3] and box[f][1] <= box[e][3]]
    assert _meeting_boxes(box) == every


@st.composite
def with_repeats(draw, base, nan: bool = False) -> list[tuple[float, float]]:
    """An outline of ``base`` with some vertices repeated in place (double clicks), its first vertex often repeated
    at the end (an explicitly closed outline), and (``nan``) now and then a NaN vertex or a run of them (the
    searches are not asked about those: the engine leaves non-finite shapes to non_finite_coordinate)."""
    poly = draw(base)
    times = draw(st.lists(st.integers(1, 3), min_size=len(poly), max_size=len(poly)))
    out = [p for p, n in zip(poly, times) for _ in range(n)]
    if draw(st.booleans()):
        out += [out[0]] * draw(st.integers(1, 2))
    if nan and draw(st.integers(0, 4)) == 0:
        k = draw(st.integers(0, len(out)))
        out[k:k] = [(float("nan"), 1.0)] * draw(st.integers(1, 2))
    return out


def _without_repeats(poly) -> list[list[float]]:
    """Reference: the outline as the plain-Python search sees it (few_meetings: consecutive repeats, then a last
    vertex repeating the first, dropped), from lists as ``tolist`` makes them (NaN never equal)."""
    raw = np.array(poly, dtype=float).tolist()
    pts = raw[:1] + [q for p, q in zip(raw, raw[1:]) if q != p]
    if len(pts) > 1 and pts[-1] == pts[0]:
        pts.pop()
    return pts


@KERNEL
@given(st.lists(with_repeats(points(min_size=1, max_size=8), nan=True), min_size=1, max_size=8))
def test_outlines_drop_repeated_vertices_once_as_the_searches_do(polys):
    o = outlines_of(*polys)
    assert len(o) == len(polys)
    for k, poly in enumerate(polys):
        want = _without_repeats(poly)
        got = o.outline(k).tolist()
        assert len(got) == len(want) and all(g == w or (g != g and w != w) for gg, ww in zip(got, want)
                                              for g, w in zip(gg, ww)), (poly, got, want)
    rows = [(s + (np.arange(n) + 1) % n).tolist() for s, n in zip(o.starts.tolist(), o.counts.tolist())]
    assert o.nxt.tolist() == [r for outline in rows for r in outline]  # the next row, wrapping around


@st.composite
def stars(draw) -> list[tuple[float, float]]:
    """A star-shaped outline around the origin (angles in order, radii at random), shifted and scaled."""
    n = draw(st.integers(3, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.2, 1.0, n) * draw(st.sampled_from([1e-3, 1.0, 50.0, 1e6]))
    cx, cy = draw(coord), draw(coord)
    return [(float(cx + r * np.cos(a)), float(cy + r * np.sin(a))) for a, r in zip(angles, radii)]


@KERNEL
@given(st.lists(with_repeats(stars()), min_size=1, max_size=6))
def test_repeated_vertices_do_not_hide_a_star_shaped_outline(polys):
    """Double clicks on star-shaped outlines: the proof still holds where it holds without them, stays sound
    (shapely.is_simple of the outline as given agrees), and every path of self_crossings finds what it finds on
    the outlines without repeats."""
    plain = outlines_of(*[_without_repeats(p) for p in polys])
    o = outlines_of(*polys)
    assert o.star_shaped().tolist() == plain.star_shaped().tolist()
    for k, poly in enumerate(polys):
        if o.star_shaped()[k]:
            assert shapely.is_simple(shapely.Polygon(poly)), poly
    assert self_crossings(o) == self_crossings(plain)


@KERNEL
@given(st.lists(with_repeats(points(min_size=3, max_size=10)), min_size=1, max_size=12))
def test_self_crossings_with_repeated_vertices_agree_with_shapely(polys):
    """As test_self_crossings_agree_with_shapely, with double clicks and closed outlines: the verdict is
    shapely.is_simple's of the outline as given, the places those found without the repeats."""
    o = outlines_of(*polys)
    found = {c.outline: c for c in self_crossings(o)}
    assert list(found.values()) == self_crossings(outlines_of(*[_without_repeats(p) for p in polys]))
    star = o.star_shaped()
    for k, poly in enumerate(polys):
        simple = shapely.is_simple(shapely.Polygon(poly))
        if star[k]:
            assert simple, poly
        if _is_flat(poly):
            continue
        assert (k not in found) == simple, poly


def test_the_full_search_is_kept_with_the_outlines_and_counted_once():
    """``self_crossings`` without ``max_places`` is asked by both polygon rules and by the overlap bound: the
    search runs once per Outlines (the same list back, its work counted once); with ``max_places`` it runs anew."""
    u_shape = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)]  # its mean lies in the notch
    o = Outlines(np.array([(0, 0), (4, 4), (4, 0), (0, 4), *u_shape], dtype=float), np.array([4, 8]))
    assert o.star_shaped().tolist() == [False, False] and o.simple() is None  # (a bow-tie; the U: simple)
    stats: dict = {}
    first = self_crossings(o, stats)
    work = stats["edge_pairs"]
    assert self_crossings(o, stats) is first and stats["edge_pairs"] == work
    assert [f.outline for f in first] == [0]
    assert o.simple().tolist() == [False, True]
    again = self_crossings(o, stats, max_places=10)
    assert again is not first and [f.outline for f in again] == [0] and stats["edge_pairs"] == 2 * work
