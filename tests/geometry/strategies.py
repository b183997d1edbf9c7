"""Hypothesis strategies for shapes a person would not think of: grid coordinates (exact copies, touching and
collinear edges, repeated vertices), floats, tiny and huge extents, near-parallel edges."""
from __future__ import annotations

import numpy as np
from hypothesis import settings, strategies as st

# the machine is shared: no deadline (a slow example is not a failure), a moderate number of examples per test
KERNEL = settings(deadline=None, max_examples=150)

grid_coord = st.integers(0, 6).map(float)
# not below 1e-9 in magnitude: there GEOS (the oracle) loses crossings to underflow while the kernels stay exact
# (tests/geometry/test_polygons.py has such a case with its exact answer)
fine_coord = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False).filter(lambda v: v == 0 or abs(v) > 1e-9)
coord = st.one_of(grid_coord, fine_coord, st.integers(-3, 3).map(lambda k: 0.1 * k))


@st.composite
def points(draw, min_size: int = 3, max_size: int = 12, elements=None) -> list[tuple[float, float]]:
    """A list of points; often on a coarse grid, so that repeats, collinear runs and touching edges are common."""
    elements = elements or st.one_of(st.tuples(grid_coord, grid_coord), st.tuples(coord, coord))
    return draw(st.lists(elements, min_size=min_size, max_size=max_size))


@st.composite
def envelopes(draw, max_size: int = 160) -> np.ndarray:
    """An ``(m, 4)`` array of envelopes: grid-aligned (exact copies, touching sides, zero-size) or floats."""
    m = draw(st.integers(0, max_size))
    grid = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    size = draw(st.sampled_from([0.0, 5.0, 40.0, 400.0]))
    x0, y0 = rng.uniform(0, 1000, m), rng.uniform(0, 600, m)
    w, h = rng.uniform(0, size, m), rng.uniform(0, size, m)
    if grid:
        x0, y0, w, h = (np.round(v / 20) * 20 for v in (x0, y0, w, h))
    copies = draw(st.integers(0, m))  # a pile of exact copies of the first envelope
    env = np.stack([x0, y0, x0 + w, y0 + h], axis=1)
    if m and copies:
        env[:copies] = env[0]
    return env
