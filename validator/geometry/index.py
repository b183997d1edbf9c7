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
* ``envelopes`` / ``meeting_pairs(positions, grow)``: the bounds each geometry has (without building it) and the
  pairs whose envelopes meet, by a numpy sweep: what an STRtree query of the envelopes gives, output-sensitive
  work, at most a limit of pairs (reaching it is reported, never a silent cut).
* ``first_copies(positions)``: exact copies (same type, label and vertices), by sorting, never by pairs.
* ``measurable_geoms_of(positions)``: the geometries with invalid ones repaired (once per annotation), None for
  polygons too tangled to repair at a bounded cost.
* ``areas``: shapely areas; ``bounding_areas_of``: areas within a small bound, polygons without their geometry.
* ``polygon_outlines``: one :class:`~validator.geometry.polygons.Outlines` of every polygon of at least 3 vertices,
  shared by the polygon rules (when they look at every polygon) and ``bounding_areas_of``.
* ``axis_aligned_boxes`` / ``axis_aligned_mask``: unrotated boxes (positions / mask), for exact IoU by plain
  arithmetic.
"""
from __future__ import annotations

import math

import numpy as np
import shapely

from validator.scale.annotations import TYPE_CODE, AnnotationSet
from validator.scale.lazy import cached_property

from .overlaps import Candidates, PairOverlaps, may_reach_iou, overlap_candidates
from .polygons import Outlines, self_crossings
from .pairs import EnvelopePairs, envelope_pairs_upto, first_copies, meeting_envelopes, pair_limit

__all__ = ["GeometryIndex", "meeting_envelopes"]

ELLIPSE_SEGMENTS = 64
MAX_REPAIRED_CROSSINGS = 16  # measurable_geoms_of repairs polygons that meet themselves at most this often
# bounding_areas_of takes the shoelace areas of this many polygons or more: below, numpy's fixed cost per call is
# more than building and measuring their few geometries (a real task's polygons: a handful)
SIMPLE_AREAS_FROM = 32  # (unless the polygon rules already built ``polygon_outlines``: then always)
# the IoU bound runs the polygon rules' crossing search itself (ahead of them) on at most this many vertices of
# outlines not proven simple by the star-shaped proof
SEARCH_FOR_BOUNDS_MAX_VERTICES = 4_096
_NO_PAIRS = np.zeros(0, dtype=np.int64)
_BOX, _POLYGON, _LINE, _POINT, _CUBOID, _ELLIPSE = (TYPE_CODE[t] for t in
                                                    ("box", "polygon", "line", "point", "cuboid", "ellipse"))
# per type code, the vertex counts with which a geometry exists (``exists``): boxes and points always, polygons
# from 3, lines from 2, cuboids from 1, ellipses with exactly their 4 points
_MIN_VERTICES = np.zeros(len(TYPE_CODE), dtype=np.int64)
_MAX_VERTICES = np.full(len(TYPE_CODE), np.iinfo(np.int64).max)
_MIN_VERTICES[[_POLYGON, _LINE, _CUBOID, _ELLIPSE]] = 3, 2, 1, 4
_MAX_VERTICES[_ELLIPSE] = 4


class GeometryIndex:
    def __init__(self, annotations: AnnotationSet):
        self.annotations = annotations
        annotations.geometry = self
        # counted for the complexity guard (tests/test_complexity.py): pairs compared exactly by rules, tree builds
        self.stats = {"exact_comparisons": 0, "strtree_builds": 0, "pairs_scanned": 0}
        self._geoms: np.ndarray | None = None  # built lazily, per annotation (geoms_of), shared by every rule
        self._built: np.ndarray | None = None
        self._all_built = False
        self._measurable: np.ndarray | None = None  # measurable_geoms_of: repaired shapes, per annotation
        self._measured: np.ndarray | None = None
        self._outline_of = _NO_PAIRS  # polygon_outlines: per position, its outline (-1: none)

    # -- cheap, numpy only -------------------------------------------------------------------------------------
    @property
    def counts(self) -> np.ndarray:
        return self.annotations.counts

    @cached_property
    def bounds(self) -> np.ndarray:
        a = self.annotations
        n = len(a)
        # both columns per reduceat, and no masked writes when every annotation has vertices (the usual case): on
        # a small task the fixed cost per numpy call is what counts
        if n and self.counts.min() > 0:
            return np.concatenate([np.minimum.reduceat(a.coords, a.offsets, axis=0),
                                   np.maximum.reduceat(a.coords, a.offsets, axis=0)], axis=1)
        out = np.full((n, 4), np.nan)
        nonempty = self.counts > 0
        if not nonempty.any():
            return out
        offs = a.offsets[nonempty]
        out[nonempty, :2] = np.minimum.reduceat(a.coords, offs, axis=0)
        out[nonempty, 2:] = np.maximum.reduceat(a.coords, offs, axis=0)
        return out

    @cached_property
    def axis_aligned_boxes(self) -> np.ndarray:
        """Positions of boxes without rotation (their bounds are the box itself)."""
        return self.axis_aligned_mask.nonzero()[0]

    @cached_property
    def axis_aligned_mask(self) -> np.ndarray:
        """Boolean mask: the boxes without rotation (:attr:`axis_aligned_boxes`), per annotation."""
        a = self.annotations
        return (a.type_codes == _BOX) & (a.box[:, 4] == 0.0)

    # -- shapely ---------------------------------------------------------------------------------------------
    @cached_property
    def exists(self) -> np.ndarray:
        """Boolean mask: the annotations that have a shapely geometry (``geoms`` is not None there). Numpy only."""
        t = self.annotations.type_codes
        c = self.counts
        return (c >= _MIN_VERTICES[t]) & (c <= _MAX_VERTICES[t])

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
        exists = self.exists
        if not exists.all():
            out[~exists] = np.nan
        if _ELLIPSE not in self.annotations.positions_by_type:  # (computed once per request by the engine)
            return out
        ellipses = (exists & (self.annotations.type_codes == _ELLIPSE)).nonzero()[0]
        if len(ellipses):
            ring = self._ellipse_rings(ellipses)
            out[ellipses, :2] = ring.min(axis=1)
            out[ellipses, 2:] = ring.max(axis=1)
        return out

    def envelope_pairs(self, positions: np.ndarray, grow: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``(i, j)``, ``i < j``, of the given positions (annotations with a geometry) whose envelopes
        (grown by ``grow`` on every side) meet, touching included: what a query of an STRtree of these envelopes
        returns, found with numpy alone (no geometry built). All of them, however many: rules use
        :meth:`meeting_pairs`, which stops at a limit."""
        found = self.meeting_pairs(positions, grow, limit=None)
        return found.i, found.j

    def meeting_pairs(self, positions: np.ndarray, grow: float = 0.0, limit: int | None = -1) -> EnvelopePairs:
        """:meth:`envelope_pairs` as an :class:`~validator.geometry.pairs.EnvelopePairs` (rows are positions), at
        most ``limit`` pairs (default: :func:`~validator.geometry.pairs.pair_limit` of the number of positions;
        None: all). The work grows with the number of envelopes and of pairs near each other, never beyond a small
        multiple of the limit (counted in ``stats["pairs_scanned"]``)."""
        positions = np.asarray(positions, dtype=np.int64)
        if limit == -1:
            limit = pair_limit(len(positions))
        if len(positions) < 2:
            return EnvelopePairs(_NO_PAIRS, _NO_PAIRS)
        env = self.envelopes[positions]
        if grow:
            env = env + np.array([-grow, -grow, grow, grow])
        found = envelope_pairs_upto(env, limit)
        self.stats["pairs_scanned"] = self.stats.get("pairs_scanned", 0) + found.work
        busiest = int(positions[found.busiest]) if not found.complete else -1
        return EnvelopePairs(positions[found.i], positions[found.j], found.complete, busiest, found.crowd, found.work)

    def first_copies(self, positions: np.ndarray, by_label: bool = True) -> np.ndarray:
        """For each of the given positions, the position (among them) of its first exact copy: the same geometry
        type (and label, ``by_label``) and exactly the same vertices; its own position when it has none before
        it. By sorting, never by pairs (see :func:`~validator.geometry.pairs.first_copies`)."""
        positions = np.asarray(positions, dtype=np.int64)
        a = self.annotations
        codes = a.type_codes[positions].astype(np.int64)
        if by_label:
            codes = codes + len(TYPE_CODE) * a.label_ids[1][positions]
        first = first_copies(codes, a.coords[a.rows_of(positions)], self.counts[positions])
        return positions[first]

    def measurable_geoms_of(self, positions: np.ndarray) -> np.ndarray:
        """:meth:`geoms_of`, with invalid shapes repaired (``shapely.make_valid``: a bow-tie becomes its two
        triangles) so that areas and overlaps mean something; None for a polygon too tangled to repair at a bounded
        cost (more than ``MAX_REPAIRED_CROSSINGS`` places where its outline meets itself: the cost of GEOS's repair
        grows much faster than the number of crossings, in one C call that nothing can interrupt).
        Validity and repairs are worked out once per annotation per request, whatever the number of pairs."""
        positions = np.asarray(positions, dtype=np.int64)
        if self._measurable is None:
            self._measurable = np.full(len(self.annotations), None, dtype=object)
            self._measured = np.zeros(len(self.annotations), dtype=bool)
        todo = np.unique(positions[~self._measured[positions]])
        if len(todo):
            g = self.geoms_of(todo)
            bad = ~shapely.is_valid(g)
            if bad.any():
                g[bad] = [self._repaired(int(p), geom) for p, geom in zip(todo[bad].tolist(), g[bad])]
            self._measurable[todo] = g
            self._measured[todo] = True
        return self._measurable[positions]

    def measured_areas_of(self, positions: np.ndarray) -> np.ndarray:
        """The areas the overlap measures use, per position: unrotated boxes by arithmetic on their bounds, other
        shapes from :meth:`measurable_geoms_of` (repaired when invalid); NaN for a polygon too tangled to measure."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty(len(positions))
        box = self.axis_aligned_mask[positions]
        b = self.bounds[positions[box]]
        out[box] = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        other = (~box).nonzero()[0]
        if len(other):
            g = self.measurable_geoms_of(positions[other])
            ok = g != None  # noqa: E711  (elementwise on an object array)
            out[other[~ok]] = np.nan
            if ok.any():
                out[other[ok]] = shapely.area(g[ok])
        return out

    def bounding_areas_of(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        """Per position, an area and how far the area the overlap measures use (:meth:`measured_areas_of`) can be
        from it: polygons proven simple without shapely (:meth:`~validator.geometry.polygons.Outlines.simple_areas`:
        most real outlines) by the shoelace formula, within a bound far below float noise, without building their
        geometry, when :attr:`polygon_outlines` is built already (the polygon rules build it) or there are at least
        ``SIMPLE_AREAS_FROM`` polygons; every other shape measured exactly (error 0; the scalar 0 when no polygon's
        is taken). What a bound on the IoU needs, at the cost of numpy alone for the shapes whose every pair it
        rules out."""
        positions = np.asarray(positions, dtype=np.int64)
        if not self._shoelace_worth_it():  # no numpy call added for a few polygons
            return self.measured_areas_of(positions), 0.0
        at, outlines = self.polygon_outlines
        if not len(at):
            return self.measured_areas_of(positions), 0.0
        k = self._outline_of[positions]  # each position's outline, -1 for other shapes
        mine = (k >= 0).nonzero()[0]
        if not len(mine):
            return self.measured_areas_of(positions), 0.0
        simple_area, simple_err = self._shoelace_areas(outlines, k[mine])
        area, err = np.full(len(positions), np.nan), np.zeros(len(positions))
        area[mine], err[mine] = simple_area[k[mine]], simple_err[k[mine]]
        rest = np.isnan(area).nonzero()[0]
        if len(rest):
            area[rest] = self.measured_areas_of(positions[rest])
            err[rest] = 0.0
        return area, err

    def bounding_areas_few(self, shapes: list[int]) -> tuple[list[float], list[float] | None]:
        """:meth:`bounding_areas_of` of a few positions (a list), as Python lists, for a caller that goes on in plain
        Python (``may_reach_iou`` of a few pairs): the same numbers, bit for bit (unrotated boxes by the same
        arithmetic on their bounds, the same shoelace areas and errors, the other shapes measured by
        :meth:`measured_areas_of` itself), and errors None where ``bounding_areas_of`` gives the scalar 0."""
        area = [math.nan] * len(shapes)
        err: list[float] | None = None
        if self._shoelace_worth_it():
            at, outlines = self.polygon_outlines
            if len(at):
                k = self._outline_of[shapes].tolist()
                if max(k) >= 0:
                    taken = [n for n, kk in enumerate(k) if kk >= 0]
                    rows = [k[n] for n in taken]
                    simple_area, simple_err = self._shoelace_areas(outlines, rows)
                    err = [0.0] * len(shapes)
                    for n, x, e in zip(taken, simple_area[rows].tolist(), simple_err[rows].tolist()):
                        if x == x:  # proven simple (NaN: measured below, error 0)
                            area[n], err[n] = x, e
        rest = [n for n, x in enumerate(area) if x != x]
        if rest:
            aligned = self._aligned_mask
            boxes = [n for n in rest if aligned[shapes[n]]]
            if boxes:
                for n, (x0, y0, x1, y1) in zip(boxes, self.bounds[[shapes[n] for n in boxes]].tolist()):
                    area[n] = (x1 - x0) * (y1 - y0)
            others = [n for n in rest if not aligned[shapes[n]]]
            if others:
                for n, x in zip(others, self.measured_areas_of(np.array([shapes[n] for n in others])).tolist()):
                    area[n] = x
        return area, err

    def _shoelace_worth_it(self) -> bool:
        """Whether the bounds take the shoelace areas of :attr:`polygon_outlines`: once it is built (the polygon
        rules build it), or from ``SIMPLE_AREAS_FROM`` polygons (below, measuring a few geometries costs less)."""
        return ("polygon_outlines" in self.__dict__
                or len(self.annotations.positions_by_type.get(_POLYGON, ())) >= SIMPLE_AREAS_FROM)

    def _shoelace_areas(self, outlines: Outlines, rows) -> tuple[np.ndarray, np.ndarray]:
        """The shoelace areas (and errors) of every outline of :attr:`polygon_outlines`: of those proven simple by
        the star-shaped proof when the outlines at ``rows`` (the ones asked for) all are, else of every outline the
        crossing search proves simple (:meth:`~validator.geometry.polygons.Outlines.simple`). The search is the polygon
        rules' own, kept with the outlines: run here first (they run after the overlap rules), it is not redone
        when they ask for it, and the concave outlines it clears need no shapely geometry for their area. Only
        when the outlines it would search have at most ``SEARCH_FOR_BOUNDS_MAX_VERTICES`` vertices in all (a real
        task's few): a bigger search stays the polygon rules' to make, so that an overlap rule never spends the
        time budget on it first (tangled outlines by the hundred are then measured as before, and reported)."""
        star_area, star_err = outlines.simple_areas()
        if not np.isnan(star_area[rows]).any():
            return star_area, star_err
        if outlines.simple() is None:
            unproven = ~outlines.star_shaped() & (outlines.counts >= 3)
            if int(outlines.counts[unproven].sum()) > SEARCH_FOR_BOUNDS_MAX_VERTICES:
                return star_area, star_err
            self_crossings(outlines, self.stats)
        return outlines.simple_areas(searched=True)

    @cached_property
    def _aligned_mask(self) -> list[bool]:
        """:attr:`axis_aligned_mask` as a list (for the plain-Python bound of a few pairs)."""
        return self.axis_aligned_mask.tolist()

    @cached_property
    def polygon_outlines(self) -> tuple[np.ndarray, Outlines]:
        """``(positions, outlines)``: every polygon of at least 3 vertices (positions in request order) as one
        :class:`~validator.geometry.polygons.Outlines`, built once per request: the polygon rules ask it of the
        polygons they look at (when those are all of them) and the IoU bound takes its areas."""
        a = self.annotations
        at = ((a.type_codes == _POLYGON) & (self.counts >= 3)).nonzero()[0]
        self._outline_of = np.full(len(a), -1, dtype=np.int64)
        self._outline_of[at] = np.arange(len(at))
        return at, Outlines.of_rows(a.coords, a.offsets, self.counts, at)

    def _repaired(self, pos: int, geom):
        a = self.annotations
        if a.type_codes[pos] == _POLYGON and self.counts[pos] > 3:
            stats: dict = {}
            found = self_crossings(Outlines(a.coords[a.offsets[pos]:a.offsets[pos] + self.counts[pos]],
                                            self.counts[pos:pos + 1]), stats, max_places=MAX_REPAIRED_CROSSINGS)
            self.stats["edge_pairs"] = self.stats.get("edge_pairs", 0) + stats.get("edge_pairs", 0)
            if found and (not found[0].complete or len(found[0].points) > MAX_REPAIRED_CROSSINGS):
                return None
        return shapely.make_valid(geom)

    def overlap_candidates(self, positions: np.ndarray, grow: float = 0.0) -> "Candidates":
        """Candidate pairs for overlap rules, bounded (see :mod:`validator.geometry.overlaps`)."""
        return overlap_candidates(self, np.asarray(positions, dtype=np.int64), grow)

    def may_reach_iou(self, i: np.ndarray, j: np.ndarray, need: np.ndarray) -> np.ndarray:
        """Which pairs' IoU could reach ``need`` by a bound, before any exact geometry (see
        :func:`validator.geometry.overlaps.may_reach_iou`)."""
        return may_reach_iou(self, i, j, need)

    def overlaps(self, i: np.ndarray, j: np.ndarray) -> PairOverlaps:
        """Exact overlap areas of pairs of positions (see :class:`validator.geometry.overlaps.PairOverlaps`)."""
        return PairOverlaps(self, i, j)

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

