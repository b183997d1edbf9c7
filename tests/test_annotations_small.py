"""The one-pass assembly of the coordinates for small tasks gives exactly the columns of the whole-array one
(validator/scale/annotations.py ``columns(small=...)``), for every geometry type, rotated boxes and numbers that are
not finite included."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from validator.scale import format as fmt
from validator.scale.annotations import SMALL, columns

numbers = st.one_of(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
                    st.sampled_from([0.0, -0.0, 1e308, -1e308, math.inf, -math.inf, math.nan]))
vertex = st.builds(fmt.Vertex, x=numbers, y=numbers)
cuboid_vertex = st.builds(fmt.CuboidVertex, x=numbers, y=numbers,
                          description=st.sampled_from([None, "face-topleft", "side-topcorner", 3]))
common = dict(label=st.sampled_from(["car", "road"]), attributes=st.sampled_from([None, {}, {"n": 1}]))
annotation = st.one_of(
    st.builds(fmt.Box, left=numbers, top=numbers, width=numbers, height=numbers,
              rotation=st.one_of(st.none(), st.just(0.0), numbers),
              vertices=st.one_of(st.none(), st.lists(vertex, max_size=4)), uuid=st.just("u"), **common),
    st.builds(fmt.Point, x=numbers, y=numbers, uuid=st.just("u"), **common),
    st.builds(fmt.Polygon, vertices=st.lists(vertex, max_size=8), uuid=st.just("u"), **common),
    st.builds(fmt.Line, vertices=st.lists(vertex, max_size=5), uuid=st.just("u"), **common),
    st.builds(fmt.Ellipse, vertices=st.lists(vertex, max_size=5), uuid=st.just("u"), **common),
    st.builds(fmt.Cuboid, vertices=st.lists(cuboid_vertex, max_size=8), edges=st.sampled_from([None, []]),
              uuid=st.just("u"), **common),
)


def _bits(a: np.ndarray) -> tuple:
    return a.dtype.str, a.shape, np.ascontiguousarray(a).tobytes()


@settings(max_examples=400, deadline=None)
@given(st.lists(annotation, max_size=SMALL + 4), st.booleans())
def test_small_and_vectorised_columns_are_identical(anns, finite_only):
    anns = [type(a)(**{**{f: getattr(a, f) for f in a.__struct_fields__}, "uuid": f"u{i}"})
            for i, a in enumerate(anns)]
    small = columns(anns, [], finite_only=finite_only, small=True)
    wide = columns(anns, [], finite_only=finite_only, small=False)
    assert (small is None) == (wide is None)
    if small is None:
        return
    for name in ("edges", "coords", "box", "type_codes", "counts"):
        assert _bits(getattr(small, name)) == _bits(getattr(wide, name)), name
    assert small.coords.flags.c_contiguous and wide.coords.flags.c_contiguous
    assert list(small.given_vertices) == list(wide.given_vertices)
    assert all(_bits(small.given_vertices[p]) == _bits(wide.given_vertices[p]) for p in wide.given_vertices)
    assert small.vertex_descriptions == wide.vertex_descriptions
    assert small.cuboid_edges == wide.cuboid_edges
    assert (small.uuids, small.type_names, small.labels, small.attributes) == \
        (wide.uuids, wide.type_names, wide.labels, wide.attributes)
    if not finite_only:
        assert _bits(small.non_finite_positions()) == _bits(wide.non_finite_positions())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), max_size=SMALL))
def test_positions_by_type_of_small_tasks_equal_the_vectorised_ones(codes):
    anns = [fmt.Point(uuid=f"u{i}", label="car", x=0.0, y=0.0) for i in range(len(codes))]
    small = columns(anns, [])
    small.type_codes = np.array(codes, dtype=np.int8)
    present = np.bincount(small.type_codes, minlength=6).nonzero()[0].tolist()
    wide = {c: (small.type_codes == c).nonzero()[0] for c in present}
    found = small.positions_by_type
    assert list(found) == list(wide) and all(type(c) is int for c in found)
    assert all(_bits(found[c]) == _bits(wide[c]) for c in wide)
