"""validator.geometry.cuboids against shapely: the front face's area and simplicity (both the numpy proof and the
shapely path), and how far each edge's ends are from the corners it joins."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, strategies as st

from validator.geometry.cuboids import FACE, VERTEX, edge_ends, edge_offsets, flat_and_simple, front_faces
from validator.scale.annotations import CUBOID_EDGE_DESCRIPTIONS

from .strategies import KERNEL, coord, grid_coord

corner = st.one_of(st.tuples(grid_coord, grid_coord), st.tuples(coord, coord))
quad = st.lists(corner, min_size=4, max_size=4)


def _cuboid(x, y, w, h, dx, dy) -> np.ndarray:
    """Canonical vertices of a cuboid whose front face is (x, y, w, h), its side face shifted by (dx, dy)."""
    pos = {"face-topleft": (x, y), "face-topright": (x + w, y), "face-bottomright": (x + w, y + h),
           "face-bottomleft": (x, y + h)}
    side = x + w if dx >= 0 else x
    pos["side-topcorner"] = (side + dx, y + dy)
    pos["side-bottomcorner"] = (side + dx, y + h - dy)
    return np.array([pos[d] for d in sorted(VERTEX, key=VERTEX.get)], dtype=float)


def _edges_of(V: np.ndarray, right: bool) -> np.ndarray:
    ends = edge_ends(right)
    return np.array([[*V[VERTEX[ends[e][0]]], *V[VERTEX[ends[e][1]]]] for e in CUBOID_EDGE_DESCRIPTIONS])


@pytest.mark.parametrize("quad_, flat, simple", [
    ([(0, 0), (10, 0), (10, 10), (0, 10)], False, True),
    ([(0, 0), (10, 10), (10, 0), (0, 10)], True, False),  # crossed: shapely's signed areas cancel
    ([(0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)], True, True),  # a quarter of a pixel
    ([(0, 0), (5, 0), (10, 0), (5, 0)], True, False),  # on one line, back and forth
])
def test_flat_and_simple_on_a_table(quad_, flat, simple):
    for copies in (1, 40):  # few faces: shapely decides; many: the numpy proof first
        f, s = flat_and_simple(np.array([quad_] * copies, dtype=float))
        assert f.tolist() == [flat] * copies and s.tolist() == [simple] * copies


@KERNEL
@given(st.lists(quad, min_size=1, max_size=48))
def test_flat_and_simple_agree_with_shapely(quads):
    q = np.array(quads, dtype=float)
    flat, simple = flat_and_simple(q)
    polygons = shapely.polygons(q)
    np.testing.assert_array_equal(flat, shapely.area(polygons) < 1.0)
    np.testing.assert_array_equal(simple, shapely.is_simple(polygons))


@KERNEL
@given(st.floats(0, 500), st.floats(0, 500), st.floats(1, 200), st.floats(1, 200), st.floats(-50, 50),
       st.floats(-20, 20), st.lists(st.tuples(st.integers(0, 5), st.floats(-30, 30), st.floats(-30, 30),
                                              st.booleans()), max_size=4))
def test_edge_offsets_are_the_distances_to_the_corners(x, y, w, h, dx, dy, moves):
    V = _cuboid(x, y, w, h, dx, dy)
    right = dx >= 0
    E = _edges_of(V, right)
    for k, mx, my, flip in moves:  # move an edge's first end, maybe give its ends in the other order
        E[k, 0] += mx
        E[k, 1] += my
        if flip:
            E[k] = [*E[k, 2:], *E[k, :2]]
    off = edge_offsets(V[None], E[None])
    assert off.right[0] == right
    ends = edge_ends(right)
    for k, name in enumerate(CUBOID_EDGE_DESCRIPTIONS):
        a, b = (shapely.Point(V[VERTEX[c]]) for c in ends[name])
        p, q = shapely.Point(E[k, :2]), shapely.Point(E[k, 2:])
        as_given, reversed_ = (p.distance(a), q.distance(b)), (p.distance(b), q.distance(a))
        want = reversed_ if max(reversed_) < max(as_given) else as_given
        assert off.off_first[0, k] == pytest.approx(want[0], abs=1e-9)
        assert off.off_second[0, k] == pytest.approx(want[1], abs=1e-9)


def test_front_faces_go_around_the_face():
    V = _cuboid(10, 20, 30, 40, 5, 3)
    face = front_faces(V[None])[0]
    assert [tuple(p) for p in face] == [(10, 20), (40, 20), (40, 60), (10, 60)]
    assert shapely.Polygon(face).is_valid and FACE[0] == "face-topleft"
