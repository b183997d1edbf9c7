"""Pairs of shapes: which envelopes meet, how much two shapes overlap.

Kernels on plain arrays (no request, no annotation): ``meeting_envelopes`` finds the pairs of envelopes that meet
(what an STRtree query of them returns) with a numpy sweep whose work grows with the envelopes and the pairs near
each other, not with all pairs; ``shape_overlaps`` measures pairs of shapes with vectorised shapely calls (pairs of
axis-aligned boxes: ``validator.geometry.boxes.box_overlaps``, by arithmetic); ``overlap_point`` says where to
point at an overlap. Tested against shapely in tests/geometry/.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import shapely

# meeting_envelopes compares every pair of this many envelopes or fewer (cheaper than sorting them)
ALL_PAIRS_UP_TO = 96
_NO_PAIRS = np.zeros(0, dtype=np.int64)


def meeting_envelopes(env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows ``(i, j)``, ``i < j``, of an ``(m, 4)`` array of finite envelopes (``xmin, ymin, xmax, ymax``)
    that meet, touching included: what an STRtree query of these envelopes returns.

    Small sets compare every pair. Larger ones are cut into horizontal strips about two envelopes high: each
    envelope goes into every strip it spans, and in each strip a sweep along x (sorted left edges, binary search
    of each right edge) gives the pairs that meet in x; those that also meet in y are kept, each in the one strip
    holding the top of their common part. The work grows with the number of envelopes and of pairs near each
    other (meeting in x within a strip), not with the number of all pairs."""
    m = len(env)
    if m < 2:
        return _NO_PAIRS, _NO_PAIRS
    x0, y0, x1, y1 = env[:, 0], env[:, 1], env[:, 2], env[:, 3]
    if m <= ALL_PAIRS_UP_TO:
        left_of = x0[:, None] <= x1  # [a, b]: a starts before b ends
        i, j = np.nonzero(left_of & left_of.T)  # meet in x (a few percent of all pairs); then y, on those only
        upper = i < j
        i, j = i[upper], j[upper]
        meet = (y0[i] <= y1[j]) & (y0[j] <= y1[i])
        return i[meet], j[meet]
    top = float(y0.min())
    height = 2.0 * float((y1 - y0).sum()) / m
    span = float(y1.max()) - top
    if not (height > 0 and np.isfinite(span) and span / height < 4 * m):
        height = max(span, 1.0) / (4 * m) if np.isfinite(span) and span > 0 else np.inf
    if np.isfinite(height):
        first = np.floor((y0 - top) / height).astype(np.int64)
        last = np.floor((y1 - top) / height).astype(np.int64)
    else:  # absurd coordinates: one strip (still exact, only slower)
        first = last = np.zeros(m, dtype=np.int64)
    spans = last - first + 1
    # one entry per (envelope, strip it spans)
    who = np.arange(m).repeat(spans)
    strip = (first - spans.cumsum() + spans).repeat(spans) + np.arange(int(spans.sum()))
    # rank of every left edge among all left edges; right edges as "how many left edges are <= it"
    order = np.argsort(x0)
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    by_right = np.argsort(x1)  # binary searches in sorted order: several times faster
    reach = np.empty(m, dtype=np.int64)
    reach[by_right] = np.searchsorted(x0[order], x1[by_right], side="right")
    key = strip * (m + 1) + rank[who]
    sort = np.argsort(key)  # keys are distinct
    key, who, strip = key[sort], who[sort], strip[sort]
    # entries after e in its strip whose left edge is <= e's right edge
    upto = np.searchsorted(key, strip * (m + 1) + reach[who], side="left")
    count = upto - np.arange(len(key)) - 1
    a = np.arange(len(key)).repeat(count)
    b = a + 1 + np.arange(int(count.sum())) - (count.cumsum() - count).repeat(count)
    i, j, s = who[a], who[b], strip[a]
    both = (y0[i] <= y1[j]) & (y0[j] <= y1[i])
    low = np.maximum(y0[i], y0[j])
    home = np.floor((low - top) / height).astype(np.int64) if np.isfinite(height) else np.zeros(len(i), np.int64)
    keep = both & (home == s)
    i, j = i[keep], j[keep]
    i, j = np.minimum(i, j), np.maximum(i, j)
    return i, j


class Overlaps(NamedTuple):
    """Per pair: the shared area and both shapes' areas (arrays of one length)."""

    inter: np.ndarray
    area_i: np.ndarray
    area_j: np.ndarray

    def iou(self) -> np.ndarray:
        """Intersection over union (0 where the union has no area)."""
        union = self.area_i + self.area_j - self.inter
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(union > 0, self.inter / union, 0.0)

    def of_smaller(self) -> np.ndarray:
        """The shared area as a fraction of the smaller shape's area (0 where that has no area)."""
        smaller = np.minimum(self.area_i, self.area_j)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(smaller > 0, self.inter / smaller, 0.0)


def shape_overlaps(gi: np.ndarray, gj: np.ndarray) -> tuple[Overlaps, np.ndarray]:
    """Overlaps of pairs of shapely geometries (object arrays of one length) and their intersection geometries.

    Invalid shapes (a bow-tie polygon) are repaired first (``shapely.make_valid``), so the areas mean something;
    a GEOS robustness failure on one pair counts that pair as not overlapping, without losing the others."""
    gi, gj = _valid(gi), _valid(gj)
    shapes = _intersections(gi, gj)
    return Overlaps(shapely.area(shapes), shapely.area(gi), shapely.area(gj)), shapes


def overlap_point(shape) -> tuple[float, float] | None:
    """Where to point at an overlap: the centroid of the intersection geometry, or a point on its surface when the
    centroid falls outside; None when it is empty or not finite."""
    if shape is None or shapely.is_empty(shape):
        return None
    c = shapely.centroid(shape)
    if not shapely.intersects(shape, c):
        c = shapely.point_on_surface(shape)
    x, y = shapely.get_x(c), shapely.get_y(c)
    return (float(x), float(y)) if math.isfinite(x) and math.isfinite(y) else None


def _valid(g: np.ndarray) -> np.ndarray:
    bad = ~shapely.is_valid(g)
    if bad.any():
        g = g.copy()
        g[bad] = shapely.make_valid(g[bad])
    return g


def _intersections(gi: np.ndarray, gj: np.ndarray) -> np.ndarray:
    try:
        return shapely.intersection(gi, gj)
    except shapely.errors.GEOSException:  # a robustness failure on one pair must not lose the others
        out = np.empty(len(gi), dtype=object)
        for k, (a, b) in enumerate(zip(gi, gj)):
            try:
                out[k] = shapely.intersection(a, b)
            except shapely.errors.GEOSException:
                out[k] = shapely.Polygon()
        return out
