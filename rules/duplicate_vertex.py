"""Consecutive duplicate vertices in polygons and lines."""
from __future__ import annotations

import numpy as np
from marshmallow import validate

from validator import Issue, Options, fields, rule
from validator.scale.annotations import TYPE_CODE

from ._options import Float, Integer
from ._shape_support import plural, px, row_owners, selected, view

_NON_NEGATIVE = validate.Range(min=0)


class DuplicateVertexOptions(Options):
    tolerance = Float(load_default=0.0, validate=_NON_NEGATIVE, metadata={
        "description": "Two consecutive vertices at most this far apart (px) count as one spot; 0: only vertices "
                       "at exactly the same position."})
    allow_closing_duplicate = fields.Boolean(load_default=True, metadata={
        "description": "Accept a polygon whose last vertex repeats its first (an explicitly closed outline)."})
    max_locations = Integer(load_default=10, validate=_NON_NEGATIVE, metadata={
        "description": "At most this many duplicate vertices are pointed at per annotation (all are counted)."})


@rule(
    id="duplicate_vertex",
    summary="A polygon or line with two consecutive vertices at the same spot.",
    why="""
        Two consecutive vertices at the same place come from a double click. They add an edge of zero length,
        which breaks tools that compute angles or directions along the outline, inflates vertex counts (and
        `max_vertices` limits), and hides where the labeler meant to put a corner. The later vertex of each pair is
        pointed at.

        A polygon whose last vertex repeats its first one is accepted by default (`allow_closing_duplicate`):
        Scale's tool never sends one, but an outline closed explicitly is a common, harmless convention (GeoJSON,
        WKT and shapely write polygons that way) from imports and other tools, not a labeling mistake; set the
        option to false to report it. Shapes with no extent at all are left to `polygon_degenerate` and
        `line_zero_length`, which say it better.

        A warning by default: on real human annotations (docs/calibration.md) every one of its flags was an exact
        double click, harmless to masks, areas and overlaps; at `error` it alone failed a third of the COCO
        images. Projects whose tools choke on zero-length edges can raise it to `error`.

        Example: the line (0, 0), (10, 0), (10, 0), (20, 5) gives "Vertex 3 of the line is on top of vertex 2;
        delete one of them." at (10, 0).
    """,
    geometries=("polygon", "line"),
    level="warn",  # calibrated: every flag on real data is a harmless double click (docs/calibration.md)
    options=DuplicateVertexOptions,
    per="task",
    cost="linear",
)
def duplicate_vertex(anns, ctx, opts):
    if not len(anns):
        return
    tol = max(float(opts["tolerance"]), 0.0)
    xy = ctx.annotations.coords
    # consecutive coordinate rows within tol in x and in y (numpy over the whole array, no per-row distances),
    # then only those of one selected annotation, measured exactly
    step = np.abs(xy[1:] - xy[:-1])
    later = ((step[:, 0] <= tol) & (step[:, 1] <= tol)).nonzero()[0] + 1
    if not len(later) and opts["allow_closing_duplicate"]:
        return  # no two consecutive rows that close anywhere in the request (the common case)
    owner = row_owners(ctx, later)
    later = later[(ctx.annotations.offsets[owner] != later) & selected(ctx, anns.positions)[owner]]
    d = np.hypot(*(xy[later] - xy[later - 1]).T)
    dup_rows = later[d <= tol]  # the later vertex of each pair
    closing: set[int] = set()
    if not opts["allow_closing_duplicate"]:
        polys = anns.positions[(ctx.annotations.type_codes[anns.positions] == TYPE_CODE["polygon"])
                               & (ctx.geometry.counts[anns.positions] >= 3)]
        first = ctx.annotations.offsets[polys]
        last = first + ctx.geometry.counts[polys] - 1
        gap = np.hypot(*(xy[last] - xy[first]).T)
        closed = last[gap <= tol]
        closing = set(closed.tolist())
        dup_rows = np.union1d(dup_rows, closed)
    if not len(dup_rows):
        return
    cap = max(int(opts["max_locations"]), 0)
    flagged, first_idx = np.unique(row_owners(ctx, dup_rows), return_index=True)
    for pos, rows in zip(flagged.tolist(), np.split(dup_rows, first_idx[1:])):
        ann = view(ctx, pos)
        if _no_extent(ann):
            continue
        yield Issue.on(ann, _message(ann, rows.tolist(), closing, xy), at=xy[rows[:cap]])


def _no_extent(ann) -> bool:
    distinct = len(np.unique(ann.xy, axis=0))
    return distinct < (3 if ann.type == "polygon" else 2)


def _message(ann, rows: list[int], closing: set[int], xy: np.ndarray) -> str:
    t = ann.type
    if len(rows) > 1:
        other = "a neighbouring vertex" if closing.intersection(rows) else "the vertex before them"
        return f"{plural(len(rows), 'vertex', 'vertices')} of the {t} are on top of {other}; delete the extra ones."

    row = rows[0]
    if row in closing:
        return ("The polygon's last vertex repeats its first one; the outline closes by itself, so delete the last "
                "vertex.")
    n = row - ann.start + 1
    gap = float(np.hypot(*(xy[row] - xy[row - 1])))
    where = "on top of" if gap < 0.005 else f"only {px(gap)} px from"
    return f"Vertex {n} of the {t} is {where} vertex {n - 1}; delete one of them."
