"""Polygon shape: an outline that encloses an area, without crossing itself."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import shapely
from marshmallow import validate

from validator import Issue, Options, fields, rule
from validator.geometry.index import meeting_envelopes

from ._shape_support import gather_vertices, memo_for, plural, px, quiet, shared_vertices, view

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
    cost="linear",
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
    cost="pairwise",
)
@quiet
def polygon_self_intersection(anns, ctx, opts):
    positions = anns.positions
    positions = positions[ctx.geometry.counts[positions] >= 3]
    if not len(positions):
        return
    # Most outlines are proven simple by numpy alone; the others are checked exactly: a handful of vertices in
    # plain Python, edge pair by edge pair with exact orientation tests (an outline is simple exactly when no two
    # of its edges meet, except neighbours at their shared vertex: what shapely.is_simple decides;
    # tests/test_rule_polygon_shape.py compares verdicts and points with shapely), more with shapely.is_simple
    # first (geometry built for those only).
    unproven = positions[~_star_shaped(ctx, positions)]
    if not len(unproven):
        return
    few = int(ctx.annotations.counts[unproven].sum()) <= _FEW_VERTICES  # plain Python beats numpy for a handful
    # a flat polygon "crosses itself" everywhere: polygon_degenerate says it better
    if few:
        found = _few_crossings(ctx, unproven)
        meetings = [(pos, m) for pos, m in zip(unproven.tolist(), found) if m[0]]
        if meetings:  # flat only if thin by the (shared) width bounds, then checked exactly
            thin = _thin(ctx, positions, _FLOAT_EPS)[np.searchsorted(positions, [pos for pos, _ in meetings])]
            meetings = [(pos, m) for (pos, m), maybe in zip(meetings, thin.tolist())
                        if not (maybe and _is_flat(view(ctx, pos).xy))]
    else:
        bad = unproven[~shapely.is_simple(ctx.geometry.geoms_of(unproven))]
        thin = _thin(ctx, positions, _FLOAT_EPS)[np.searchsorted(positions, bad)]
        flat = [pos for pos, maybe in zip(bad.tolist(), thin.tolist()) if maybe and _is_flat(view(ctx, pos).xy)]
        if flat:
            bad = bad[~np.isin(bad, flat)]
        meetings = list(zip(bad.tolist(), _all_crossings(ctx, bad)))
    cap = max(int(opts["max_locations"]), 0)
    for pos, (points, touches) in meetings:
        ann = view(ctx, pos)
        if not points:
            yield Issue.on(ann, "The polygon's outline crosses or touches itself; move its vertices so that no two "
                                "edges cross or touch.", at=ann.xy[:1])
            continue
        verb = "crosses or touches" if touches else "crosses"
        yield Issue.on(ann, f"The polygon's outline {verb} itself at {plural(len(points), 'place')}; move its "
                            f"vertices so that no two edges cross or touch.", at=points[:cap])


# -- helpers ----------------------------------------------------------------------------------------------------
def _flat_candidates(ctx, positions: np.ndarray, tol: float) -> np.ndarray:
    """Polygons that may be degenerate, found with numpy alone: fewer than 3 vertices, or both of two lower bounds
    on their width at most ``tol``. The bounds: twice the (shoelace) area over the perimeter (for any polygon
    2·area/perimeter is at most its width: area <= width · diameter, perimeter >= 2 · diameter), and the width of
    the widest triangle made by the centre (the mean of the vertices) and an edge (the triangle lies in the convex
    hull of the vertices, so it is no wider; this one is not fooled by a bow-tie, whose shoelace area is 0). No
    flat polygon is missed; the few candidates are checked exactly."""
    counts = ctx.geometry.counts[positions]
    few = positions[counts < 3]
    rest = positions[counts >= 3]
    if not len(rest):
        return few
    thin = rest[_thin(ctx, rest, tol)]
    return np.sort(np.concatenate([few, thin]))


def _thin(ctx, positions: np.ndarray, tol: float) -> np.ndarray:
    """For polygons of at least 3 vertices: true where neither lower bound on the width exceeds ``tol`` (see
    :func:`_flat_candidates`; the bounds are computed once per request for a set of polygons)."""
    area2, perimeter, widest = _width_bounds(ctx, positions)
    return (area2 <= tol * perimeter * (1 + 1e-9) + 1e-12) & ~(widest > tol)


def _width_bounds(ctx, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per polygon: twice its shoelace area, its perimeter, and the width of its widest (centre, edge) triangle
    minus far more than float rounding can add (NaN where that is not a proof: 0/0, overflow). Once per request
    for a set of polygons."""
    def build(positions):
        t = _outline_terms(ctx, positions)
        nxt, starts, cross, r2 = t.nxt, t.starts, t.cross, t.r2
        dx, dy = t.qx - t.px, t.qy - t.py
        seg2 = dx * dx + dy * dy
        if np.isfinite(seg2).all() and np.isfinite(r2).all():  # lengths as sqrt(x*x + y*y): faster than hypot
            seg = np.sqrt(seg2)
            longest = np.sqrt(np.maximum(np.maximum(r2, r2[nxt]), seg2))
        else:  # absurd coordinates (beyond ~1e154): squares overflow, np.hypot does not
            seg = np.hypot(dx, dy)
            longest = np.maximum(np.maximum(np.hypot(t.px, t.py), np.hypot(t.qx, t.qy)), seg)
        area2 = np.abs(np.add.reduceat(cross, starts))
        perimeter = np.add.reduceat(seg, starts)
        # triangle (centre, p, q): width = |cross| / longest side, minus far more than float rounding can add
        triangle = (np.abs(cross) - 1e-9 * longest * longest) / longest
        return area2, perimeter, np.maximum.reduceat(triangle, starts)

    return memo_for(ctx, "polygon_width_bounds", positions, build)


