"""Polygon shape: an outline that encloses an area, without crossing itself."""
from __future__ import annotations

import numpy as np
import shapely
from marshmallow import validate

from validator import Issue, Options, fields, rule

from ._shape_support import next_vertex_rows, plural, px, quiet, view

_FLOAT_EPS = 1e-6  # px: "exactly on one line" up to float rounding

_NON_NEGATIVE = validate.Range(min=0)


class DegenerateOptions(Options):
    tolerance = fields.Float(load_default=0.1, validate=_NON_NEGATIVE, metadata={
        "description": "A polygon whose vertices all lie within a strip this wide (px) is flat: it has no real "
                       "area."})


class SelfIntersectionOptions(Options):
    max_locations = fields.Integer(load_default=10, validate=_NON_NEGATIVE, metadata={
        "description": "At most this many crossing points are pointed at per polygon (all are counted)."})


@rule(
    id="polygon_degenerate",
    summary="A polygon without an area: fewer than 3 distinct vertices, or all its vertices on one straight line.",
    why="""
        A polygon outlines a region. With fewer than three distinct corners, or with every corner on one straight
        line, it encloses nothing: a mask made from it is empty, its area is zero, and it usually comes from a
        polygon closed too early or two clicks in the same place. Vertices within `tolerance` px of one line count
        as on the line (sub-pixel slivers are as empty as exact ones). Thin but real shapes (a pole 2 px wide) are
        fine, and so are concave polygons.

        Example: the polygon (0, 0), (10, 10), (20, 20) gives "All vertices of the polygon lie on one straight
        line, so it encloses no area." at its first vertex.
    """,
    geometries=("polygon",),
    options=DegenerateOptions,
    per="task",
)
@quiet
def polygon_degenerate(anns, ctx, opts):
    tol = max(float(opts["tolerance"]), _FLOAT_EPS)
    for pos in _flat_candidates(ctx, anns.positions, tol):
        ann = view(ctx, pos)
        found = _degenerate(ann.xy, tol)
        if found is not None:
            yield Issue.on(ann, found, at=ann.xy[:1])


@rule(
    id="polygon_self_intersection",
    summary="A polygon whose outline crosses or touches itself (a bow-tie, a loop, a pinch).",
    why="""
        A polygon's outline must be one simple loop. When two of its edges cross (a bow-tie from vertices clicked
        in the wrong order) or touch, the inside of the shape is ambiguous: area, masks and overlap measures come
        out wrong, and many tools reject the shape outright. The crossing points are pointed at. Concave polygons
        are fine, and so is a polygon that touches *another* polygon; flat polygons are reported by
        `polygon_degenerate` instead.

        Example: the bow-tie (0, 0), (10, 10), (10, 0), (0, 10) gives "The polygon's outline crosses itself at
        1 place; move its vertices so that no two edges cross or touch." at (5, 5).
    """,
    geometries=("polygon",),
    options=SelfIntersectionOptions,
    per="task",
)
@quiet
def polygon_self_intersection(anns, ctx, opts):
    positions = anns.positions
    positions = positions[ctx.geometry.counts[positions] >= 3]
    if not len(positions):
        return
    geoms = ctx.geometry.geoms[positions]
    bad = positions[~shapely.is_simple(geoms)]
    cap = max(int(opts["max_locations"]), 0)
    for pos in bad.tolist():
        ann = view(ctx, pos)
        if _degenerate(ann.xy, _FLOAT_EPS) is not None:
            continue  # a flat polygon "crosses itself" everywhere: polygon_degenerate says it better
        points, touches = _crossings(ann.xy)
        if not points:
            yield Issue.on(ann, "The polygon's outline crosses or touches itself; move its vertices so that no two "
                                "edges cross or touch.", at=ann.xy[:1])
            continue
        verb = "crosses or touches" if touches else "crosses"
        yield Issue.on(ann, f"The polygon's outline {verb} itself at {plural(len(points), 'place')}; move its "
                            f"vertices so that no two edges cross or touch.", at=points[:cap])


