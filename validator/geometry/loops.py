"""The loops of a closed outline that meets itself: which parts of the plane it winds around, how often, which way.

A polygon outline that crosses or touches itself splits the plane into *faces* (the regions its edges bound). Each
face has a winding number: how many times the outline goes around it, counter-clockwise counted positive. A simple
outline has one face wound once. What matters for the data is whether the area the shape stands for is right:

* faces wound once in the main direction are the shape;
* faces wound 0 times inside the outline are *holes* it cuts out (a keyhole: an outer loop, a corridor, an inner
  loop the other way round: the only way to cut a hole out of a Scale polygon);
* faces wound the other way (a figure-8's second lobe: inside out) or more than once (a curl: covered twice) are
  *wrong*: area, masks and overlaps computed from the outline are wrong by their area.

``self_loops`` measures these for one outline: shapely nodes the outline and builds the faces (``union_all``,
``polygonize``), numpy gives each face's winding number at a point inside it. Cost: bounded by ``max_faces`` (a
None answer beyond it: an outline making that many loops is broken whatever they are).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.ops import polylabel

from .polygons import few_meetings

_TINY = 1e-100  # one_crossing leaves outlines with coordinates this close to 0 (but not 0) to self_loops
_FEW = 64  # one_crossing looks at outlines of at most this many vertices (every pair of edges: quadratic)
MAX_FACES = 512  # beyond this many faces the loops are not measured (the caller reports the outline as broken)
_WIDTH_TOLERANCE = 0.01  # px: precision of a face's width (its largest inscribed circle, found by polylabel)


@dataclass(frozen=True)
class Loops:
    """The faces of one outline. Areas in square units of the coordinates (px²), widths in their units (px)."""

    winding: np.ndarray  # per face: winding number (counter-clockwise positive, in image axes as given)
    area: np.ndarray  # per face: area
    faces: tuple  # per face: the shapely Polygon
    main: int  # +1 or -1: the direction of the larger wound area (the shape as the labeler meant it)

    @property
    def wrong(self) -> np.ndarray:
        """Faces wound the other way round or more than once."""
        w = self.winding * self.main
        return (w < 0) | (w > 1)

    @property
    def wrong_area(self) -> float:
        """The area the outline gets wrong: inside out, or covered more than once."""
        return float(self.area[self.wrong].sum())

    @property
    def holes(self) -> np.ndarray:
        """Faces the outline encloses without winding around them (cut-out holes)."""
        return self.winding == 0

    @property
    def hole_area(self) -> float:
        return float(self.area[self.holes].sum())

    def widest(self, mask: np.ndarray) -> float:
        """The width of the widest of these faces (diameter of its largest inscribed circle); 0 when none."""
        return max((face_width(self.faces[k]) for k in np.flatnonzero(mask).tolist()), default=0.0)


def self_loops(xy: np.ndarray, max_faces: int = MAX_FACES) -> Loops | None:
    """The faces of the closed outline through the vertices ``xy`` (``(n, 2)``, n >= 3, not all on one line), or
    None when there are more than ``max_faces``."""
    xy = np.asarray(xy, dtype=float)
    ring = np.vstack([xy, xy[:1]])
    noded = shapely.union_all(shapely.linestrings(ring))  # split at every place the outline meets itself
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if len(faces) > max_faces:
        return None
    if not len(faces):
        empty = np.zeros(0)
        return Loops(empty.astype(int), empty, (), 1)
    inside = shapely.get_coordinates(shapely.point_on_surface(faces))
    winding = winding_numbers(xy, inside)
    area = shapely.area(faces)
    plus, minus = area[winding > 0].sum(), area[winding < 0].sum()
    return Loops(winding, area, tuple(faces), 1 if plus >= minus else -1)


def one_crossing(xy) -> tuple[float, float] | None:
    """The area :func:`self_loops` gives as ``wrong_area``, without shapely, for an outline of a few vertices that
    meets itself at exactly one place, where two edges cross cleanly (a figure-8, or a curl of one inner loop):
    ``(wrong area, bound on its difference from shapely's)``; None for any other outline (let
    :func:`self_loops` measure it).

    Split at the crossing, the outline is two simple loops (any other meeting would be a second place). At a
    clean crossing the outline goes straight through, so the loops are either side by side, wound opposite ways
    (a figure-8: faces wound +1 and -1), or one inside the other, wound the same way (a curl: faces wound once and
    twice); which one the signs of their shoelace areas tell. The wrong face is then the loop wound against the
    larger area (side by side; loops of about the same area: either, the bound then includes their difference) or
    the inner, smaller loop (nested). The bound covers float rounding of both shoelace sums and of the crossing
    point, far more than either can add; where a loop is about that small, None."""
    raw = xy.tolist() if isinstance(xy, np.ndarray) else [list(p) for p in xy]
    if len(raw) > _FEW:
        return None
    pts, meetings = few_meetings(raw)
    if len(meetings) != 1 or meetings[0][2]:
        return None
    if any(0.0 < abs(v) < _TINY for p in pts for v in p):
        return None  # near-underflow coordinates: GEOS's noding is not to be trusted there, nor compared with
    e, f, _, (cx, cy) = meetings[0]
    inner = pts[e + 1:f + 1]  # from the crossing along edge e's end to edge f's start
    outer = pts[f + 1:] + pts[:e + 1]
    areas, slack = [], 0.0
    for loop in (inner, outer):
        ring = [(cx, cy), *loop, (cx, cy)]
        twice, size = 0.0, 0.0
        for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
            twice += (x0 - cx) * (y1 - cy) - (x1 - cx) * (y0 - cy)
            size += (abs(x0) + abs(x1)) * (abs(y0) + abs(y1))
        areas.append(twice / 2.0)
        slack += size
    bound = 1e-12 * slack + 1e-300
    a, b = areas
    if min(abs(a), abs(b)) <= 4 * bound:
        return None
    if (a > 0) == (b > 0):  # nested, wound the same way: the inner (smaller) loop is covered twice
        if abs(abs(a) - abs(b)) <= 4 * bound:
            return None
        return min(abs(a), abs(b)), bound
    plus, minus = (a, -b) if a > 0 else (b, -a)  # side by side: the loop against the larger area is inside out
    if abs(plus - minus) <= 4 * bound:  # about as large: either is the wrong one, and their areas are that close
        return minus, bound + abs(plus - minus)
    return (minus if plus >= minus else plus), bound


def winding_numbers(xy: np.ndarray, points: np.ndarray) -> np.ndarray:
    """How many times the closed outline through ``xy`` winds around each of ``points`` (counter-clockwise in a
    y-up frame positive; 0 outside). Points on the outline get an arbitrary neighbouring value."""
    xy = np.asarray(xy, dtype=float)
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    p, q = xy, np.roll(xy, -1, axis=0)
    px, py, qx, qy = p[:, 0], p[:, 1], q[:, 0], q[:, 1]
    out = np.zeros(len(points), dtype=np.int64)
    for k, (x, y) in enumerate(points.tolist()):  # one vectorised pass over the edges per point (few points)
        side = (qx - px) * (y - py) - (x - px) * (qy - py)
        up = (py <= y) & (qy > y) & (side > 0)
        down = (qy <= y) & (py > y) & (side < 0)
        out[k] = int(up.sum()) - int(down.sum())
    return out


def face_width(face) -> float:
    """The diameter of the largest circle inside a face (its thickness: a sliver between two almost parallel edges
    is as wide as the gap between them)."""
    if face.is_empty or face.area <= 0:
        return 0.0
    centre = polylabel(face, _WIDTH_TOLERANCE)
    return 2.0 * float(shapely.distance(centre, face.boundary))