class _Terms:
    """Per-vertex terms of polygon outlines, relative to each outline's centre (the mean of its vertices), shared
    by the two polygon rules (computed once per request for a set of polygons). Read-only."""

    __slots__ = ("nxt", "starts", "counts", "px", "py", "qx", "qy", "cross", "r2")


def _outline_terms(ctx, positions: np.ndarray) -> _Terms:
    """For polygons of at least 3 vertices: each vertex ``p`` and the next one ``q`` (wrapping around) relative
    to the centre, their cross product and ``|p|²``."""
    def build(positions) -> _Terms:
        xy, nxt, starts, counts = shared_vertices(ctx, positions)
        centre = np.add.reduceat(xy, starts) / counts[:, None]
        p = xy - centre.repeat(counts, axis=0)
        t = _Terms()
        t.nxt, t.starts, t.counts = nxt, starts, counts
        t.px, t.py = p[:, 0], p[:, 1]
        t.qx, t.qy = t.px[nxt], t.py[nxt]
        t.cross = t.px * t.qy - t.qx * t.py
        t.r2 = t.px * t.px + t.py * t.py
        return t

    return memo_for(ctx, "polygon_outline_terms", positions, build)


def _star_shaped(ctx, positions: np.ndarray) -> np.ndarray:
    """For polygons of at least 3 vertices: true where the outline is proven simple with numpy alone.

    Proof: seen from the mean of its vertices, every edge turns the same way by less than half a turn (its cross
    product has the same sign, well beyond float rounding) and the turns add up to exactly one full turn (the
    outline crosses the ray from the centre along +x once, in the direction of the turns). Then each
    edge lies in its own angular sector, the sectors only share their boundary rays, and an edge meets those rays
    only at its end vertices: no two edges cross or touch. Star-shaped outlines (most real ones) pass; anything
    else (bow-ties, repeated vertices, spirals, most concave shapes) is left to shapely."""
    t = _outline_terms(ctx, positions)
    nxt, starts, counts, cross, r2, py_, qy = t.nxt, t.starts, t.counts, t.cross, t.r2, t.py, t.qy
    sure = np.abs(cross) > 1e-9 * (r2 + r2[nxt])  # the sign of the turn is beyond float rounding
    left = np.add.reduceat((cross > 0) & sure, starts) == counts
    right = np.add.reduceat((cross < 0) & sure, starts) == counts
    # full turns = how often the outline crosses the ray from the centre along +x (its direction: the turns')
    up = np.add.reduceat((py_ < 0) & (qy >= 0), starts)
    down = np.add.reduceat((py_ >= 0) & (qy < 0), starts)
    return (left & (up == 1)) | (right & (down == 1))


