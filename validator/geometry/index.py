"""Geometry built once per request, shared by every rule.

Everything here is derived lazily from the one coordinate array of :class:`validator.annotations.AnnotationSet`
and built with vectorised shapely 2 / numpy calls (no Python loop over annotations):

* ``bounds``: ``(n, 4)`` array ``xmin, ymin, xmax, ymax`` per annotation (numpy ``reduceat``).
* ``geoms``: shapely geometry per annotation, aligned with the set (``None`` where a shape cannot exist, e.g. a
  polygon with fewer than 3 vertices): boxes (rotated ones as polygons), polygons, lines, points, cuboids (the
  convex hull of their 6 vertices: their footprint in the image), ellipses (a 64-gon through the ellipse defined
  by its 4 extremal points, conjugate semi-axes from the centre). Built per annotation on first use:
  ``geoms_of(positions)`` builds only those asked for (a rule about a few polygons does not pay for every box);
  ``geoms`` builds all. ``exists``: where a geometry exists, without building any.
* ``tree``: one STRtree over ``geoms`` for the whole task (for rules that need shapely predicates; the built-in
  rules find their candidate pairs with ``envelope_pairs`` and never build it).
* ``envelopes`` / ``envelope_pairs(positions, grow)``: the bounds each geometry has (without building it) and the
  pairs whose envelopes meet, by a numpy sweep: what an STRtree query of the envelopes gives, linear-ish work.
* ``areas``: shapely areas.
* ``axis_aligned_boxes``: positions of unrotated boxes, for exact IoU by plain arithmetic.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import shapely

from validator.scale.annotations import TYPE_CODE, AnnotationSet

ELLIPSE_SEGMENTS = 64
_ALL_PAIRS_UP_TO = 96  # meeting_envelopes compares every pair of this many envelopes or fewer (cheaper than sorting;
# measured: all pairs 30 us vs sweep 40 us at 83 envelopes, even at ~100)
_NO_PAIRS = np.zeros(0, dtype=np.int64)
_BOX, _POLYGON, _LINE, _POINT, _CUBOID, _ELLIPSE = (TYPE_CODE[t] for t in
                                                    ("box", "polygon", "line", "point", "cuboid", "ellipse"))


class GeometryIndex:
    def __init__(self, annotations: AnnotationSet):
        self.annotations = annotations
        annotations.geometry = self
        # counted for the complexity guard (tests/test_complexity.py): pairs compared exactly by rules, tree builds
        self.stats = {"exact_comparisons": 0, "strtree_builds": 0}
        self._geoms: np.ndarray | None = None  # built lazily, per annotation (geoms_of), shared by every rule
        self._built: np.ndarray | None = None
        self._all_built = False

    # -- cheap, numpy only -------------------------------------------------------------------------------------
    @property
    def counts(self) -> np.ndarray:
        return self.annotations.counts

    @cached_property
    def bounds(self) -> np.ndarray:
        a = self.annotations
        n = len(a)
        out = np.full((n, 4), np.nan)
        if n == 0:
            return out
        nonempty = self.counts > 0
        if not nonempty.any():
            return out
        offs = a.offsets[nonempty]
        xy = a.coords
        out[nonempty, 0] = np.minimum.reduceat(xy[:, 0], offs)
        out[nonempty, 1] = np.minimum.reduceat(xy[:, 1], offs)
        out[nonempty, 2] = np.maximum.reduceat(xy[:, 0], offs)
        out[nonempty, 3] = np.maximum.reduceat(xy[:, 1], offs)
        return out

    @cached_property
    def axis_aligned_boxes(self) -> np.ndarray:
        """Positions of boxes without rotation (their bounds are the box itself)."""
        a = self.annotations
        return ((a.type_codes == _BOX) & (a.box[:, 4] == 0.0)).nonzero()[0]

    # -- shapely ---------------------------------------------------------------------------------------------
    @cached_property
    def exists(self) -> np.ndarray:
        """Boolean mask: the annotations that have a shapely geometry (``geoms`` is not None there). Numpy only."""
        a = self.annotations
        t = a.type_codes
        c = self.counts
        return ((t == _BOX) | (t == _POINT) | ((t == _POLYGON) & (c >= 3)) | ((t == _LINE) & (c >= 2))
                | ((t == _CUBOID) & (c >= 1)) | ((t == _ELLIPSE) & (c == 4)))

    @property
    def geoms(self) -> np.ndarray:
        """Every annotation's geometry (``None`` where none can exist). Builds whatever is not built yet: a rule that
        needs only some shapes should ask for them with :meth:`geoms_of`."""
        if not self._all_built:
            self.geoms_of(np.arange(len(self.annotations)))
            self._all_built = True
        return self._geoms

    def geoms_of(self, positions: np.ndarray) -> np.ndarray:
        """The geometries of the annotations at ``positions`` (a new object array, aligned with ``positions``),
        building only those not built yet (each geometry is built once per request and shared)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._geoms is None:
            self._geoms = np.full(len(self.annotations), None, dtype=object)
            self._built = np.zeros(len(self.annotations), dtype=bool)
        if not self._all_built:
            missing = positions[~self._built[positions]]
            if len(missing):
                if len(missing) > 1 and not (missing[1:] > missing[:-1]).all():  # usually sorted already
                    missing = np.unique(missing)
                self._build(missing)
                self._built[missing] = True
        return self._geoms[positions]

    def _build(self, positions: np.ndarray) -> None:
        """Build the geometries of the (distinct, sorted) ``positions`` into ``self._geoms``, one vectorised shapely
        call per geometry type present."""
        a = self.annotations
        geoms = self._geoms
        codes = a.type_codes[positions]
        present = set(codes.tolist())
        for code in present:
            at = positions if len(present) == 1 else positions[codes == code]
            at = at[self.exists[at]]  # a shape that cannot exist stays None
            if code == _BOX:
                rotated = a.box[at, 4] != 0.0
                aligned = at[~rotated]
                if len(aligned):
                    b = self.bounds[aligned]
                    geoms[aligned] = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
                self._rings_to_polygons(geoms, at[rotated])
            elif code == _POLYGON:
                self._rings_to_polygons(geoms, at)
            elif code == _LINE:
                xy, idx = self._gather(at)
                geoms[at] = shapely.linestrings(xy, indices=idx)
            elif code == _POINT:
                geoms[at] = shapely.points(a.coords[a.offsets[at]])
            elif code == _CUBOID:
                xy, idx = self._gather(at)
                geoms[at] = shapely.convex_hull(shapely.multipoints(xy, indices=idx))
            else:
                geoms[at] = self._ellipses(at)

    def _gather(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of the given annotations, concatenated, with the geometry index of each coordinate."""
        a = self.annotations
        return a.coords[a.rows_of(positions)], np.arange(len(positions)).repeat(self.counts[positions])

    def _rings_to_polygons(self, geoms: np.ndarray, positions: np.ndarray) -> None:
        if not len(positions):
            return
        xy, idx = self._gather(positions)
        rings = shapely.linearrings(xy, indices=idx)
        geoms[positions] = shapely.polygons(rings)

    def _ellipses(self, positions: np.ndarray) -> np.ndarray:
        ring = self._ellipse_rings(positions)
        m = len(positions)
        rings = shapely.linearrings(ring.reshape(-1, 2), indices=np.repeat(np.arange(m), ELLIPSE_SEGMENTS))
        return shapely.polygons(rings)

    def _ellipse_rings(self, positions: np.ndarray) -> np.ndarray:
        """The vertices of the ellipses' 64-gons, ``(m, ELLIPSE_SEGMENTS, 2)``."""
        a = self.annotations
        pts = a.coords[a.offsets[positions][:, None] + np.arange(4)]  # (m, 4, 2)
        centre = (pts[:, 0] + pts[:, 1] + pts[:, 2] + pts[:, 3]) / 4.0
        u = (pts[:, 1] - pts[:, 3]) / 2.0  # conjugate semi-axis through the 2nd and 4th points
        v = (pts[:, 0] - pts[:, 2]) / 2.0  # conjugate semi-axis through the 1st and 3rd points
        t = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_SEGMENTS, endpoint=False)
        return (centre[:, None, :] + np.cos(t)[None, :, None] * u[:, None, :]
                + np.sin(t)[None, :, None] * v[:, None, :])  # (m, S, 2)

    # -- candidate pairs, numpy only ---------------------------------------------------------------------------
    @cached_property
    def envelopes(self) -> np.ndarray:
        """``(n, 4)`` bounds of each annotation's geometry (``xmin, ymin, xmax, ymax``, what an STRtree indexes),
        computed without building it: ``bounds`` except for ellipses (their 64-gon reaches beyond their 4
        points); NaN where no geometry exists."""
        out = self.bounds.copy()
        out[~self.exists] = np.nan
        ellipses = (self.exists & (self.annotations.type_codes == _ELLIPSE)).nonzero()[0]
        if len(ellipses):
            ring = self._ellipse_rings(ellipses)
            out[ellipses, :2] = ring.min(axis=1)
            out[ellipses, 2:] = ring.max(axis=1)
        return out

    def envelope_pairs(self, positions: np.ndarray, grow: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(i, j)``, ``i < j``, of the given positions (annotations with a geometry) whose envelopes
        (grown by ``grow`` on every side) meet, touching included: what a query of an STRtree of these envelopes
        returns, found with numpy alone (no geometry built).

        Small sets compare every pair. Larger ones are cut into horizontal strips about two envelopes high: each
        envelope goes into every strip it spans, and in each strip a sweep along x (sorted left edges, binary
        search of each right edge) gives the pairs that meet in x; those that also meet in y are kept, each in
        the one strip holding the top of their common part. The work grows with the number of envelopes and of
        pairs near each other (meeting in x within a strip), not with the number of all pairs."""
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions) < 2:
            return _NO_PAIRS, _NO_PAIRS
        env = self.envelopes[positions]
        if grow:
            env = env + np.array([-grow, -grow, grow, grow])
        i, j = meeting_envelopes(env)
        return positions[i], positions[j]


    @cached_property
    def tree(self) -> shapely.STRtree:
        self.stats["strtree_builds"] += 1
        return shapely.STRtree(self.geoms)

    @cached_property
    def areas(self) -> np.ndarray:
        out = np.zeros(len(self.annotations))
        g = self.geoms
        ok = g != None  # noqa: E711  (elementwise on an object array)
        if ok.any():
            out[ok] = shapely.area(g[ok])
        return out


def meeting_envelopes(env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows ``(i, j)``, ``i < j``, of an ``(m, 4)`` array of finite envelopes (``xmin, ymin, xmax, ymax``)
    that meet, touching included: what an STRtree query of these envelopes returns (see ``envelope_pairs``)."""
    m = len(env)
    if m < 2:
        return _NO_PAIRS, _NO_PAIRS
    x0, y0, x1, y1 = env[:, 0], env[:, 1], env[:, 2], env[:, 3]
    if m <= _ALL_PAIRS_UP_TO:
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
