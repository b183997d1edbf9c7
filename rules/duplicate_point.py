"""Two points of the same label at the same spot."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, rule

from ._options import Float
from ._shape_support import px, view

_NON_NEGATIVE = validate.Range(min=0)


class DuplicatePointOptions(Options):
    tolerance = Float(load_default=1.0, validate=_NON_NEGATIVE, metadata={
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

        On real keypoints (docs/calibration.md) its every flag was a keypoint copied from another person: a real
        mistake.

        Example: two "head" points at (100, 200) and (100.5, 200) give, on the second, "Another head point is only
        0.5 px away; delete one of them." at (100.5, 200).
    """,
    geometries=("point",),
    options=DuplicatePointOptions,
    per="task",
    cost="pairwise",
)
def duplicate_point(anns, ctx, opts):
    positions = anns.positions
    if len(positions) < 2:
        return
    tol = max(float(opts["tolerance"]), 0.0)
    a = ctx.annotations
    # Candidate pairs within the tolerance in x and in y (numpy only; past the limit, exact copies grouped by
    # sorting and a pile too dense named: validator/geometry/overlaps.py), then the exact distance.
    found = ctx.geometry.overlap_candidates(positions, grow=tol)
    for pos, others in found.copies:
        ann, n = view(ctx, pos), len(others)
        yield Issue.on(ann, f"{n:,} other {ann.label} point{'s are' if n > 1 else ' is'} at exactly this spot; "
                            "delete them.", at=ann.xy[:1])
    if found.pile is not None:
        ann, crowd = view(ctx, found.pile[0]), found.pile[1]
        yield Issue.on(ann, f"This {ann.label} point is one of {crowd + 1:,} points within {px(tol)} px of each "
                            f"other here: too many to check them all for duplicates (at most {found.limit:,} pairs "
                            "are compared); delete the points that do not belong.", at=ann.xy[:1])
    other, later = found.i, found.j
    labels = a.label_array
    same = labels[other] == labels[later]
    other, later = other[same], later[same]
    ctx.geometry.stats["exact_comparisons"] += len(later)
    if not len(later):
        return
    d = a.coords[a.offsets[later]] - a.coords[a.offsets[other]]
    dist = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])  # as GEOS measures it
    near = dist <= tol
    later, dist = later[near], dist[near]
    if not len(later):
        return
    order = np.lexsort((dist, later))
    later, dist = later[order], dist[order]
    first = np.r_[True, later[1:] != later[:-1]]  # the nearest earlier duplicate of each later point
    for pos, d in zip(later[first].tolist(), dist[first].tolist()):
        ann = view(ctx, pos)
        where = "already at this spot" if d < 0.005 else f"only {px(d)} px away"
        yield Issue.on(ann, f"Another {ann.label} point is {where}; delete one of them.", at=ann.xy[:1])
