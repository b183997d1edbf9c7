"""Overlaps between the shapes of one request: bounded candidate search and exact measurement.

Built on the request's :class:`~validator.geometry.index.GeometryIndex` (reach them as
``ctx.geometry.overlap_candidates(positions)`` and ``ctx.geometry.overlaps(i, j)``):

1. candidates: the pairs whose envelopes meet (numpy alone, no geometry built), at most ``pair_limit`` of them.
   Past the limit, exact copies are grouped by sorting (a pile of copies is one group, not a quadratic number of
   pairs) and the distinct shapes searched again; if they still meet in too many pairs, the densest pile is named
   and no pair is measured. Every outcome is something a rule can report: never a silent cut.
2. measurement: pairs of two unrotated boxes by arithmetic on their bounds (exact), every other pair with
   vectorised shapely calls on the candidates only, invalid shapes repaired once per shape; polygons too tangled
   to repair at a bounded cost are set aside (``tangled``); pairs whose shapes do not meet (``intersects``) are
   not intersected. Each pair measured counts in ``stats["exact_comparisons"]`` (the complexity guard reads it).
   Before it, a rule with a threshold can drop the pairs a cheap bound rules out (``may_reach_iou``: area and
   envelope bound on the IoU, counted in ``stats["pairs_bounded"]``).

Overlap is measured by area: shapes that only touch do not overlap.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import shapely

from .boxes import box_overlaps
from .pairs import Overlaps, iou_upper_bound, overlap_point, pair_limit, shape_overlaps

if TYPE_CHECKING:
    from .index import GeometryIndex

_NONE = np.zeros(0, dtype=np.int64)


class Candidates(NamedTuple):
    """Pairs ``(i, j)`` of positions to measure (``i < j``); ``copies``: groups of exact copies, each ``(first,
    others)`` (only when the pairs reached the limit); ``pile``: when even the distinct shapes meet in more pairs
    than ``limit``, ``(a shape in the densest pile, how many others it meets)``, and then no pairs."""

    i: np.ndarray
    j: np.ndarray
    copies: list[tuple[int, np.ndarray]]
    pile: tuple[int, int] | None
    limit: int


def overlap_candidates(geo: "GeometryIndex", positions: np.ndarray, grow: float = 0.0) -> Candidates:
    """The candidate pairs of the shapes at ``positions`` (those that have a geometry; envelopes grown by
    ``grow`` px), bounded (see above)."""
    if len(positions) < 2:  # nothing to pair: no envelope computed
        return Candidates(_NONE, _NONE, [], None, pair_limit(len(positions)))
    positions = positions[geo.exists[positions]]  # shapes that cannot exist are not compared
    limit = pair_limit(len(positions))
    found = geo.meeting_pairs(positions, grow, limit=limit)
    if found.complete:
        return Candidates(found.i, found.j, [], None, limit)
    first = geo.first_copies(positions)
    copied = (first != positions).nonzero()[0]
    copies = []
    if len(copied):
        order = copied[np.argsort(first[copied], kind="stable")]
        reps, starts = np.unique(first[order], return_index=True)
        copies = list(zip(reps.tolist(), np.split(positions[order], starts[1:])))
        found = geo.meeting_pairs(positions[first == positions], grow, limit=limit)
    if found.complete:
        return Candidates(found.i, found.j, copies, None, limit)
    return Candidates(_NONE, _NONE, copies, (found.busiest, found.crowd), limit)


def may_reach_iou(geo: "GeometryIndex", i: np.ndarray, j: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Mask of the candidate pairs whose intersection over union could reach ``need`` (per pair), by
    ``iou_upper_bound`` on the shapes' areas (once per shape: as the exact measure repairs them, or within a proven
    bound of it for simple polygons, whose geometry is then built only if a pair of theirs is kept) and envelopes:
    the other pairs cannot reach it and need no exact geometry (counted in ``stats["pairs_bounded"]``). Pairs with a
    shape too tangled to measure stay, so that the measurement reports it."""
    if not len(i):
        return np.zeros(0, dtype=bool)
    if len(i) <= FEW_PAIRS:
        may = _may_reach_few(geo, i, j, need)
        if may is not None:
            geo.stats["pairs_bounded"] = geo.stats.get("pairs_bounded", 0) + int(len(may) - may.sum())
            return may
    shapes, at = np.unique(np.concatenate([i, j]), return_inverse=True)
    areas, errs = geo.bounding_areas_of(shapes)
    ai, aj = areas[at[:len(i)]], areas[at[len(i):]]
    env = geo.envelopes
    if np.ndim(errs):
        bound = iou_upper_bound(ai, aj, env[i], env[j], errs[at[:len(i)]], errs[at[len(i):]])
    else:  # every area exact
        bound = iou_upper_bound(ai, aj, env[i], env[j])
    may = ~(bound < need * (1 - 1e-9)) | np.isnan(ai) | np.isnan(aj)  # 1e-9: rounding never drops a duplicate
    geo.stats["pairs_bounded"] = geo.stats.get("pairs_bounded", 0) + int(len(may) - may.sum())
    return may


FEW_PAIRS = 32  # may_reach_iou bounds at most this many pairs in plain Python (numpy's fixed cost per call dominates)