# -- helpers ----------------------------------------------------------------------------------------------------
def _flat_candidates(ctx, positions: np.ndarray, tol: float) -> np.ndarray:
    """Polygons that may be degenerate, found with numpy alone: fewer than 3 vertices, or twice the (shoelace)
    area over the perimeter at most ``tol``. For any polygon 2·area/perimeter is at most its width (area <= width ·
    diameter, perimeter >= 2 · diameter), so no flat polygon is missed; the few candidates are checked exactly."""
    counts = ctx.geometry.counts[positions]
    few = positions[counts < 3]
    rest = positions[counts >= 3]
    if not len(rest):
        return few
    rows, nxt = next_vertex_rows(ctx, rest)
    xy = ctx.annotations.coords
    origin = xy[np.repeat(ctx.annotations.offsets[rest], ctx.geometry.counts[rest])]  # less float cancellation
    p, q = xy[rows] - origin, xy[nxt] - origin
    cross = p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]
    seg = np.hypot(q[:, 0] - p[:, 0], q[:, 1] - p[:, 1])
    starts = np.cumsum(ctx.geometry.counts[rest]) - ctx.geometry.counts[rest]
    area2 = np.abs(np.add.reduceat(cross, starts))
    perimeter = np.add.reduceat(seg, starts)
    thin = rest[area2 <= tol * perimeter * (1 + 1e-9) + 1e-12]
    return np.sort(np.concatenate([few, thin]))


def _degenerate(xy: np.ndarray, tol: float) -> str | None:
    """Why the polygon with these vertices encloses no area, or None when it does."""
    n = len(xy)
    if n == 0:
        return "The polygon has no vertices."
    if n < 3:
        return (f"The polygon has only {plural(n, 'vertex', 'vertices')}; a polygon needs at least 3 corners that "
                "are not on one straight line.")
    distinct = np.unique(xy, axis=0)
    if len(distinct) < 3:
        return (f"The polygon's {n} vertices are on only {plural(len(distinct), 'spot')}; a polygon needs at least "
                "3 corners that are not on one straight line.")
    width = _width(distinct)
    if width > tol:
        return None
    if width < 0.005:
        return "All vertices of the polygon lie on one straight line, so it encloses no area."
    return (f"The polygon is only {px(width)} px wide: its vertices lie almost on one straight line, so it encloses "
            "no real area.")


def _width(points: np.ndarray) -> float:
    """The smallest extent of the points over all directions (0 when they are collinear)."""
    rect = shapely.minimum_rotated_rectangle(shapely.multipoints(points))
    if not isinstance(rect, shapely.Polygon):
        return 0.0
    ring = shapely.get_coordinates(rect)
    sides = np.hypot(*np.diff(ring, axis=0).T)
    return float(sides.min())


def _crossings(xy: np.ndarray) -> tuple[list[tuple[float, float]], bool]:
    """Where the polygon's outline meets itself, in outline order, and whether any of them is not a clean
    crossing (a vertex on another edge, or edges running along each other). Only for the few flagged polygons."""
    pts = xy
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)  # consecutive duplicates: zero-length edges
    pts = pts[keep]
    if len(pts) > 1 and np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]  # the closing duplicate
    k = len(pts)
    if k < 3:
        return [], False
    segs = shapely.linestrings(np.stack([pts, np.roll(pts, -1, axis=0)], axis=1))
    i, j = shapely.STRtree(segs).query(segs, predicate="intersects")
    upper = i < j
    i, j = i[upper], j[upper]
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    inter = shapely.intersection(segs[i], segs[j])
    adjacent = (j == i + 1) | ((i == 0) & (j == k - 1))
    overlap = shapely.length(inter) > 0
    problem = ~adjacent | overlap
    out: list[tuple[float, float]] = []
    seen = set()
    touches = False
    for g, a, b, is_overlap in zip(inter[problem], i[problem], j[problem], overlap[problem]):
        coords = shapely.get_coordinates(g)
        if is_overlap:
            touches = True
            x, y = coords.mean(axis=0)
        else:
            x, y = coords[0]
            ends = {tuple(pts[a]), tuple(pts[(a + 1) % k]), tuple(pts[b]), tuple(pts[(b + 1) % k])}
            touches = touches or (float(x), float(y)) in ends
        key = (round(float(x), 6), round(float(y), 6))
        if key not in seen:
            seen.add(key)
            out.append((float(x), float(y)))
    return out, touches