def _is_flat(xy: np.ndarray) -> bool:
    """Whether this outline is flat up to float rounding."""
    return _degenerate(xy, _FLOAT_EPS) is not None


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


def _all_crossings(ctx, positions: np.ndarray) -> list[tuple[list[tuple[float, float]], bool]]:
    """Where the outline of each polygon at ``positions`` meets itself, in outline order, and whether any of them is
    not a clean crossing (a vertex on another edge, or edges running along each other). Only for the few flagged
    polygons, all at once: one search of all their edges for pairs that meet, one shapely call per step."""
    pts, k = _outlines(ctx, positions)
    m = len(k)
    out: list[tuple[list[tuple[float, float]], bool]] = [([], False)] * m
    starts = k.cumsum() - k
    owner = np.arange(m).repeat(k)
    nxt = np.arange(1, len(pts) + 1)
    nxt[starts[k > 0] + k[k > 0] - 1] = starts[k > 0]
    ends = np.stack([pts, pts[nxt]], axis=1)  # (S, 2, 2): the edge from each vertex to the next
    # edges whose envelopes meet (as an STRtree query would give them), in one outline of 3+ corners
    edges = (k[owner] >= 3).nonzero()[0]  # fewer than 3 distinct corners: flat, not crossing
    qi, qj = meeting_envelopes(np.hstack([ends[edges].min(axis=1), ends[edges].max(axis=1)]))
    ci, cj = edges[qi], edges[qj]
    same = owner[ci] == owner[cj]
    ci, cj = ci[same], cj[same]
    lines = shapely.linestrings(ends)
    shapely.prepare(lines)
    hit = shapely.intersects(lines[ci], lines[cj])
    i, j = ci[hit], cj[hit]
    order = np.lexsort((j, i))  # outline order, polygon after polygon
    i, j = i[order], j[order]
    poly = owner[i]
    a, b, kk = i - starts[poly], j - starts[poly], k[poly]
    adjacent = (b == a + 1) | ((a == 0) & (b == kk - 1))
    # adjacent edges meet at their shared vertex; unless they run along each other (clearly not collinear, well
    # beyond float rounding), that is all: no need to compute it
    u, v = ends[i, 1] - ends[i, 0], ends[j, 1] - ends[j, 0]
    turn = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
    plain = adjacent & (turn > 1e-9 * np.hypot(u[:, 0], u[:, 1]) * np.hypot(v[:, 0], v[:, 1]))
    i, j, poly, adjacent = i[~plain], j[~plain], poly[~plain], adjacent[~plain]
    inter = shapely.intersection(lines[i], lines[j])
    overlap = shapely.length(inter) > 0
    problem = ~adjacent | overlap
    i, j, poly, overlap, inter = i[problem], j[problem], poly[problem], overlap[problem], inter[problem]
    coords, index = shapely.get_coordinates(inter, return_index=True)
    bounds = np.searchsorted(index, np.arange(len(inter) + 1)).tolist()
    coords_list = coords.tolist()
    ends_i, ends_j = ends[i].tolist(), ends[j].tolist()
    overlap = overlap.tolist()
    poly = poly.tolist()  # non-decreasing: pairs are in outline order, polygon after polygon
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
        out[p] = (found, touches)
    return out


_FEW_VERTICES = 64