def _may_reach_few(geo: "GeometryIndex", i: np.ndarray, j: np.ndarray, need: np.ndarray) -> np.ndarray | None:
    """:func:`may_reach_iou` of a few pairs, pair by pair in Python floats: the same operations as
    :func:`~validator.geometry.pairs.iou_upper_bound` on finite numbers (so the same bound, bit for bit); None when a
    number is not finite (overflowing areas or envelopes), for the numpy path to decide as it always has."""
    il, jl = i.tolist(), j.tolist()
    shapes = sorted({*il, *jl})
    areas, errs = geo.bounding_areas_few(shapes)
    area = dict(zip(shapes, areas))
    with_errors = errs is not None  # as the numpy path: the bound with errors for every pair, or for none
    err = dict(zip(shapes, errs)) if with_errors else {}
    env = dict(zip(shapes, geo.envelopes[shapes].tolist()))
    isfinite = math.isfinite
    out = []
    for a, b, bar in zip(il, jl, need.tolist()):
        ai, aj = area[a], area[b]
        if ai != ai or aj != aj:  # a shape too tangled to measure: the pair stays, for the measurement to report
            out.append(True)
            continue
        x0, y0, x1, y1 = env[a]
        u0, v0, u1, v1 = env[b]
        w = min(x1, u1) - max(x0, u0)
        h = min(y1, v1) - max(y0, v0)
        shared = max(w, 0.0) * max(h, 0.0)
        if with_errors:
            ei, ej = err[a], err[b]
            hi_i, hi_j, lo_i, lo_j = ai + ei, aj + ej, ai - ei, aj - ej
            top = min(min(hi_i, hi_j), shared)
            union = max(lo_i + lo_j - top, max(lo_i, lo_j))
        else:
            top = min(min(ai, aj), shared)
            union = ai + aj - top
        if not (isfinite(shared) and isfinite(top) and isfinite(union) and isfinite(bar)):
            return None
        bound = top / union if union > 0 else 0.0
        out.append(not bound < bar * (1 - 1e-9))
    return np.array(out, dtype=bool)


class PairOverlaps:
    """Exact overlap areas of candidate pairs ``(i, j)``: ``inter``, ``area_i``, ``area_j`` (arrays), ``iou()``,
    ``of_smaller()``, ``location(k)``; ``tangled``: positions of polygons too tangled to measure (their pairs
    count as not overlapping)."""

    def __init__(self, geo: "GeometryIndex", i: np.ndarray, j: np.ndarray):
        k = len(i)
        geo.stats["exact_comparisons"] = geo.stats.get("exact_comparisons", 0) + k
        self.inter = np.zeros(k)
        self.area_i = np.zeros(k)
        self.area_j = np.zeros(k)
        self.rect = np.zeros((k, 4))  # intersection rectangles of box pairs
        self.shapes: dict[int, object] = {}  # pair index -> intersection geometry (non-box pairs)
        self.tangled: list[int] = []
        if not k:
            self.boxes = np.zeros(0, dtype=bool)
            return
        aligned = geo.axis_aligned_mask
        self.boxes = aligned[i] & aligned[j]
        b = geo.bounds
        if self.boxes.any():
            ov, rect = box_overlaps(b[i[self.boxes]], b[j[self.boxes]])
            self.inter[self.boxes], self.area_i[self.boxes], self.area_j[self.boxes] = ov
            self.rect[self.boxes] = rect
        other = (~self.boxes).nonzero()[0]
        if len(other):
            both = geo.measurable_geoms_of(np.concatenate([i[other], j[other]]))  # one call: one validity pass
            gi, gj = both[:len(other)], both[len(other):]
            ok = (gi != None) & (gj != None)  # noqa: E711  (elementwise on object arrays)
            if not ok.all():
                self.tangled = sorted({int(p) for p, g in zip(np.r_[i[other], j[other]], np.r_[gi, gj]) if g is None})
                other, gi, gj = other[ok], gi[ok], gj[ok]
            ov, shapes = shape_overlaps(gi, gj, repair=False)
            self.inter[other], self.area_i[other], self.area_j[other] = ov
            self.shapes = dict(zip(other.tolist(), shapes))

    def iou(self) -> np.ndarray:
        return Overlaps(self.inter, self.area_i, self.area_j).iou()

    def of_smaller(self) -> np.ndarray:
        return Overlaps(self.inter, self.area_i, self.area_j).of_smaller()

    def location(self, k: int) -> tuple[float, float] | None:
        """The centroid of pair ``k``'s overlap (a point inside it when the centroid falls outside)."""
        if self.boxes[k]:
            x0, y0, x1, y1 = self.rect[k].tolist()  # Python floats: Issue locations take them as they are
            return ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
        return overlap_point(self.shapes.get(k))


def has_area(geo: "GeometryIndex", pos: int) -> bool:
    return bool(shapely.area(geo.geoms_of(np.array([pos]))[0]) > 0)


def centre_of(geo: "GeometryIndex", pos: int) -> tuple[float, float] | None:
    """Where to point at one shape: its centroid, or a point on its surface when the centroid falls outside."""
    return overlap_point(geo.geoms_of(np.array([pos]))[0])
