"""Rotated boxes: the given corner vertices agree with left / top / width / height / rotation."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, rule

from ._options import Float
from ._shape_support import plural, px, selected, view

_NON_NEGATIVE = validate.Range(min=0)


class RotatedBoxOptions(Options):
    tolerance = Float(load_default=1.5, validate=_NON_NEGATIVE, metadata={
        "description": "How far (px) a given vertex may be from the corner computed from left, top, width, height "
                       "and rotation."})
    relative_tolerance = Float(load_default=0.005, validate=_NON_NEGATIVE, metadata={
        "description": "Added allowance as a fraction of the box's diagonal (rotation rounding moves the corners of "
                       "big boxes more); the larger of the two applies."})


@rule(
    id="rotated_box_inconsistent",
    summary="A box whose `vertices` do not match its left, top, width, height and rotation.",
    why="""
        A rotatable box (`can_rotate`) carries its shape twice: `left`, `top`, `width`, `height` of the unrotated box
        plus `rotation` (clockwise, in radians, about the box's centre), and the 4 rotated corners in `vertices`.
        When the two disagree, consumers that read one or the other get different boxes; it comes from an edit that
        updated only one of them, or from a rotation in degrees or counter-clockwise. The vertices are compared as
        a set (any starting corner, either direction) within `tolerance` px (or `relative_tolerance` of the
        diagonal, whichever is larger), so rounding is fine. A box without `vertices` is fine (they are optional);
        a box with vertices and rotation 0 must match its unrotated corners.

        Example: a box at left 400, top 300, 200 by 100, rotation 0.5236 with a vertex at (640, 356.7) where its
        corner is (611.6, 356.7) gives "The box's corners do not match its position, size and rotation: vertex 2
        is 28.4 px from the nearest corner. Move or rotate the box so that its corners are recomputed." at
        (640, 356.7).
    """,
    geometries=("box",),
    options=RotatedBoxOptions,
    per="task",
    cost="linear",
)
def rotated_box_inconsistent(anns, ctx, opts):
    given = ctx.annotations.given_vertices
    if not given:
        return
    boxes = np.fromiter(given, dtype=np.intp, count=len(given))  # the boxes with vertices, in extraction order
    counts = np.fromiter(map(len, given.values()), dtype=np.intp, count=len(given))
    chosen = (counts > 0) & selected(ctx, anns.positions)[boxes]
    if not chosen.any():
        return
    for p in np.sort(boxes[chosen & (counts != 4)]).tolist():
        ann = view(ctx, p)
        yield Issue.on(ann, f"The box has {plural(len(given[p]), 'vertex', 'vertices')}; a box has exactly 4 "
                            "corners. Move or resize the box so that its corners are recomputed.",
                       at=given[p][:10])
    four = chosen & (counts == 4)
    if not four.any():
        return
    if four.all():  # the usual case: one concatenation
        g = np.concatenate(list(given.values())).reshape(-1, 4, 2)
    else:
        g = np.stack([given[p] for p in boxes[four].tolist()])
    pos = boxes[four]
    order = np.argsort(pos, kind="stable")
    pos, g = pos[order], g[order]  # (m, 4, 2), in request order
    c = ctx.annotations.coords[ctx.annotations.offsets[pos][:, None] + np.arange(4)]  # computed corners
    d = np.hypot(*(g[:, :, None, :] - c[:, None, :, :]).transpose(3, 0, 1, 2))  # (m, given, computed)
    box = ctx.annotations.box[pos]
    tol = np.maximum(float(opts["tolerance"]), float(opts["relative_tolerance"]) * np.hypot(box[:, 2], box[:, 3]))
    given_off = d.min(axis=2) > tol[:, None]  # a given vertex far from every corner
    corner_missed = d.min(axis=1) > tol[:, None]  # a corner no given vertex is near
    for i in np.flatnonzero(given_off.any(axis=1) | corner_missed.any(axis=1)).tolist():
        ann = view(ctx, pos[i])
        bad = np.flatnonzero(given_off[i])
        if len(bad):
            worst = bad[np.argmax(d[i, bad].min(axis=1))]
            which = f"vertex {worst + 1} is" if len(bad) == 1 else f"{len(bad)} vertices are up to"
            text = f"{which} {px(float(d[i, worst].min()))} px from the nearest corner"
            at = g[i, bad]
        else:  # every vertex is near a corner, but some corner has none: two vertices on one corner
            missed = np.flatnonzero(corner_missed[i])
            text = f"{plural(len(missed), 'corner')} of the box {'has' if len(missed) == 1 else 'have'} no vertex"
            at = c[i, missed]
        yield Issue.on(ann, f"The box's corners do not match its position, size and rotation: {text}. Move or "
                            "rotate the box so that its corners are recomputed.", at=at)
