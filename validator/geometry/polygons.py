"""Polygon outlines: how flat they are, whether (and where) they meet themselves.

Kernels on plain arrays (no request, no annotation). An :class:`Outlines` holds many closed outlines as one ragged
array (the vertices of each outline in order, one outline after the other; the closing edge from the last vertex
back to the first is implied) and computes per-vertex terms once, shared by every question asked of it:

* :meth:`Outlines.thin`: which outlines may be narrower than a tolerance (two cheap lower bounds on the width);
* :meth:`Outlines.star_shaped`: which outlines are proven simple without shapely (the star-shaped proof);
* :meth:`Outlines.simple_areas`: the areas of those, with a bound on how far shapely's can be from them;
* :func:`flatness`: the exact width of one outline's vertices;
* :func:`self_crossings`: where the outlines that are not simple meet themselves, as ``shapely.is_simple`` and
  ``shapely.intersection`` of their edges decide it.

Tested against shapely in tests/geometry/.
"""
from __future__ import annotations

import math
from fractions import Fraction
from itertools import islice
from math import hypot
from typing import NamedTuple

import numpy as np
import shapely

from validator.scale.lazy import cached_property

from .compiled import ORIENT_BOUND, PROOF_MAX_PAIRS, TINY, kernel, outline_terms_reference
from .pairs import pairs_within_groups

FLOAT_EPS = 1e-6  # px: "exactly on one line" up to float rounding
_FEW_VERTICES = 64  # at most this many vertices in all: plain Python beats numpy and shapely's fixed cost
EDGE_PAIRS_FLOOR = 2_000  # pairs of edges near each other searched per outline: this many ...
EDGE_PAIRS_PER_EDGE = 8  # ... plus this many per edge (a real outline has two or three per edge)
_SHAPELY_CHUNK = 1 << 15  # pairs per shapely call


class SelfCrossing(NamedTuple):
    """Where outline ``outline`` (its index) meets itself: ``points`` in outline order (each place once: a crossing
    point, a vertex on another edge, the middle of a stretch two edges share; empty when shapely says the outline
    is not simple without naming a place), ``touches``: whether any is not a clean crossing, and ``complete``:
    whether these are all the places (false when the outline has so many edges near each other that the search
    stopped at its bound: then there are more)."""

    outline: int
    points: list[tuple[float, float]]
    touches: bool
    complete: bool = True


