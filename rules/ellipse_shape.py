"""Ellipse shape: four extremal points that describe a real ellipse."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, rule

from ._options import Float, Integer
from ._shape_support import px, view

_ELLIPSE_HOW = ("An ellipse is given by 4 points: the two ends of one axis (points 1 and 3) and the two ends of the "
                "other (points 2 and 4), e.g. top, right, bottom, left.")

_NON_NEGATIVE = validate.Range(min=0)


class VertexCountOptions(Options):
    max_locations = Integer(load_default=10, validate=_NON_NEGATIVE, metadata={
        "description": "At most this many of the ellipse's points are pointed at."})


class ConsistencyOptions(Options):
    centre_tolerance = Float(load_default=2.0, validate=_NON_NEGATIVE, metadata={
        "description": "How far apart (px) the midpoints of points 1-3 and of points 2-4 may be."})
    angle_tolerance = Float(load_default=10.0, validate=validate.Range(min=0, max=90), metadata={
        "description": "How far (degrees) the angle between the two axes may be from 90 degrees."})


class DegenerateOptions(Options):
    tolerance = Float(load_default=0.5, validate=_NON_NEGATIVE, metadata={
        "description": "An axis at most this long (px) counts as no axis: the ellipse is flat."})


@rule(
    id="ellipse_vertex_count",
    summary="An ellipse without exactly 4 points.",
    why="""
        Scale returns an ellipse as its 4 extremal points: the ends of its two axes (top, right, bottom, left for
        an upright ellipse). With any other number of points the ellipse is undefined: no tool can tell which
        ellipse was meant, so it cannot be drawn, measured or trained on. It usually comes from a converter or a
        custom tool.

        Example: an ellipse with the points (0, -5), (10, 0), (0, 5) gives "The ellipse has 3 points; it needs
        exactly 4." at those points.
    """,
    geometries=("ellipse",),
    options=VertexCountOptions,
    per="task",
    cost="linear",
)
def ellipse_vertex_count(anns, ctx, opts):
    positions = anns.positions
    bad = positions[ctx.geometry.counts[positions] != 4]
    cap = max(int(opts["max_locations"]), 0)
    for pos in bad.tolist():
        ann = view(ctx, pos)
        k = len(ann.xy)
        what = "no points" if k == 0 else ("1 point" if k == 1 else f"{k} points")
        yield Issue.on(ann, f"The ellipse has {what}; it needs exactly 4. {_ELLIPSE_HOW}", at=ann.xy[:cap])


@rule(
    id="ellipse_inconsistent",
    summary="An ellipse whose 4 points are not the ends of two perpendicular axes with one centre.",
    why="""
        The 4 points of an ellipse are the ends of its two axes: points 1 and 3 are opposite each other, and so are
        points 2 and 4. The two axes cross at the centre of the ellipse, at a right angle (for an upright ellipse
        as well as a rotated one). When the middles of the two pairs do not coincide, or the axes are far from
        perpendicular, the points do not describe one ellipse: the points were given in the wrong order (top,
        bottom, right, left) or one was moved on its own, and every tool will draw a different shape. Small
        differences from rounding are within `centre_tolerance` and `angle_tolerance`. Flat ellipses are reported
        by `ellipse_degenerate` instead.

        Example: the points (50, 40), (70, 50), (50, 60), (20, 50) give "The ellipse's opposite points do not
        share a centre: the middle of points 2 and 4 is 5 px from the middle of points 1 and 3. Redraw the
        ellipse." at its 4 points.
    """,
    geometries=("ellipse",),
    options=ConsistencyOptions,
    per="task",
    cost="linear",
)
def ellipse_inconsistent(anns, ctx, opts):
    pos, pts = _four_points(ctx, anns.positions)
    if not len(pos):
        return
    u = pts[:, 2] - pts[:, 0]
    v = pts[:, 3] - pts[:, 1]
    lu, lv = np.hypot(*u.T), np.hypot(*v.T)
    off = np.hypot(*((pts[:, 0] + pts[:, 2]) / 2 - (pts[:, 1] + pts[:, 3]) / 2).T)
    real = np.minimum(lu, lv) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.abs(np.einsum("ij,ij->i", u, v)) / (lu * lv)
    angle = np.degrees(np.arccos(np.clip(np.where(real, cos, 0.0), 0.0, 1.0)))  # 0..90
    skew = 90.0 - angle
    off_centre = real & (off > float(opts["centre_tolerance"]))
    slanted = real & (skew > float(opts["angle_tolerance"]))
    for i in np.flatnonzero(off_centre | slanted).tolist():
        ann = view(ctx, pos[i])
        parts = []
        if off_centre[i]:
            parts.append(f"The ellipse's opposite points do not share a centre: the middle of points 2 and 4 is "
                         f"{px(off[i])} px from the middle of points 1 and 3.")
        if slanted[i]:
            parts.append(f"The ellipse's two axes (points 1 to 3, points 2 to 4) meet at {angle[i]:.0f} degrees "
                         "instead of 90.")
        parts.append("Redraw the ellipse.")
        yield Issue.on(ann, " ".join(parts), at=pts[i])


@rule(
    id="ellipse_degenerate",
    summary="A flat ellipse: one of its axes has (almost) no length.",
    why="""
        An ellipse whose opposite points (1 and 3, or 2 and 4) are at the same spot has no width or no height: it
        encloses nothing, its area is zero, and it usually comes from a click instead of a drag. Axes up to
        `tolerance` px long count as no axis.

        Example: the points (10, 10), (20, 10), (10, 10), (0, 10) give "The ellipse is flat: points 1 and 3 are at
        the same spot, so it has no area." at its 4 points.
    """,
    geometries=("ellipse",),
    options=DegenerateOptions,
    per="task",
    cost="linear",
)
def ellipse_degenerate(anns, ctx, opts):
    pos, pts = _four_points(ctx, anns.positions)
    if not len(pos):
        return
    lu = np.hypot(*(pts[:, 2] - pts[:, 0]).T)
    lv = np.hypot(*(pts[:, 3] - pts[:, 1]).T)
    tol = max(float(opts["tolerance"]), 0.0)
    for i in np.flatnonzero(np.minimum(lu, lv) <= tol).tolist():
        ann = view(ctx, pos[i])
        pair, length = ("1 and 3", lu[i]) if lu[i] <= lv[i] else ("2 and 4", lv[i])
        if max(lu[i], lv[i]) <= tol:
            text = "The ellipse has no size: all its points are at (almost) the same spot."
        elif length < 0.005:
            text = f"The ellipse is flat: points {pair} are at the same spot, so it has no area."
        else:
            text = f"The ellipse is flat: points {pair} are only {px(length)} px apart, so it has no real area."
        yield Issue.on(ann, text, at=pts[i])


def _four_points(ctx, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ellipses with exactly 4 points (the others are ellipse_vertex_count's) and their points, (m, 4, 2)."""
    pos = positions[ctx.geometry.counts[positions] == 4]
    rows = ctx.annotations.offsets[pos][:, None] + np.arange(4)
    return pos, ctx.annotations.coords[rows]
