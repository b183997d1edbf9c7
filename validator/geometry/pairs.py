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

# meeting_envelopes compares every pair of this many envelopes or fewer (cheaper than sorting them) ...
ALL_PAIRS_UP_TO = 120
# ... in plain Python up to this many (a real task's few shapes of a type: numpy's fixed cost per call dominates)
PAIRS_IN_PYTHON_UP_TO = 16
_NO_PAIRS = np.zeros(0, dtype=np.int64)
_SHAPELY_CHUNK = 1 << 13  # pairs per shapely call in shape_overlaps


PAIRS_FLOOR = 20_000  # pair_limit: pairs always allowed ...
PAIRS_PER_SHAPE = 8  # ... plus this many per shape: far above real scenes, far below a pile of copies
_CHUNK = 1 << 17  # candidate pairs materialised at once by the sweep (bounded memory per numpy call)
_SCAN_FACTOR = 4  # the sweep gives up after looking at this many times the limit (pairs near in x only)


def pair_limit(m: int) -> int:
    """How many meeting pairs of ``m`` shapes are worth measuring: linear in ``m``. Real scenes stay far below
    (a dense street scene has a few overlapping neighbours per shape); only piles of shapes on one spot reach it."""
    return PAIRS_FLOOR + PAIRS_PER_SHAPE * m


class EnvelopePairs(NamedTuple):
    """Pairs of rows ``(i, j)``, ``i < j``, whose envelopes meet. ``complete``: every such pair is there; otherwise
    more pairs meet than the limit allowed, ``i, j`` hold the ones found first (at most the limit), ``busiest`` is
    a row whose envelope meets the most others among them (in the densest pile) and ``crowd`` how many other
    envelopes (of all rows) its envelope meets. ``work``: the candidate pairs looked at (pairs near in x, before
    the test in y): what the search cost beyond sorting the envelopes."""

    i: np.ndarray
    j: np.ndarray
    complete: bool = True
    busiest: int = -1
    crowd: int = 0
    work: int = 0


