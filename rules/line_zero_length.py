"""Line shape: a line has a length."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, rule

from ._options import Float
from ._shape_support import px, view

_NON_NEGATIVE = validate.Range(min=0)


class LineLengthOptions(Options):
    tolerance = Float(load_default=0.5, validate=_NON_NEGATIVE, metadata={
        "description": "A line at most this long (px, summed over its segments) is reported."})


@rule(
    id="line_zero_length",
    summary="A line with no length: a single vertex, or all its vertices at (almost) the same spot.",
    why="""
        A line marks something long: a lane marking, a curb, a wire. A line with one vertex, or whose vertices are
        all at the same place (a double click), has no length and no direction; it marks nothing and breaks tools
        that sample points along it. Lines up to `tolerance` px long (sub-pixel) count as having no length. A line
        that crosses itself is fine (a curb drawn around a roundabout can), and so is a short but real line.

        On real lane annotations (docs/calibration.md) its every flag was a lane of a single point: a real
        mistake.

        Example: the line (40, 50), (40, 50) gives "All 2 vertices of the line are at the same spot, so it has no
        length." at (40, 50).
    """,
    geometries=("line",),
    options=LineLengthOptions,
    per="task",
    cost="linear",
)
def line_zero_length(anns, ctx, opts):
    if not len(anns):
        return
    tol = max(float(opts["tolerance"]), 0.0)
    # A line is at least as long as its bounding box is wide or high: when every line's box is clearly over the
    # tolerance (far beyond float rounding in the sum of its segments), none is short, without measuring one.
    b = anns.bounds
    if (np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) > tol * (1 + 1e-6) + 1e-300).all():
        return
    positions = anns.positions
    xy, _, counts = anns.vertices  # the selected lines' vertices only
    d = xy[1:] - xy[:-1]
    seg = np.hypot(d[:, 0], d[:, 1])
    owner = np.arange(len(positions)).repeat(counts)  # index into positions of each vertex's line
    inside = owner[1:] == owner[:-1]
    length = np.bincount(owner[1:][inside], weights=seg[inside], minlength=len(positions))
    short = (length <= tol).nonzero()[0]
    for pos, total in zip(positions[short].tolist(), length[short].tolist()):
        ann = view(ctx, pos)
        k = len(ann.xy)
        if k == 0:
            yield Issue.on(ann, "The line has no vertices.")
        elif k == 1:
            yield Issue.on(ann, "The line has a single vertex; a line needs at least two different points.",
                           at=ann.xy[:1])
        elif total < 0.005:
            yield Issue.on(ann, f"All {k} vertices of the line are at the same spot, so it has no length.",
                           at=ann.xy[:1])
        else:
            yield Issue.on(ann, f"The line is only {px(total)} px long; draw it along the whole "
                                "object.", at=ann.xy[:1])
