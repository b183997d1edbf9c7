"""Polygon shape: an outline that encloses an area, without crossing itself."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, Selection, analysis, fields, rule
from validator.geometry.polygons import FLOAT_EPS, Outlines, flatness, self_crossings

from ._shape_support import plural, px, view

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
    cost="linear",
)
def polygon_degenerate(anns, ctx, opts):
    tol = max(float(opts["tolerance"]), FLOAT_EPS)
    positions = anns.positions
    counts = ctx.annotations.counts[positions]
    outlines, rest = _outlines(ctx, anns)
    candidates = np.sort(np.concatenate([positions[counts < 3], rest[outlines.thin(tol)]]))
    for pos in candidates.tolist():
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
    cost="pairwise",
)
def polygon_self_intersection(anns, ctx, opts):
    outlines, positions = _outlines(ctx, anns)
    found = self_crossings(outlines, ctx.geometry.stats)
    # a flat polygon "crosses itself" everywhere: polygon_degenerate says it better
    flat = outlines.flat([f.outline for f in found]).tolist()
    cap = max(int(opts["max_locations"]), 0)
    for (k, points, touches, complete), is_flat in zip(found, flat):
        if is_flat:
            continue
        ann = view(ctx, positions[k])
        if not points:
            yield Issue.on(ann, "The polygon's outline crosses or touches itself; move its vertices so that no two "
                                "edges cross or touch.", at=ann.xy[:1])
            continue
        verb = "crosses or touches" if touches else "crosses"
        where = plural(len(points), "place") if complete else f"{len(points):,} places at least (too many to find all)"
        yield Issue.on(ann, f"The polygon's outline {verb} itself at {where}; move its vertices so that no two "
                            "edges cross or touch.", at=points[:cap])


# -- helpers ----------------------------------------------------------------------------------------------------
def _outlines(ctx, anns) -> tuple[Outlines, np.ndarray]:
    """The outlines of the selection's polygons of at least 3 vertices, and their positions (shared by both
    polygon rules: one analysis per request and set of polygons)."""
    polygons = anns.where(ctx.annotations.counts[anns.positions] >= 3)
    return polygon_outlines(ctx, polygons), polygons.positions


@analysis
def polygon_outlines(ctx, polygons: Selection) -> Outlines:
    xy, _, counts = polygons.vertices
    return Outlines(xy, counts)


def _degenerate(xy: np.ndarray, tol: float) -> str | None:
    """Why the polygon with these vertices encloses no area, or None when it does."""
    n = len(xy)
    if n == 0:
        return "The polygon has no vertices."
    if n < 3:
        return (f"The polygon has only {plural(n, 'vertex', 'vertices')}; a polygon needs at least 3 corners that "
                "are not on one straight line.")
    distinct, width = flatness(xy)
    if distinct < 3:
        return (f"The polygon's {n} vertices are on only {plural(distinct, 'spot')}; a polygon needs at least "
                "3 corners that are not on one straight line.")
    if width > tol:
        return None
    if width < 0.005:
        return "All vertices of the polygon lie on one straight line, so it encloses no area."
    return (f"The polygon is only {px(width)} px wide: its vertices lie almost on one straight line, so it encloses "
            "no real area.")
