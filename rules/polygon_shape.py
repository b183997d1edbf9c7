"""Polygon shape: an outline that encloses an area, without crossing itself."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, Selection, analysis, fields, rule
from validator.geometry.loops import MAX_FACES, one_crossing, self_loops
from validator.geometry.polygons import FLOAT_EPS, Outlines, flatness, self_crossings

from ._options import Float, Integer
from ._shape_support import plural, px, view

_NON_NEGATIVE = validate.Range(min=0)


class DegenerateOptions(Options):
    tolerance = Float(load_default=0.1, validate=_NON_NEGATIVE, metadata={
        "description": "A polygon whose vertices all lie within a strip this wide (px) is flat: it has no real "
                       "area."})


class SelfIntersectionOptions(Options):
    """Shared by polygon_self_intersection and polygon_self_touch, which split the outlines that meet themselves
    between them: configure both alike."""

    max_locations = Integer(load_default=10, validate=_NON_NEGATIVE, metadata={
        "description": "At most this many crossing points are pointed at per polygon (all are counted)."})
    min_loop_area = Float(load_default=10.0, validate=_NON_NEGATIVE, metadata={
        "description": "px². An outline that meets itself gets its area wrong where it winds the other way round "
                       "(a figure-8's second lobe, inside out) or more than once (a curl, covered twice); from "
                       "this much wrong area it is `polygon_self_intersection`'s (an error), below it "
                       "`polygon_self_touch`'s (a warning: vertex jitter). Also the smallest hole a keyhole cuts. "
                       "Give both rules the same value."})
    allow_keyholes = fields.Boolean(load_default=True, metadata={
        "description": "Accept a keyhole: an outline that goes in along a thin corridor, around an inner loop the "
                       "other way round (the hole) and back out, the only way to cut a hole out of a Scale "
                       "polygon. False: keyholes are errors."})
    keyhole_max_width = Float(load_default=2.0, validate=_NON_NEGATIVE, metadata={
        "description": "px. How far apart the two sides of a keyhole's corridor may be where they cross: every "
                       "sliver between them (wound wrongly) is at most this wide (its largest inscribed circle). "
                       "A wider one makes the outline a warning of `polygon_self_touch`. 0: only corridors whose "
                       "sides lie exactly on each other."})


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
    summary="A polygon whose outline crosses itself so that part of its area is wrong (a figure-8, a curl).",
    why="""
        A polygon's outline should be one simple loop. When it crosses itself, the part of the plane it goes
        around the other way (a bow-tie's or figure-8's second lobe: inside out) or more than once (a curl: covered
        twice) makes the area, masks and overlap measures wrong by that much. Reported when that wrong area is at
        least `min_loop_area` (default 10 px²), at the places where the outline meets itself. Concave polygons are
        fine, and so is a polygon that touches *another* polygon; flat polygons are reported by
        `polygon_degenerate` instead.

        Not reported here: a *keyhole* (accepted: see `allow_keyholes`), the only way to cut a hole (a ring, a
        handle, a pop tab) out of a Scale polygon: the outline goes in along a corridor, around the hole the other
        way round, and back out along the corridor, whose two sides touch or cross; and meetings that get less
        than `min_loop_area` wrong (a pinch, a doubled edge, vertex jitter), which `polygon_self_touch` reports as
        a warning. Calibrated on real annotations (docs/calibration.md): every real figure-8 there gets 10.5 px² or
        more wrong, every jitter loop 9.9 px² or less.

        Example: the bow-tie (0, 0), (10, 10), (10, 0), (0, 10) gives "The polygon's outline crosses itself at
        1 place, turning 25 px² of it inside out or covering it twice; move its vertices so that no two edges
        cross or touch." at (5, 5).
    """,
    geometries=("polygon",),
    options=SelfIntersectionOptions,
    per="task",
    cost="pairwise",
)
def polygon_self_intersection(anns, ctx, opts):
    cap = max(int(opts["max_locations"]), 0)
    for pos, points, touches, kind, wrong, complete in _meetings_of(ctx, anns, opts):
        if kind not in ("wrong", "unmeasured", "keyhole_refused"):
            continue
        ann = view(ctx, pos)
        if not points:
            yield Issue.on(ann, "The polygon's outline crosses or touches itself; move its vertices so that no two "
                                "edges cross or touch.", at=ann.xy[:1])
            continue
        verb = "crosses or touches" if touches else "crosses"
        places = plural(len(points), "place") if complete else f"{len(points):,} places at least (too many to find all)"
        where = f"The polygon's outline {verb} itself at {places}"
        if kind == "wrong":
            text = (f"{where}, turning {px(wrong)} px² of it inside out or covering it twice; move its vertices so "
                    "that no two edges cross or touch.")
        elif kind == "keyhole_refused":
            text = (f"{where}: a corridor cutting a hole out of it, which this project does not accept; draw the "
                    "shape without the hole, or as separate polygons.")
        else:
            text = f"{where}; move its vertices so that no two edges cross or touch."
        yield Issue.on(ann, text, at=points[:cap])


@rule(
    id="polygon_self_touch",
    summary="A polygon whose outline touches itself, or crosses itself in loops too small to matter (a warning).",
    why="""
        The outlines that meet themselves without getting the area wrong: a pinch (the outline touches itself at a
        vertex between two lobes), a doubled edge or zero-width spike (it runs back along itself), and crossings
        whose loops get less than `min_loop_area` (default 10 px²) wrong (vertex jitter). Masks and areas made
        from such an outline are right, but tools that require a simple outline (GIS formats, some training
        pipelines) reject it, so the labeler is told, without being blocked. Keyholes around a hole are accepted
        (see `polygon_self_intersection`, whose options this rule shares: give both the same values). On real
        annotations every such flag was judged a harmless imperfection (docs/calibration.md).

        Example: the small bow-tie (0, 0), (4, 4), (4, 0), (0, 4) gives "The polygon's outline crosses itself at 1
        place, in loops of less than 10 px² (4 px² in all); harmless to its area, but some tools reject such
        outlines: move the vertices apart if you can." at (2, 2).
    """,
    geometries=("polygon",),
    level="warn",
    options=SelfIntersectionOptions,
    per="task",
)
def polygon_self_touch(anns, ctx, opts):
    cap = max(int(opts["max_locations"]), 0)
    for pos, points, touches, kind, wrong, _ in _meetings_of(ctx, anns, opts):
        if kind != "minor":
            continue
        ann = view(ctx, pos)
        verb = "touches" if touches and not wrong else ("crosses or touches" if touches else "crosses")
        where = f"The polygon's outline {verb} itself at {plural(max(len(points), 1), 'place')}"
        what = (f", in loops of less than {px(float(opts['min_loop_area']))} px² ({px(wrong)} px² in all)" if wrong
                else " without enclosing anything the wrong way")
        yield Issue.on(ann, f"{where}{what}; harmless to its area, but some tools reject such outlines: move the "
                            "vertices apart if you can.", at=points[:cap] if points else ann.xy[:1])


def _meetings_of(ctx, anns: Selection, opts) -> list[tuple]:
    return self_meetings(ctx, anns, float(opts["min_loop_area"]), bool(opts["allow_keyholes"]),
                         float(opts["keyhole_max_width"]))


@analysis
def self_meetings(ctx, anns: Selection, min_area: float, allow: bool, width: float) -> list[tuple]:
    """The selection's polygons whose outline meets itself (flat ones left out: polygon_degenerate says it
    better): ``(position, meeting points, touches, kind, wrong area, complete)``, kind one of ``wrong`` (at least
    ``min_area`` px² inside out or covered twice), ``unmeasured`` (too many meetings to measure the loops, or more
    than the search looks for: broken whatever they are), ``keyhole`` (accepted), ``keyhole_refused`` (a keyhole,
    ``allow`` false) or ``minor``. Shared by both rules (one analysis per request, selection and options)."""
    outlines, positions = _outlines(ctx, anns)
    found = self_crossings(outlines, ctx.geometry.stats)
    flat = outlines.flat([f.outline for f in found]).tolist()
    out = []
    for f, is_flat in zip(found, flat):
        if is_flat:
            continue
        pos, points, touches, complete = int(positions[f.outline]), f.points, f.touches, f.complete
        # an outline crossing itself that often (or more than the search looks for) is broken whatever its loops are
        if len(points) > MAX_FACES or not complete:
            out.append((pos, points, touches, "unmeasured", 0.0, complete))
            continue
        kind, wrong = _loop_kind(view(ctx, pos).xy, min_area, allow, width)
        out.append((pos, points, touches, kind, wrong, True))
    return out


def _loop_kind(xy: np.ndarray, min_area: float, allow_keyholes: bool, keyhole_width: float) -> tuple[str, float]:
    """How an outline that meets itself is wrong (see :func:`_self_meetings`), and the area it gets wrong."""
    quick = one_crossing(xy)  # a figure-8 or a curl: no shapely, when its verdict and its figure are sure
    if quick is not None:
        wrong, bound = quick
        if wrong - bound >= min_area and wrong - bound > 0 and px(wrong - bound) == px(wrong + bound):
            return "wrong", wrong
    loops = self_loops(xy)
    if loops is None:
        return "unmeasured", 0.0
    wrong = loops.wrong_area
    if wrong > 0 and wrong >= min_area:
        return "wrong", wrong
    holes = loops.holes & (loops.area >= min_area) & (loops.area > 0)
    if holes.any() and loops.widest(loops.wrong) <= keyhole_width:
        return ("keyhole" if allow_keyholes else "keyhole_refused"), wrong
    return "minor", wrong


# -- helpers ----------------------------------------------------------------------------------------------------
def _outlines(ctx, anns) -> tuple[Outlines, np.ndarray]:
    """The outlines of the selection's polygons of at least 3 vertices, and their positions (shared by both
    polygon rules: one analysis per request and set of polygons)."""
    enough = ctx.annotations.counts[anns.positions] >= 3
    polygons = anns if enough.all() else anns.where(enough)  # the selection itself: its vertices may be gathered
    every, outlines = ctx.geometry.polygon_outlines  # the request's, when these are all its polygons (the usual
    if len(every) == len(polygons.positions):  # case): shared with the overlap rules' area bounds
        return outlines, every
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