def meeting_envelopes(env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows ``(i, j)``, ``i < j``, of an ``(m, 4)`` array of finite envelopes (``xmin, ymin, xmax, ymax``)
    that meet, touching included: what an STRtree query of these envelopes returns. Every pair, however many:
    callers that cannot bound the output use :func:`envelope_pairs_upto`."""
    found = envelope_pairs_upto(env, None)
    return found.i, found.j


def envelope_pairs_upto(env: np.ndarray, limit: int | None) -> EnvelopePairs:
    """The pairs of :func:`meeting_envelopes`, at most ``limit`` of them (None: all); the work and memory are
    bounded by a small multiple of the limit and the envelopes, whatever the input.

    Small sets compare every pair (a few envelopes in plain Python). Larger ones are cut into horizontal strips
    about two envelopes high: each envelope goes into every strip it spans, and in each strip a sweep along x
    (sorted left edges, binary search of each right edge) gives the pairs that meet in x; those that also meet in
    y are kept, each in the one strip holding the top of their common part. The pairs near in x are materialised a
    chunk at a time; the work grows with the number of envelopes and of pairs near each other, not with the number
    of all pairs, and stops at the limit."""
    m = len(env)
    if m < 2:
        return EnvelopePairs(_NO_PAIRS, _NO_PAIRS)
    if m <= ALL_PAIRS_UP_TO:
        i, j = _few_pairs(env) if m <= PAIRS_IN_PYTHON_UP_TO else _all_pairs(env)
        return _bounded(env, i, j, limit, True, m * (m - 1) // 2)
    sweep = _Sweep(env)
    scan = sweep.total if limit is None else min(sweep.total, _SCAN_FACTOR * limit + _CHUNK)
    i, j, done = sweep.pairs(sweep.count, scan, limit)
    return _bounded(env, i, j, limit, done >= sweep.total, done)


def pairs_within_groups(env: np.ndarray, groups: np.ndarray, limits: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                           np.ndarray, int]:
    """Pairs ``(i, j)``, ``i < j``, of rows in the same group (``groups``: ``0 .. G-1`` per row) whose envelopes
    meet, at most ``limits[g]`` pairs per group; the groups are searched together (one sweep), each at a cost
    bounded by a small multiple of its own limit. Returns ``i``, ``j`` (group after group), whether each group's
    pairs are all there (``(G,)`` bool) and the work (candidate pairs looked at)."""
    groups = np.asarray(groups, dtype=np.int64)
    n_groups = len(limits)
    complete = np.ones(n_groups, dtype=bool)
    if len(env) < 2:
        return _NO_PAIRS, _NO_PAIRS, complete, 0
    env = _apart(env, groups, n_groups)  # each group in a band of its own: no work on pairs across groups
    sweep = _Sweep(env)
    g = groups[sweep.who]  # entries are strip after strip: with the groups apart, group after group
    first = np.r_[0, (g[1:] != g[:-1]).nonzero()[0] + 1]
    ends = sweep.count.cumsum()
    before = ends - sweep.count - (ends - sweep.count)[first].repeat(np.diff(np.r_[first, len(g)]))
    allowed = before < _SCAN_FACTOR * limits[g] + 1
    cut = ~allowed & (sweep.count > 0)
    complete[np.unique(g[cut])] = False
    i, j, done = sweep.pairs(np.where(allowed, sweep.count, 0), None, None)
    same = groups[i] == groups[j]  # (only pairs of one group if the bands could be set apart)
    i, j = i[same], j[same]
    order = np.argsort(groups[i], kind="stable")
    i, j = i[order], j[order]
    gi = groups[i]
    starts = np.searchsorted(gi, np.arange(n_groups))
    rank = np.arange(len(i)) - starts[gi]
    keep = rank < limits[gi]
    complete[np.unique(gi[~keep])] = False
    return i[keep], j[keep], complete, done


def _apart(env: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """The envelopes moved in y so that each group lies in a band of its own, the bands far apart (relative order
    within a group kept: rounding may only make envelopes touch that nearly did, never part ones that met)."""
    lo = np.full(n_groups, np.inf)
    hi = np.full(n_groups, -np.inf)
    if len(groups) > 1 and (groups[1:] >= groups[:-1]).all():  # the usual case: rows group after group
        present, starts = np.unique(groups, return_index=True)
        lo[present] = np.minimum.reduceat(env[:, 1], starts)
        hi[present] = np.maximum.reduceat(env[:, 3], starts)
    else:
        np.minimum.at(lo, groups, env[:, 1])
        np.maximum.at(hi, groups, env[:, 3])
    lo[~np.isfinite(lo)] = 0.0  # groups without rows
    hi[~np.isfinite(hi)] = 0.0
    height = float((env[:, 3] - env[:, 1]).max())
    span = hi - lo
    gap = 4.0 * height + 1.0
    band = np.r_[0.0, (span + gap).cumsum()[:-1]]
    if not (np.isfinite(band).all() and np.isfinite(span).all() and float(band[-1] + span[-1]) < 1e15):
        return env  # absurd coordinates: one band (pairs across groups are found and dropped: slower, still right)
    shift = (band - lo)[groups]
    out = env.copy()
    out[:, 1] += shift
    out[:, 3] += shift
    return out


def _all_pairs(env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = env[:, 0], env[:, 1], env[:, 2], env[:, 3]
    left_of = x0[:, None] <= x1  # [a, b]: a starts before b ends
    i, j = np.nonzero(left_of & left_of.T)  # meet in x (a few percent of all pairs); then y, on those only
    upper = i < j
    i, j = i[upper], j[upper]
    meet = (y0[i] <= y1[j]) & (y0[j] <= y1[i])
    return i[meet], j[meet]


def _few_pairs(env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_all_pairs` for a few envelopes, in plain Python: the same comparisons of the same floats, so the
    same pairs in the same order (by ``i``, then ``j``), without the fixed cost of a dozen numpy calls."""
    rows = env.tolist()
    i, j = [], []
    for a, (x0, y0, x1, y1) in enumerate(rows):
        b = a
        for u0, v0, u1, v1 in rows[a + 1:]:
            b += 1
            if x0 <= u1 and u0 <= x1 and y0 <= v1 and v0 <= y1:
                i.append(a)
                j.append(b)
    return np.array(i, dtype=np.int64), np.array(j, dtype=np.int64)


class _Sweep:
    """The strip sweep of :func:`envelope_pairs_upto`: entries (envelope, strip), sorted strip after strip and by
    left edge in each, and for each entry how many entries after it in its strip meet it in x (``count``)."""

    def __init__(self, env: np.ndarray):
        m = len(env)
        self.env = env
        x0, y0, x1, y1 = env[:, 0], env[:, 1], env[:, 2], env[:, 3]
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
        self.top, self.height = top, height
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
        key, self.who, self.strip = key[sort], who[sort], strip[sort]
        # entries after e in its strip whose left edge is <= e's right edge
        upto = np.searchsorted(key, self.strip * (m + 1) + reach[self.who], side="left")
        self.count = upto - np.arange(len(key)) - 1
        self.total = int(self.count.sum())

    def pairs(self, count: np.ndarray, scan: int | None, limit: int | None) -> tuple[np.ndarray, np.ndarray, int]:
        """The meeting pairs of the entries' first ``count`` x-neighbours each, a chunk of about _CHUNK at a time,
        until ``scan`` of them were looked at or more than ``limit`` pairs were kept; and how many were looked at."""
        x0, y0, x1, y1 = (self.env[:, k] for k in range(4))
        who, strip, top, height = self.who, self.strip, self.top, self.height
        ends = count.cumsum()
        total = int(ends[-1]) if len(ends) else 0
        scan = total if scan is None else scan
        parts_i, parts_j, kept, start, done = [], [], 0, 0, 0
        while done < scan and start < len(count):
            # entries [start, stop): about _CHUNK pairs near in x (at least one entry, however many it has)
            stop = max(int(np.searchsorted(ends, done + _CHUNK, side="right")), start + 1)
            c = count[start:stop]
            a = np.arange(start, stop).repeat(c)
            b = a + 1 + np.arange(len(a)) - (c.cumsum() - c).repeat(c)
            i, j, s = who[a], who[b], strip[a]
            both = (y0[i] <= y1[j]) & (y0[j] <= y1[i])
            low = np.maximum(y0[i], y0[j])
            home = np.floor((low - top) / height).astype(np.int64) if np.isfinite(height) else np.zeros(len(i),
                                                                                                       np.int64)
            keep = both & (home == s)
            i, j = i[keep], j[keep]
            parts_i.append(np.minimum(i, j))
            parts_j.append(np.maximum(i, j))
            kept += len(i)
            done = int(ends[stop - 1])
            start = stop
            if limit is not None and kept > limit:
                break
        if len(parts_i) == 1:
            return parts_i[0], parts_j[0], done
        if not parts_i:
            return _NO_PAIRS, _NO_PAIRS, done
        return np.concatenate(parts_i), np.concatenate(parts_j), done


def _bounded(env: np.ndarray, i: np.ndarray, j: np.ndarray, limit: int | None, scanned: bool,
             work: int) -> EnvelopePairs:
    """The pairs found, cut to the limit; where the limit was hit, the busiest envelope and its crowd."""
    if scanned and (limit is None or len(i) <= limit):
        return EnvelopePairs(i, j, work=work)
    i, j = i[:limit], j[:limit]
    if len(i):
        busiest = int(np.bincount(np.concatenate([i, j]), minlength=len(env)).argmax())
    else:  # nothing kept: the scan stopped on pairs near in x only (all in one crowded column)
        busiest = 0
    b = env[busiest]
    crowd = int(((env[:, 0] <= b[2]) & (b[0] <= env[:, 2]) & (env[:, 1] <= b[3]) & (b[1] <= env[:, 3])).sum()) - 1
    return EnvelopePairs(i, j, False, busiest, crowd, work)


def first_copies(codes: np.ndarray, xy: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For shapes given by an integer code each (their type, label...), their vertices ``xy`` (one shape after
    the other) and ``counts``: the index of each shape's first exact copy (the same code and exactly the same
    vertices in the same order), its own index when it has none before it. By sorting fingerprints (type, count,
    first vertex, weighted sums of the vertices), then checking every match vertex by vertex: O(n log n), no
    pairs."""
    m = len(counts)
    if m < 2:
        return np.arange(m)
    starts = counts.cumsum() - counts
    xy = xy + 0.0  # -0.0 and 0.0 are one position
    rank = np.arange(len(xy)) - starts.repeat(counts)
    w = 1.0 + (rank * 0.6180339887498949) % 1.0  # a different weight for each vertex of a shape
    fingerprint = np.empty((m, 6))
    fingerprint[:, 0] = codes
    fingerprint[:, 1] = counts
    has = counts > 0
    fingerprint[:, 2:4] = 0.0
    fingerprint[has, 2:4] = xy[starts[has]]
    fingerprint[:, 4:] = 0.0
    if has.any():
        fingerprint[has, 4] = np.add.reduceat(xy[:, 0] * w, starts[has])
        fingerprint[has, 5] = np.add.reduceat(xy[:, 1] * w, starts[has])
    with np.errstate(all="ignore"):
        _, index, inverse = np.unique(fingerprint, axis=0, return_index=True, return_inverse=True)
    first = index[inverse.ravel()]
    maybe = (first != np.arange(m)).nonzero()[0]
    if len(maybe):  # same fingerprint: the same vertices? (a collision of the sums is not a copy)
        rows = _rows(starts, counts, maybe)
        same = np.all(xy[rows] == xy[_rows(starts, counts, first[maybe])], axis=1)
        owner = np.arange(len(maybe)).repeat(counts[maybe])
        differs = np.bincount(owner[~same], minlength=len(maybe)) > 0
        first[maybe[differs]] = maybe[differs]
    return first


def _rows(starts: np.ndarray, counts: np.ndarray, which: np.ndarray) -> np.ndarray:
    c = counts[which]
    return (starts[which] - (c.cumsum() - c)).repeat(c) + np.arange(int(c.sum()))


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


def shape_overlaps(gi: np.ndarray, gj: np.ndarray, repair: bool = True) -> tuple[Overlaps, np.ndarray]:
    """Overlaps of pairs of shapely geometries (object arrays of one length) and their intersection geometries.

    Invalid shapes (a bow-tie polygon) are repaired first (``shapely.make_valid``), so the areas mean something
    (``repair=False``: the caller repaired them, e.g. with ``GeometryIndex.measurable_geoms_of``, once per shape
    instead of once per pair: GEOS's repair of a tangled outline is expensive); a GEOS robustness failure on one
    pair counts that pair as not overlapping, without losing the others. Computed a bounded chunk of pairs at a
    time (a long C call cannot be interrupted by the time budget)."""
    if repair:
        gi, gj = _valid(gi), _valid(gj)
    if len(gi) > _SHAPELY_CHUNK:
        parts = [shape_overlaps(gi[s:s + _SHAPELY_CHUNK], gj[s:s + _SHAPELY_CHUNK], False)
                 for s in range(0, len(gi), _SHAPELY_CHUNK)]
        return (Overlaps(*(np.concatenate([p[0][k] for p in parts]) for k in range(3))),
                np.concatenate([p[1] for p in parts]))
    area_i, area_j = shapely.area(gi), shapely.area(gj)
    meet = _meet(gi, gj)  # a cheap predicate first: candidates whose shapes never meet need no intersection
    if meet.all():
        shapes = _intersections(gi, gj)
        return Overlaps(shapely.area(shapes), area_i, area_j), shapes
    shapes = np.full(len(gi), _NOTHING, dtype=object)
    inter = np.zeros(len(gi))
    if meet.any():
        shapes[meet] = _intersections(gi[meet], gj[meet])
        inter[meet] = shapely.area(shapes[meet])
    return Overlaps(inter, area_i, area_j), shapes


def envelope_overlap_areas(env_i: np.ndarray, env_j: np.ndarray) -> np.ndarray:
    """Per pair, the area of the intersection of two envelopes (``(k, 4)`` arrays ``xmin, ymin, xmax, ymax``): an
    upper bound of the area the two shapes share; 0 where they only touch or do not meet."""
    w = np.minimum(env_i[:, 2], env_j[:, 2]) - np.maximum(env_i[:, 0], env_j[:, 0])
    h = np.minimum(env_i[:, 3], env_j[:, 3]) - np.maximum(env_i[:, 1], env_j[:, 1])
    return np.maximum(w, 0.0) * np.maximum(h, 0.0)


def iou_upper_bound(area_i: np.ndarray, area_j: np.ndarray, env_i: np.ndarray, env_j: np.ndarray,
                    err_i: np.ndarray | float = 0.0, err_j: np.ndarray | float = 0.0) -> np.ndarray:
    """Per pair, a number its intersection over union cannot exceed, from the two shapes' areas and envelopes alone
    (no intersection computed): IoU = I / (a_i + a_j - I) grows with the shared area I, which is at most the smaller
    area and at most the area of the envelopes' intersection. The areas must be those the exact measure uses
    (repaired shapes for invalid ones), or within ``err_i`` / ``err_j`` of them (then I is bounded with the largest
    areas they can be and the union with the smallest; each ``err`` below half its area, so the union stays
    positive); 0 where the union has no area (as ``Overlaps.iou``)."""
    if np.ndim(err_i) or np.ndim(err_j) or err_i or err_j:
        hi_i, hi_j = area_i + err_i, area_j + err_j
        lo_i, lo_j = area_i - err_i, area_j - err_j
        top = np.minimum(np.minimum(hi_i, hi_j), envelope_overlap_areas(env_i, env_j))
        union = np.maximum(lo_i + lo_j - top, np.maximum(lo_i, lo_j))  # (the union covers each shape)
    else:  # exact areas (the usual case): the same bound in fewer numpy calls
        top = np.minimum(np.minimum(area_i, area_j), envelope_overlap_areas(env_i, env_j))
        union = area_i + area_j - top
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, top / union, 0.0)


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


_NOTHING = shapely.Polygon()  # the intersection of two shapes that do not meet


def _meet(gi: np.ndarray, gj: np.ndarray) -> np.ndarray:
    """Which pairs of shapes share a point (``shapely.intersects``, much cheaper than an intersection: no new
    geometry); every pair when GEOS cannot tell, so that the intersection decides."""
    try:
        return shapely.intersects(gi, gj)
    except shapely.errors.GEOSException:
        return np.ones(len(gi), dtype=bool)


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