class Outlines:
    """Closed outlines, given with at least 3 vertices each: ``xy`` ``(R, 2)`` (one outline after the other) and
    ``counts`` (vertices per outline), kept without zero-length edges: a vertex that repeats the one before it (a
    double click) and a last vertex that repeats the first are dropped once here, so that every question asked
    sees the same outline (the star-shaped proof fails on a zero-length edge; the searches for meetings skip them
    anyway), and an outline on fewer than 3 spots may be left with 1 or 2 vertices. The width, the distinct spots
    and where an outline meets itself do not change; callers that point at vertices use their own. Read-only;
    terms are computed on first use and kept."""

    def __init__(self, xy: np.ndarray, counts: np.ndarray):
        xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
        counts = np.ascontiguousarray(counts, dtype=np.int64).reshape(-1)
        starts = counts.cumsum() - counts
        rows_of = kernel("outline_rows")
        if rows_of is not None:  # (one compiled pass; below, the numpy reference it replaces)
            self.xy, self.counts, self.starts, self.nxt, self.given_counts = rows_of(
                xy, starts, counts, np.arange(len(counts), dtype=np.int64))
            return
        self.given_counts = counts  # the vertices each outline was given with, repeats included
        nxt = self._next_rows(len(xy), starts, counts)
        z = xy.view(np.complex128).ravel()  # a vertex as one number: equal where both coordinates are (NaN never)
        repeats = z.take(nxt) == z  # the next vertex (around the outline) repeats this one
        if np.count_nonzero(repeats):  # few and cheap numpy calls tell that there is nothing to drop (most often)
            keep = np.empty(len(xy), dtype=bool)
            keep[0] = True
            np.logical_not(repeats[:-1], out=keep[1:])
            keep[starts] = True
            first = starts.tolist()
            for k, last in enumerate((starts + counts - 1).tolist()):
                if repeats[last] and last > first[k]:  # the last vertex repeats the first: drop the last run's
                    while not keep[last]:  # first vertex, unless that is the first vertex
                        last -= 1
                    keep[last] = last == first[k]
            xy = xy.compress(keep, axis=0)
            counts = np.add.reduceat(keep, starts, dtype=np.int64)
            starts = counts.cumsum() - counts
            nxt = self._next_rows(len(xy), starts, counts)
        self.xy, self.counts, self.starts = xy, counts, starts
        self.nxt = nxt  # for every vertex: the row of the next one of its outline (wrapping around)

    @classmethod
    def of_rows(cls, coords: np.ndarray, offsets: np.ndarray, counts: np.ndarray, positions: np.ndarray
                ) -> "Outlines":
        """The outlines of the rows ``offsets[p] .. offsets[p] + counts[p]`` of ``coords`` for each ``p`` of
        ``positions`` (an annotation set's columns): ``Outlines(coords[those rows], counts[positions])``, gathered
        in the same compiled pass when the kernels are in use."""
        rows_of = kernel("outline_rows")
        if rows_of is None:
            return cls(coords[_rows_from(offsets[positions], counts[positions])], counts[positions])
        self = cls.__new__(cls)
        plain = np.ascontiguousarray  # (the kernel's signature; no copy of columns that already are)
        self.xy, self.counts, self.starts, self.nxt, self.given_counts = rows_of(
            plain(coords, dtype=np.float64), plain(offsets, dtype=np.int64), plain(counts, dtype=np.int64),
            plain(positions, dtype=np.int64))
        return self

    @staticmethod
    def _next_rows(n: int, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        nxt = np.arange(1, n + 1, dtype=np.int64)
        if len(counts):
            nxt[starts + counts - 1] = starts
        return nxt

    def __len__(self) -> int:
        return len(self.counts)

    def outline(self, k: int) -> np.ndarray:
        """The vertices of outline ``k``."""
        s = int(self.starts[k])
        return self.xy[s:s + int(self.counts[k])]

    @cached_property
    def _terms(self):
        """Per outline: twice its shoelace area, its perimeter, the width of its widest (centre, edge) triangle
        minus far more than float rounding can add (NaN where that is not a proof: 0/0, overflow), and whether it
        is star-shaped as :meth:`star_shaped` proves it, and the largest squared distance of a vertex from the centre
        (for :meth:`simple_areas`). One pass over every vertex, shared by both questions:
        each vertex ``p`` and the next one ``q`` relative to the outline's centre (the mean of its vertices), their
        cross product and ``|p|²``."""
        terms_of = kernel("outline_terms")
        if terms_of is not None and len(self.counts):
            *terms, finite = terms_of(self.xy, self.starts, self.counts, self.nxt)
            if finite:
                return tuple(terms)
        return outline_terms_reference(self.xy, self.starts, self.counts, self.nxt)

    def thin(self, tol: float) -> np.ndarray:
        """True where the outline may be at most ``tol`` wide: neither of two lower bounds on its width exceeds
        ``tol``. The bounds: twice the (shoelace) area over the perimeter (for any polygon 2·area/perimeter is at
        most its width: area <= width · diameter, perimeter >= 2 · diameter), and the width of the widest triangle
        made by the centre and an edge (the triangle lies in the convex hull of the vertices, so it is no wider;
        this one is not fooled by a bow-tie, whose shoelace area is 0). No outline that is that thin is missed."""
        if not len(self):
            return np.zeros(0, dtype=bool)
        area2, perimeter, widest = self._terms[:3]
        if 0 < tol < math.inf:  # no 0 · inf to make NaN of (and comparisons with NaN do not warn)
            return (area2 <= tol * perimeter * (1 + 1e-9) + 1e-12) & ~(widest > tol)
        with np.errstate(invalid="ignore"):
            return (area2 <= tol * perimeter * (1 + 1e-9) + 1e-12) & ~(widest > tol)

    def star_shaped(self) -> np.ndarray:
        """True where the outline is proven simple without shapely (its terms: numpy, or the compiled kernel).

        Proof: seen from the mean of its vertices, every edge turns the same way by less than half a turn (its
        cross product has the same sign, well beyond float rounding) and the turns add up to exactly one full turn
        (the outline crosses the ray from the centre along +x once, in the direction of the turns). Then each edge
        lies in its own angular sector, the sectors only share their boundary rays, and an edge meets those rays
        only at its end vertices: no two edges cross or touch. Star-shaped outlines (most real ones) pass; anything
        else (bow-ties, repeated vertices, spirals, most concave shapes) is left to the exact search."""
        if not len(self):
            return np.zeros(0, dtype=bool)
        return self._terms[3]

    def simple(self) -> np.ndarray | None:
        """True where the outline is proven simple: by :meth:`star_shaped`, or by the crossing search of
        :func:`self_crossings` (an outline of 3 or more vertices it did not find meeting itself), once that search
        has run on these outlines (None before: the search is not started here)."""
        found = self.__dict__.get("_crossings")
        if found is None:
            return None
        out = self.star_shaped() | (self.counts >= 3)  # (the search looks at every outline of 3+ not star-shaped)
        if found:
            out[[f.outline for f in found]] = False
        return out

    def simple_areas(self, searched: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Per outline proven simple (:meth:`star_shaped`; ``searched``: :meth:`simple`, which needs the crossing
        search to have run): its area (the shoelace formula) and a bound on how far
        the area GEOS measures of the same vertices can be from it; NaN for both elsewhere, and where the bound is
        not far below the area (underflow, overflow), so that the caller measures those shapes itself.

        The bound: with ``R²`` the largest squared distance of a vertex from the centre and ``u`` the unit
        roundoff, both sums (ours about the centre; GEOS' ``Area::ofRing``, about the first vertex, with its
        coordinate differences) are of ``n`` products of coordinates within ``2R`` of each other, each rounded
        relative to ``4R²``, added up with at most ``n`` roundings relative to a partial sum below ``4nR²``: each
        is within ``(12n + 4n²)·u·R²`` of the true area of the polygon of these vertices. ``64 (n + 1)² u R²`` (plus
        ``n`` smallest subnormals for products that underflow) covers both, several times over, with ``n`` the
        vertices the outline was given with (GEOS measures the ring as given, repeated vertices included). The
        bound holds for any outline; the proof of simplicity is what makes GEOS measure this very ring (a simple
        ring is valid: no repair changes its area)."""
        if searched:
            found = self.__dict__.get("_searched_areas")
            if found is None:
                proven = self.simple()
                if proven is None:
                    raise ValueError("simple_areas(searched=True) before self_crossings searched these outlines")
                found = self._searched_areas = self._areas_where(proven)
            return found
        return self._simple_areas

    @cached_property
    def _simple_areas(self) -> tuple[np.ndarray, np.ndarray]:
        return self._areas_where(self._terms[3] if len(self) else np.zeros(0, dtype=bool))

    @cached_property
    def _shoelace(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every outline's shoelace area, its error bound, and where the bound is far below the area (both proofs'
        areas are taken from these: computed once)."""
        area2, _, _, _, r2 = self._terms
        with np.errstate(all="ignore"):
            area = area2 / 2.0
            n = self.given_counts.astype(np.float64)
            err = 64.0 * (n + 1.0) ** 2 * 2.0 ** -53 * r2 + n * 1e-320
            usable = np.isfinite(area) & np.isfinite(err) & (err < 0.5 * area)
        return area, err, usable

    def _areas_where(self, proven: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(self):
            return np.zeros(0), np.zeros(0)
        area, err, usable = self._shoelace
        sure = proven & usable
        return np.where(sure, area, np.nan), np.where(sure, err, np.nan)

    def flat(self, which: np.ndarray, tol: float = FLOAT_EPS) -> np.ndarray:
        """For the outlines at indices ``which``: whether each is flat (at most ``tol`` wide, or on fewer than 3
        spots), decided exactly where the cheap bounds cannot rule it out."""
        which = np.asarray(which, dtype=np.int64)
        maybe = self.thin(tol)[which] if len(which) else np.zeros(0, dtype=bool)
        out = np.zeros(len(which), dtype=bool)
        for n in maybe.nonzero()[0].tolist():
            distinct, width = flatness(self.outline(int(which[n])))
            out[n] = distinct < 3 or width <= tol
        return out


def flatness(xy: np.ndarray) -> tuple[int, float]:
    """How many distinct spots the vertices are on, and (for 3 or more) their width: the smallest extent of the
    points over all directions (0 when they are collinear). The narrowest direction is across one of the convex
    hull's edges: the width is the smallest, over the hull's edges, of the farthest vertex's distance from the
    edge's line (rotating calipers: linear in the hull's vertices)."""
    distinct = np.unique(xy, axis=0) if len(xy) else xy
    if len(distinct) < 3:
        return len(distinct), 0.0
    hull = shapely.convex_hull(shapely.multipoints(distinct))
    if not isinstance(hull, shapely.Polygon):
        return len(distinct), 0.0
    return len(distinct), _hull_width(shapely.get_coordinates(hull)[:-1])


def _hull_width(h: np.ndarray) -> float:
    """The width of a convex polygon (its vertices in order, at least 3, no repeats) by rotating calipers."""
    n = len(h)
    pts = h.tolist()
    best = math.inf
    far = 1
    for e in range(n):
        (ax, ay), (bx, by) = pts[e], pts[(e + 1) % n]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        if length == 0:
            continue

        def dist(k):
            px, py = pts[k % n]
            return abs(dx * (py - ay) - dy * (px - ax))  # overflow gives inf: "wide", never "flat"

        d = dist(far)
        while True:  # the farthest vertex from this edge's line moves forward around the hull
            nd = dist(far + 1)
            if nd < d or far + 1 - e >= n:
                break
            far, d = far + 1, nd
        best = min(best, d / length)
    return float(best)


def self_crossings(outlines: Outlines, stats: dict | None = None, max_places: int | None = None) -> list[SelfCrossing]:
    """:func:`search_crossings`, kept with the outlines when ``max_places`` is None: asked again of the same
    outlines (the polygon rules, and the overlap bound through :meth:`Outlines.simple`), the search is not redone
    (its work is counted in ``stats`` once). The list is shared: never modify it."""
    if max_places is not None:
        return search_crossings(outlines, stats, max_places)
    found = outlines.__dict__.get("_crossings")
    if found is None:
        found = outlines._crossings = search_crossings(outlines, stats)
    return found


def search_crossings(outlines: Outlines, stats: dict | None = None, max_places: int | None = None
                     ) -> list[SelfCrossing]:
    """The outlines that are not simple (two edges meet other than neighbours at their shared vertex: what
    ``shapely.is_simple`` decides), each with where it meets itself, in outline order; those left with fewer than
    3 vertices (flat: on 1 or 2 spots) are not among them.

    Most outlines are proven simple without shapely (:meth:`Outlines.star_shaped`; concave ones of up to 256
    vertices by the compiled ``proven_simple``, pair of edges by pair of edges, with the certain-orientation tests
    the search itself skips pairs with: validator/geometry/compiled.py); the others are searched edge pair by edge
    pair: a handful of vertices in plain Python with exact orientation tests, more with one search of all their
    edges for envelopes that meet and vectorised shapely predicates, at most ``EDGE_PAIRS_FLOOR +
    EDGE_PAIRS_PER_EDGE * edges`` pairs of edges per outline (``complete`` says whether that bound was reached).
    ``stats``: a work-counter dict; ``edge_pairs`` counts the pairs of edges searched, ``proof_pairs`` those the
    proof looked at.
    ``max_places``: outlines whose edges meet in more pairs than this are returned incomplete and without points
    (for callers that only need to know whether an outline meets itself a few times)."""
    if not len(outlines):
        return []
    # fewer than 3 vertices left without zero-length edges: flat (no outline to cross), as the searches skip them
    unproven = (~outlines.star_shaped() & (outlines.counts >= 3)).nonzero()[0]
    if not len(unproven):
        return []
    prove = kernel("proven_simple")
    if prove is not None:  # most concave outlines: proven simple pair by pair, compiled, before any search
        proven, work = prove(outlines.xy, outlines.starts, outlines.counts, outlines.nxt, unproven, PROOF_MAX_PAIRS)
        if stats is not None:
            stats["proof_pairs"] = stats.get("proof_pairs", 0) + int(work)
        unproven = unproven[~proven]
        if not len(unproven):
            return []
    if int(outlines.counts[unproven].sum()) <= _FEW_VERTICES:
        if stats is not None:  # every pair of edges, at most _FEW_VERTICES² / 2 in all
            c = outlines.counts[unproven]
            stats["edge_pairs"] = stats.get("edge_pairs", 0) + int((c * (c - 1) // 2).sum())
        found = [_few_crossings(outlines.outline(int(k)).tolist()) for k in unproven.tolist()]
        return [SelfCrossing(k, points, touches, max_places is None or len(points) <= max_places)
                for k, (points, touches) in zip(unproven.tolist(), found) if points]
    rings = shapely.linearrings(outlines.xy[_rows(outlines, unproven)],
                                indices=np.arange(len(unproven)).repeat(outlines.counts[unproven]))
    bad = unproven[~shapely.is_simple(shapely.polygons(rings))]
    if not len(bad):
        return []
    return [SelfCrossing(k, *found) for k, found in zip(bad.tolist(), _crossings(outlines, bad, stats, max_places))]


def _rows(outlines: Outlines, which: np.ndarray) -> np.ndarray:
    return _rows_from(outlines.starts[which], outlines.counts[which])


def _rows_from(firsts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The rows ``firsts[k] .. firsts[k] + counts[k]`` of every ``k``, one run after the other."""
    return np.arange(int(counts.sum())) + (firsts - (counts.cumsum() - counts)).repeat(counts)


def _crossings(outlines: Outlines, which: np.ndarray, stats: dict | None, max_places: int | None
               ) -> list[tuple[list[tuple[float, float]], bool, bool]]:
    """Where each outline at ``which`` meets itself, in outline order, whether any of them is not a clean crossing
    (a vertex on another edge, or edges running along each other), and whether that is all of them (the search
    of an outline stops at ``EDGE_PAIRS_FLOOR + EDGE_PAIRS_PER_EDGE * edges`` pairs of edges near each other).
    All at once: one search of all their edges for pairs whose envelopes meet, shapely calls in bounded chunks."""
    pts, k = outlines.xy[_rows(outlines, which)], outlines.counts[which]  # no zero-length edges (Outlines)
    m = len(k)
    out: list[tuple[list[tuple[float, float]], bool, bool]] = [([], False, True)] * m
    if not m:
        return out
    starts = k.cumsum() - k
    owner = np.arange(m).repeat(k)
    nxt = np.arange(1, len(pts) + 1)
    nxt[starts[k > 0] + k[k > 0] - 1] = starts[k > 0]
    ends = np.stack([pts, pts[nxt]], axis=1)  # (S, 2, 2): the edge from each vertex to the next
    # edges whose envelopes meet (as an STRtree query would give them), in one outline of 3+ corners, at most
    # EDGE_PAIRS_PER_OUTLINE... of them per outline
    edges = (k[owner] >= 3).nonzero()[0]  # fewer than 3 distinct corners: flat, not crossing
    limits = EDGE_PAIRS_FLOOR + EDGE_PAIRS_PER_EDGE * k
    qi, qj, complete, work = pairs_within_groups(np.hstack([ends[edges].min(axis=1), ends[edges].max(axis=1)]),
                                              owner[edges], limits)
    if stats is not None:
        stats["edge_pairs"] = stats.get("edge_pairs", 0) + work
    if not complete.all():  # an outline with more places than can be listed: a few of them are enough to show
        g = owner[edges[qi]]  # group after group
        rank = np.arange(len(g)) - np.searchsorted(g, g)
        shown = complete[g] | (rank < EDGE_PAIRS_FLOOR)
        qi, qj = qi[shown], qj[shown]
    i, j = edges[qi], edges[qj]
    order = np.lexsort((j, i))  # outline order, outline after outline
    i, j = i[order], j[order]
    poly = owner[i]
    a, b, kk = i - starts[poly], j - starts[poly], k[poly]
    adjacent = (b == a + 1) | ((a == 0) & (b == kk - 1))
    # adjacent edges meet at their shared vertex; unless they run along each other (clearly not collinear, well
    # beyond float rounding), that is all: no need to compute it. Other pairs whose ends lie on one side of the
    # other's line (certainly: beyond the orientation's rounding error) do not meet: no need to ask GEOS.
    u, v = ends[i, 1] - ends[i, 0], ends[j, 1] - ends[j, 0]
    with np.errstate(all="ignore"):
        turn = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
        plain = adjacent & (turn > 1e-9 * np.hypot(u[:, 0], u[:, 1]) * np.hypot(v[:, 0], v[:, 1]))
        apart = ~adjacent & (_one_side(ends[i], ends[j]) | _one_side(ends[j], ends[i]))
    keep = ~(plain | apart)
    i, j, poly, adjacent = i[keep], j[keep], poly[keep], adjacent[keep]
    lines = np.empty(len(ends), dtype=object)  # segments of the edges still in question only
    needed = np.unique(np.concatenate([i, j]))
    lines[needed] = shapely.linestrings(ends[needed])
    hit = _chunked(shapely.intersects, lines[i], lines[j])
    i, j, poly, adjacent = i[hit], j[hit], poly[hit], adjacent[hit]
    if max_places is not None:  # outlines meeting themselves more often: not located (incomplete, no points)
        many = (np.bincount(poly, minlength=m) > max_places) | ~complete
        complete = complete & ~many
        keep = ~many[poly]
        i, j, poly, adjacent = i[keep], j[keep], poly[keep], adjacent[keep]
    inter = _chunked(shapely.intersection, lines[i], lines[j])
    overlap = shapely.length(inter) > 0
    problem = ~adjacent | overlap
    i, j, poly, overlap, inter = i[problem], j[problem], poly[problem], overlap[problem], inter[problem]
    coords, index = shapely.get_coordinates(inter, return_index=True)
    bounds = np.searchsorted(index, np.arange(len(inter) + 1)).tolist()
    coords_list = coords.tolist()
    ends_i, ends_j = ends[i].tolist(), ends[j].tolist()
    overlap = overlap.tolist()
    poly = poly.tolist()  # non-decreasing: pairs are in outline order, outline after outline
    for n, p in enumerate(poly):
        if n == 0 or poly[n - 1] != p:
            found, seen, touches = [], set(), False
        if overlap[n]:
            touches = True
            x, y = coords[bounds[n]:bounds[n + 1]].mean(axis=0)
            x, y = float(x), float(y)
        else:
            if bounds[n] == bounds[n + 1]:
                raise IndexError("GEOS found no intersection point for edges that intersect")
            x, y = coords_list[bounds[n]]
            touches = touches or [x, y] in (ends_i[n][0], ends_i[n][1], ends_j[n][0], ends_j[n][1])
        key = (round(x, 6), round(y, 6))
        if key not in seen:
            seen.add(key)
            found.append((x, y))
        out[p] = (found, touches, True)
    return [(f, t, bool(c)) for (f, t, _), c in zip(out, complete)]


def _one_side(e: np.ndarray, f: np.ndarray) -> np.ndarray:
    """For edges ``e`` and ``f`` ``(k, 2, 2)``: whether both ends of ``f`` lie strictly on one side of ``e``'s
    line, certainly (each orientation beyond its float rounding bound, as in :func:`orientation`)."""
    (ax, ay), (bx, by) = e[:, 0].T, e[:, 1].T
    sides = []
    for c in (f[:, 0], f[:, 1]):
        cx, cy = c[:, 0], c[:, 1]
        left, right = (ax - cx) * (by - cy), (ay - cy) * (bx - cx)
        det = left - right
        bound = _ORIENT_BOUND * (np.abs(left) + np.abs(right))
        sides.append(np.where(det > bound, 1, np.where(-det > bound, -1, 0)))
    return (sides[0] == sides[1]) & (sides[0] != 0)


def _chunked(fn, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``fn(a, b)`` of a vectorised shapely function, a bounded chunk at a time (a long C call cannot be interrupted
    by the time budget; between chunks it can)."""
    if len(a) <= _SHAPELY_CHUNK:
        return fn(a, b)
    return np.concatenate([fn(a[s:s + _SHAPELY_CHUNK], b[s:s + _SHAPELY_CHUNK])
                           for s in range(0, len(a), _SHAPELY_CHUNK)])


def _few_crossings(raw: list[list[float]]) -> tuple[list[tuple[float, float]], bool]:
    """:func:`_crossings` of one outline with a handful of vertices, in plain Python: the same edges, pairs and
    meeting points, decided with exact orientation tests (:func:`_orientation`) instead of shapely calls, whose
    fixed cost dominates for a few edges. Where the outline meets itself: at a vertex (exact), along a shared
    stretch (its middle), or where two edges cross (computed in floats: within a few ulps of GEOS's point)."""
    _, meetings = few_meetings(raw)
    found: list[tuple[float, float]] = []
    seen: set[tuple[float, float]] = set()  # found points rounded to 1e-6 px: each place once
    touches = False
    for _, _, touch, point in meetings:
        touches = touches or touch
        key = (round(point[0], 6), round(point[1], 6))
        if key not in seen:
            seen.add(key)
            found.append(point)
    return found, touches


def few_meetings(raw: list[list[float]]) -> tuple[list, list[tuple[int, int, bool, tuple[float, float]]]]:
    """The vertices of one outline (a handful) without zero-length edges, and every pair of its edges that meet
    other than neighbours at their shared vertex, in outline order: ``(edge e, edge f > e, touch, point)`` (edge
    ``e`` runs from vertex ``e`` to the next; ``touch``: not a clean crossing, i.e. a shared stretch or a vertex
    on the other edge; ``point``: as :func:`_few_crossings` gives it). The pairs of edges whose envelopes meet
    (:func:`_meeting_boxes`; quadratic at worst, for a few)."""
    pts = raw[:1] + [q for p, q in zip(raw, raw[1:]) if q != p]  # consecutive duplicates: zero-length edges
    if len(pts) > 1 and pts[-1] == pts[0]:
        pts.pop()  # the closing duplicate
    meetings: list[tuple[int, int, bool, tuple[float, float]]] = []
    n = len(pts)
    if n < 3:
        return pts, meetings
    edges = list(zip(pts, pts[1:] + pts[:1]))
    # min and max as the builtins compute them (NaN included), without a call per coordinate
    box = [(q[0] if q[0] < p[0] else p[0], q[1] if q[1] < p[1] else p[1],
            q[0] if q[0] > p[0] else p[0], q[1] if q[1] > p[1] else p[1]) for p, q in edges]
    # whether each edge clearly turns from the next (the pairs (e, e + 1)), and the first from the last; the
    # sweep finds these pairs of neighbours for every edge (their boxes share a vertex): one pass, no call each
    step = [(q[0] - p[0], q[1] - p[1]) for p, q in edges]
    length = [hypot(x, y) for x, y in step]
    clear = [abs(ux * vy - uy * vx) > 1e-9 * lu * lv
             for (ux, uy), (vx, vy), lu, lv in zip(step, step[1:], length, length[1:])]
    clear.append(_clearly_turns(edges[0], edges[n - 1]))
    for e, f in _meeting_boxes(box):
        adjacent = f == e + 1 or (e == 0 and f == n - 1)
        if adjacent and clear[e if f == e + 1 else n - 1]:
            continue  # they only share their vertex
        meeting = _meet(*edges[e], *edges[f])
        if meeting is None:
            continue
        is_overlap, point = meeting
        if adjacent and not is_overlap:
            continue  # neighbours meeting at their shared vertex only
        meetings.append((e, f, is_overlap or list(point) in (*edges[e], *edges[f]), point))
    return pts, meetings


def _meeting_boxes(box: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    """The pairs ``(e, f)``, ``e < f``, of these boxes (``xmin, ymin, xmax, ymax``) that meet (touching included),
    sorted: a sweep along x (each box against the boxes that start within its x range), every pair of them when
    a coordinate is NaN (no order to sweep in)."""
    n = len(box)
    total = sum(map(sum, box))
    if total != total:  # a NaN (or inf - inf: every pair gives the same answer, more slowly)
        return [(e, f) for e in range(n) for f in range(e + 1, n)
                if box[e][0] <= box[f][2] and box[f][0] <= box[e][2] and box[e][1] <= box[f][3]
                and box[f][1] <= box[e][3]]
    order = sorted(range(n), key=[b[0] for b in box].__getitem__)
    out = []
    for k, e in enumerate(order):
        _, t1, r1, b1 = box[e]
        for f in islice(order, k + 1, None):
            l2, t2, _, b2 = box[f]
            if l2 > r1:
                break  # this box and every later one start right of box e
            if t1 <= b2 and t2 <= b1:
                out.append((e, f) if e < f else (f, e))
    out.sort()
    return out


def _clearly_turns(edge, other) -> bool:
    """Whether two edges that follow each other are clearly not collinear (well beyond float rounding)."""
    ux, uy = edge[1][0] - edge[0][0], edge[1][1] - edge[0][1]
    vx, vy = other[1][0] - other[0][0], other[1][1] - other[0][1]
    return abs(ux * vy - uy * vx) > 1e-9 * math.hypot(ux, uy) * math.hypot(vx, vy)


# Shewchuk's bound on the float orientation's error, and the products below which it may have lost precision to
# underflow (decided exactly instead): defined once, with the compiled kernels' float-only test (compiled._side)
_ORIENT_BOUND, _TINY = ORIENT_BOUND, TINY


def orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """The turn a -> b -> c: 1 (left), -1 (right) or 0 (collinear), exactly. The float determinant decides when
    its sign is certain (Shewchuk's error bound, no overflow or underflow); otherwise exact rational arithmetic
    (every float is an exact fraction) does, as GEOS's robust predicates would."""
    f1, f2, f3, f4 = ax - cx, by - cy, ay - cy, bx - cx
    left, right = f1 * f2, f3 * f4
    det = left - right
    if ((left == 0.0 and (f1 == 0.0 or f2 == 0.0)) or _TINY < abs(left) < math.inf) and \
            ((right == 0.0 and (f3 == 0.0 or f4 == 0.0)) or _TINY < abs(right) < math.inf):
        if left == 0.0 and right == 0.0:
            return 0
        bound = _ORIENT_BOUND * (abs(left) + abs(right))
        if det > bound:
            return 1
        if -det > bound:
            return -1
    F = Fraction
    exact = (F(ax) - F(cx)) * (F(by) - F(cy)) - (F(ay) - F(cy)) * (F(bx) - F(cx))
    return (exact > 0) - (exact < 0)


def _meet(a, b, c, d) -> tuple[bool, tuple[float, float]] | None:
    """How the segments ab and cd (each of non-zero length) meet: None when they do not, else (whether they share
    a stretch, the meeting point: the single common point, or the middle of the shared stretch)."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = a, b, c, d
    o1, o2 = orientation(ax, ay, bx, by, cx, cy), orientation(ax, ay, bx, by, dx, dy)
    if o1 == o2 != 0:
        return None  # c and d on the same side of ab
    o3, o4 = orientation(cx, cy, dx, dy, ax, ay), orientation(cx, cy, dx, dy, bx, by)
    if o3 == o4 != 0:
        return None
    if o1 == 0 and o2 == 0:  # all four on one line: compare positions along it (x, or y for a vertical line)
        k = 0 if ax != bx else 1
        s, t = sorted((a, b), key=lambda p: p[k]), sorted((c, d), key=lambda p: p[k])
        lo = s[0] if s[0][k] >= t[0][k] else t[0]
        hi = s[1] if s[1][k] <= t[1][k] else t[1]
        if lo[k] > hi[k]:
            return None
        if lo[k] == hi[k]:
            return False, (float(lo[0]), float(lo[1]))
        return True, ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0)
    for o, p, (e0, e1) in ((o1, c, (a, b)), (o2, d, (a, b)), (o3, a, (c, d)), (o4, b, (c, d))):
        if o == 0 and min(e0[0], e1[0]) <= p[0] <= max(e0[0], e1[0]) and \
                min(e0[1], e1[1]) <= p[1] <= max(e0[1], e1[1]):
            return False, (float(p[0]), float(p[1]))  # an end of one segment on the other
    if 0 in (o1, o2, o3, o4):
        return None  # an end on the other segment's line, but beyond that segment
    return False, _crossing(a, b, c, d)


def _crossing(a, b, c, d) -> tuple[float, float]:
    """Where the segments ab and cd cross (they do, at one point inside both): in floats when that is accurate
    to ~1e-10 of the segment's length, else (nearly parallel edges, absurd coordinates) exactly."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = a, b, c, d
    ex, ey = dx - cx, dy - cy
    p1, p2, q1, q2 = ex * (ay - cy), ey * (ax - cx), ex * (by - cy), ey * (bx - cx)
    d1, d2 = p1 - p2, q1 - q2  # sides of a and b relative to cd
    denominator = d1 - d2
    error = 8 * 2.0 ** -53 * (abs(p1) + abs(p2) + abs(q1) + abs(q2))  # generous bound on d1's and d2's error
    if math.isfinite(error) and abs(denominator) * 1e-10 > error:
        t = d1 / denominator
        return ax + t * (bx - ax), ay + t * (by - ay)
    F = Fraction
    fa, fb, fc, fd = (F(ax), F(ay)), (F(bx), F(by)), (F(cx), F(cy)), (F(dx), F(dy))
    fex, fey = fd[0] - fc[0], fd[1] - fc[1]
    e1 = fex * (fa[1] - fc[1]) - fey * (fa[0] - fc[0])
    e2 = fex * (fb[1] - fc[1]) - fey * (fb[0] - fc[0])
    t = e1 / (e1 - e2)
    return float(fa[0] + t * (fb[0] - fa[0])), float(fa[1] + t * (fb[1] - fa[1]))
