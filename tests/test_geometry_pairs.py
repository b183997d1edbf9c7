"""Candidate pairs: ``meeting_envelopes`` finds exactly the pairs an STRtree query of the same envelopes finds.

The overlap rules and the polygon crossing search trust it to miss nothing (and to invent nothing), on both of its
paths (every pair for small sets, the strip sweep for larger ones), touching envelopes included.
"""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from validator.geometry.index import meeting_envelopes


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


# both sides of geometry._ALL_PAIRS_UP_TO (every pair at or below it, the sweep above it)
SIZES = [2, 3, 10, 63, 64, 65, 95, 96, 97, 200, 1000]


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
