"""validator.geometry.loops against shapely: faces, winding numbers, wrong and hole areas, face widths."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from validator.geometry.loops import face_width, one_crossing, self_loops, winding_numbers

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
BOWTIE = [(0, 0), (10, 10), (10, 0), (0, 10)]
# outer square, a corridor along x = 50 (both ways on the same line), an inner square the other way round
KEYHOLE = [(0, 0), (50, 0), (50, 30), (30, 30), (30, 70), (70, 70), (70, 30), (50, 30), (50, 0), (100, 0),
           (100, 100), (0, 100)]


def _shoelace(xy) -> float:
    x, y = np.asarray(xy, dtype=float).T
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def test_a_simple_outline_is_one_face_wound_once():
    loops = self_loops(SQUARE)
    assert len(loops.area) == 1 and abs(int(loops.winding[0])) == 1
    assert loops.area[0] == pytest.approx(shapely.Polygon(SQUARE).area)
    assert loops.wrong_area == 0 and loops.hole_area == 0


def test_a_bow_tie_has_a_lobe_inside_out():
    loops = self_loops(BOWTIE)
    assert sorted(loops.winding.tolist()) == [-1, 1]
    assert loops.wrong_area == pytest.approx(25.0)  # one of the two triangles of 25 px²


def test_a_keyhole_cuts_a_hole_and_gets_no_area_wrong():
    loops = self_loops(KEYHOLE)
    assert loops.wrong_area == 0
    assert loops.hole_area == pytest.approx(1600.0)
    with_hole = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)], [[(30, 30), (70, 30), (70, 70), (30, 70)]])
    assert loops.area[~loops.holes].sum() == pytest.approx(with_hole.area)


def test_a_curl_covers_a_part_twice():
    # around the big square, then once more around its lower-left quarter, the same way
    curl = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0.0001), (5, 0.0001), (5, 5), (0.0001, 5)]
    loops = self_loops(curl)
    assert loops.wrong_area == pytest.approx(25.0, rel=1e-3)
    assert set(np.abs(loops.winding).tolist()) == {1, 2}


def test_too_many_faces_are_not_measured():
    # a zigzag band crossing itself n times
    n = 40
    top = [(i, 1 if i % 2 else -1) for i in range(n)]
    bottom = [(i, -1 if i % 2 else 1) for i in reversed(range(n))]
    assert self_loops(top + bottom, max_faces=10) is None
    assert self_loops(top + bottom) is not None


def test_face_width_is_the_largest_inscribed_circle():
    assert face_width(shapely.box(0, 0, 10, 2)) == pytest.approx(2.0, abs=0.05)
    assert face_width(shapely.Polygon([(0, 0), (100, 0.5), (0, 1)])) < 1.0
    assert face_width(shapely.Polygon()) == 0.0


def test_winding_of_a_keyhole_is_zero_in_the_hole():
    assert winding_numbers(KEYHOLE, [(50, 50), (10, 10), (200, 200)]).tolist() in ([0, 1, 0], [0, -1, 0])


_coord = st.integers(min_value=0, max_value=20).map(float)
_outline = st.lists(st.tuples(_coord, _coord), min_size=3, max_size=12, unique=True)


@settings(max_examples=150, deadline=None)
@given(_outline)
def test_winding_times_area_adds_up_to_the_signed_area(xy):
    if shapely.Polygon(xy).area == 0 and abs(_shoelace(xy)) == 0 and shapely.LineString(xy + xy[:1]).length == 0:
        return
    loops = self_loops(xy)
    # the shoelace formula is the integral of the winding number: sum of winding x area over the faces
    assert float(np.dot(loops.winding, loops.area)) == pytest.approx(_shoelace(xy), abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(_outline, st.lists(st.tuples(st.floats(-1, 21), st.floats(-1, 21)), min_size=1, max_size=10))
def test_winding_of_a_simple_outline_matches_shapely_contains(xy, points):
    poly = shapely.Polygon(xy)
    if not (poly.is_valid and poly.area > 0):
        return
    w = winding_numbers(xy, points)
    for (x, y), wk in zip(points, w.tolist()):
        pt = shapely.Point(x, y)
        if poly.boundary.distance(pt) < 1e-9:
            continue  # on the outline: either side
        assert abs(wk) == (1 if poly.contains(pt) else 0)


@settings(max_examples=100, deadline=None)
@given(_outline)
def test_simple_outlines_are_one_face_and_areas_match_shapely(xy):
    poly = shapely.Polygon(xy)
    if not (poly.is_valid and poly.area > 0):
        return
    loops = self_loops(xy)
    assert len(loops.area) == 1 and loops.wrong_area == 0 and loops.hole_area == 0
    assert loops.area[0] == pytest.approx(poly.area)


@settings(max_examples=150, deadline=None)
@given(_outline, st.integers(0, 11), st.tuples(st.integers(-500, 500), st.integers(-500, 500)))
def test_the_loops_do_not_depend_on_where_the_outline_starts_its_direction_or_its_place(xy, start, offset):
    if abs(_shoelace(xy)) == 0 and shapely.Polygon(xy).length == 0:
        return
    base = self_loops(xy)
    k = start % len(xy)
    moved = [(x + offset[0], y + offset[1]) for x, y in xy[k:] + xy[:k]]
    for other in (self_loops(moved), self_loops(xy[::-1])):
        assert other.wrong_area == pytest.approx(base.wrong_area, abs=1e-6)
        assert other.hole_area == pytest.approx(base.hole_area, abs=1e-6)
        assert sorted(other.area.round(6).tolist()) == pytest.approx(sorted(base.area.round(6).tolist()), abs=1e-5)


_spiky = st.lists(st.tuples(st.sampled_from([0.0, 1.0, 5.0, 10.0, 10.5, 20.0]), st.floats(-30, 30)), min_size=4,
                  max_size=10)
_huge = st.lists(st.tuples(st.floats(-1e7, 1e7), st.floats(-1e7, 1e7)), min_size=4, max_size=8)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_outline, _spiky, _huge, _outline.map(lambda xy: xy[:2] + xy[1:])))  # the last: a repeated vertex
def test_one_crossing_gives_the_wrong_area_of_the_faces(xy):
    quick = one_crossing(xy)
    if quick is None:
        return
    wrong, bound = quick
    loops = self_loops(xy)
    assert loops is not None and len(loops.area) == 2
    assert abs(loops.wrong_area - wrong) <= bound


def test_one_crossing_measures_figure_eights_and_curls_only():
    assert one_crossing(BOWTIE) == (pytest.approx(25.0), pytest.approx(0.0, abs=1e-6))
    assert one_crossing([(0, 0), (10, 10), (10, 0), (0, 20)])[0] == pytest.approx(self_loops(
        [(0, 0), (10, 10), (10, 0), (0, 20)]).wrong_area)
    limacon = [(0, 0), (10, 0), (10, 10), (4, 10), (4, 2), (6, 2), (6, 12), (0, 12)]  # a curl: nested, same way
    assert one_crossing(limacon)[0] == pytest.approx(self_loops(limacon).wrong_area)
    assert one_crossing(SQUARE) is None  # simple
    assert one_crossing(KEYHOLE) is None  # touches
    assert one_crossing([(0, 0), (10, 10), (10, 0), (0, 10), (0, 5), (20, 5), (20, 6)]) is None  # several places
