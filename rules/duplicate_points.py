"""Two points of the same label at the same spot."""
from __future__ import annotations

import numpy as np
import shapely
from marshmallow import validate

from validator import Issue, Options, fields, rule

from ._shape_support import px, quiet, view

_NON_NEGATIVE = validate.Range(min=0)


class DuplicatePointOptions(Options):
    tolerance = fields.Float(load_default=1.0, validate=_NON_NEGATIVE, metadata={
        "description": "Two points of the same label at most this far apart (px) are duplicates."})


@rule(
    id="duplicate_point",
    summary="Two points with the same label at the same spot (within a tolerance).",
    why="""
        Two keypoints of the same label on the same spot are almost always one object marked twice (a double
        click, or a point added again after a pan): models learn two objects where there is one, and counts are
        wrong. Points of different labels at the same spot are fine (a hand touching a head, a pole base on a lane
        corner), and so are same-label points further apart than `tolerance` px. A duplicate is reported once, on the
        later point in the request (three points on one spot: on the second and on the third).

        Example: two "head" points at (100, 200) and (100.5, 200) give, on the second, "Another head point is only
        0.5 px away; delete one of them." at (100.5, 200).
    """,
    geometries=("point",),
    options=DuplicatePointOptions,
    per="task",
)
@quiet
def duplicate_point(anns, ctx, opts):
    positions = anns.positions
    if len(positions) < 2:
        return
    tol = max(float(opts["tolerance"]), 0.0)
    n = len(ctx.annotations)
    _, codes = np.unique(ctx.annotations.label_array[positions], return_inverse=True)
    label = np.full(n, -1, dtype=np.int64)
    label[positions] = codes
    geoms = ctx.geometry.geoms
    # One C-level query of the request's shared STRtree: only pairs within the tolerance come back.
    qi, other = ctx.geometry.tree.query(geoms[positions], predicate="dwithin", distance=tol)
    ctx.geometry.stats["exact_comparisons"] += len(qi)
    later = positions[qi]
    keep = (label[other] == label[later]) & (other < later)  # label -1: not a point of this selection
    later, other = later[keep], other[keep]
    if not len(later):
        return
    dist = shapely.distance(geoms[later], geoms[other])
    order = np.lexsort((dist, later))
    later, dist = later[order], dist[order]
    first = np.r_[True, later[1:] != later[:-1]]  # the nearest earlier duplicate of each later point
    for pos, d in zip(later[first].tolist(), dist[first].tolist()):
        ann = view(ctx, pos)
        where = "already at this spot" if d < 0.005 else f"only {px(d)} px away"
        yield Issue.on(ann, f"Another {ann.label} point is {where}; delete one of them.", at=ann.xy[:1])