def _few_crossings(ctx, positions: np.ndarray) -> list[tuple[list[tuple[float, float]], bool]]:
    """:func:`_all_crossings` for a handful of vertices in all, in plain Python: the same edges, pairs and meeting
    points, decided with exact orientation tests (:func:`_orientation`) instead of shapely calls, whose fixed cost
    dominates for a few edges. Where the outline meets itself: at a vertex (exact), along a shared stretch (its
    middle), or where two edges cross (computed in floats: within a few ulps of GEOS's point)."""
    a = ctx.annotations
    out: list[tuple[list[tuple[float, float]], bool]] = []
    for pos in positions.tolist():
        raw = a.coords[a.offsets[pos]:a.ends[pos]].tolist()
        pts = raw[:1] + [q for p, q in zip(raw, raw[1:]) if q != p]  # consecutive duplicates: zero-length edges
        if len(pts) > 1 and pts[-1] == pts[0]:
            pts.pop()  # the closing duplicate
        found: list[tuple[float, float]] = []
        seen: set[tuple[float, float]] = set()  # found points rounded to 1e-6 px: each place once
        touches = False
        n = len(pts)
        if n >= 3:
            edges = [(pts[e], pts[(e + 1) % n]) for e in range(n)]
            box = [(min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])) for p, q in edges]
            for e, (l1, t1, r1, b1) in enumerate(box):
                for f in range(e + 1, n):
                    l2, t2, r2, b2 = box[f]
                    if not (l1 <= r2 and l2 <= r1 and t1 <= b2 and t2 <= b1):
                        continue  # envelopes apart
                    adjacent = f == e + 1 or (e == 0 and f == n - 1)
                    if adjacent and _clearly_turns(edges[e], edges[f]):
                        continue  # they only share their vertex
                    meeting = _meet(*edges[e], *edges[f])
                    if meeting is None:
                        continue
                    is_overlap, point = meeting
                    if adjacent and not is_overlap:
                        continue  # neighbours meeting at their shared vertex only
                    touches = touches or is_overlap or list(point) in (*edges[e], *edges[f])
                    key = (round(point[0], 6), round(point[1], 6))
                    if key not in seen:
                        seen.add(key)
                        found.append(point)
        out.append((found, touches))
    return out


def _clearly_turns(edge, other) -> bool:
    """Whether two edges that follow each other are clearly not collinear (well beyond float rounding)."""
    ux, uy = edge[1][0] - edge[0][0], edge[1][1] - edge[0][1]
    vx, vy = other[1][0] - other[0][0], other[1][1] - other[0][1]
    return abs(ux * vy - uy * vx) > 1e-9 * math.hypot(ux, uy) * math.hypot(vx, vy)


_ORIENT_BOUND = (3.0 + 16.0 * 2.0 ** -53) * 2.0 ** -53  # Shewchuk's bound on the float orientation's error
_TINY = 1e-280  # products below this may have lost precision to underflow: decided exactly instead


def _orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
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
    o1, o2 = _orientation(ax, ay, bx, by, cx, cy), _orientation(ax, ay, bx, by, dx, dy)
    if o1 == o2 != 0:
        return None  # c and d on the same side of ab
    o3, o4 = _orientation(cx, cy, dx, dy, ax, ay), _orientation(cx, cy, dx, dy, bx, by)
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


def _outlines(ctx, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of the polygons at ``positions`` (at least one vertex each) without zero-length edges:
    consecutive duplicates and the closing duplicate dropped. Concatenated, with the count left per polygon."""
    xy, _, starts, counts = gather_vertices(ctx, positions)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)  # consecutive duplicates: zero-length edges
    keep[starts] = True
    kept = np.add.reduceat(keep.astype(np.int64), starts)
    last = np.maximum.reduceat(np.where(keep, np.arange(len(xy)), -1), starts)
    closing = (kept > 1) & np.all(xy[last] == xy[starts], axis=1)  # the last vertex repeats the first
    keep[last[closing]] = False
    return xy[keep], kept - closing
